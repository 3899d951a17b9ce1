"""The three lists of an area (三清单) for city apps: needs (需求清单), resources (资源清单) and
projects (项目清单), read by the app itself within its area, cursor-paged and filterable."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from bot.domain.needs import NeedCategory, NeedState, Urgency
from bot.domain.projects import PUBLIC, ProjectKind, ProjectState
from bot.domain.resources import ResourceKind
from bot.services import needs, projects, resources
from bot.web.api import common
from bot.web.api.models import CommunityOut


class NeedsListItem(BaseModel):
    id: int
    reference: str
    community: CommunityOut
    category: NeedCategory
    urgency: Urgency
    state: NeedState
    description: str
    created_at: datetime
    due_at: datetime
    overdue: bool
    supporters: int


class NeedsListPage(BaseModel):
    items: list[NeedsListItem]
    next_cursor: str | None


class ResourceOut(BaseModel):
    id: int
    kind: ResourceKind
    title: str
    quantity: int
    available: int
    unit: str
    community: CommunityOut
    available_from: date | None
    available_until: date | None


class ResourcePage(BaseModel):
    items: list[ResourceOut]
    next_cursor: str | None


class ProjectOut(BaseModel):
    id: int
    title: str
    purpose: str
    kind: ProjectKind
    state: ProjectState
    organisation: str | None
    community: CommunityOut
    categories: list[NeedCategory]
    budget_fen: int
    starts_on: date
    ends_on: date
    shift_ids: list[int]


class ProjectPage(BaseModel):
    items: list[ProjectOut]
    next_cursor: str | None


async def needs_list(request: web.Request) -> web.Response:
    config, _client, principal = common.area(request, "needs:read")
    common.only(request, "category", "status", "community_id")
    category = common.enum_query(request, "category", NeedCategory)
    state = common.enum_query(request, "status", NeedState)
    community = common.id_query(request, "community_id")
    page = await needs.area_needs(
        config.uow(),
        principal,
        state=state,
        category=category,
        community_id=community,
        page=common.page_number(request),
        per_page=common.PER_PAGE,
    )
    now = datetime.now(config.tz)
    items = [
        NeedsListItem(
            id=n.id,
            reference=n.reference,
            community=common.community_out(n.community),
            category=n.category,
            urgency=n.urgency,
            state=n.state,
            description=n.description,
            created_at=n.created_at.astimezone(config.tz),
            due_at=n.due_at.astimezone(config.tz),
            overdue=n.due_at < now,
            supporters=n.supporters,
        )
        for n in page.items
    ]
    return common.ok(NeedsListPage(items=items, next_cursor=common.next_cursor(page)))


async def resource_list(request: web.Request) -> web.Response:
    config, _client, principal = common.area(request, "projects:read")
    common.only(request, "kind", "community_id")
    page = await resources.area_listing(
        config.uow(),
        principal,
        kind=common.enum_query(request, "kind", ResourceKind),
        community_id=common.id_query(request, "community_id"),
        page=common.page_number(request),
        per_page=common.PER_PAGE,
    )
    items = [
        ResourceOut(
            id=r.id,
            kind=r.kind,
            title=r.title,
            quantity=r.quantity,
            available=r.available,
            unit=r.unit,
            community=common.community_out(r.community),
            available_from=r.available_from,
            available_until=r.available_until,
        )
        for r in page.items
    ]
    return common.ok(ResourcePage(items=items, next_cursor=common.next_cursor(page)))


async def project_list(request: web.Request) -> web.Response:
    config, _client, principal = common.area(request, "projects:read")
    common.only(request, "kind", "status", "community_id")
    page = await projects.area_listing(
        config.uow(),
        principal,
        kind=common.enum_query(request, "kind", ProjectKind),
        state=common.enum_query(request, "status", ProjectState),
        community_id=common.id_query(request, "community_id"),
        page=common.page_number(request),
        per_page=common.PER_PAGE,
    )
    items = [
        ProjectOut(
            id=p.id,
            title=p.title,
            purpose=p.purpose,
            kind=p.kind,
            state=p.state,
            organisation=p.organisation,
            community=common.community_out(p.community),
            categories=list(p.categories),
            budget_fen=p.budget_fen,
            starts_on=p.starts_on,
            ends_on=p.ends_on,
            shift_ids=list(p.shift_ids),
        )
        for p in page.items
    ]
    return common.ok(ProjectPage(items=items, next_cursor=common.next_cursor(page)))


ROUTES = [
    ("GET", "/needs", needs_list),
    ("GET", "/resources", resource_list),
    ("GET", "/projects", project_list),
]
MODELS = [NeedsListPage, ResourcePage, ProjectPage]
COMMUNITY = common.id_parameter("community_id", description="One community of the app's area.")


PATHS: dict[str, Any] = {
    "/needs": {
        "get": common.operation(
            "needsList",
            "The needs list (需求清单) of the app's area: open requests unless a status is "
            "asked for, most urgent then newest first; no names or contacts",
            "needs:read",
            [
                common.enum_parameter("category", NeedCategory),
                common.enum_parameter("status", NeedState),
                COMMUNITY,
                common.CURSOR,
            ],
            common.answer(NeedsListPage, "One page"),
        )
    },
    "/resources": {
        "get": common.operation(
            "resourceList",
            "The resource list (资源清单) of the app's area",
            "projects:read",
            [common.enum_parameter("kind", ResourceKind), COMMUNITY, common.CURSOR],
            common.answer(ResourcePage, "One page"),
        )
    },
    "/projects": {
        "get": common.operation(
            "projectList",
            "The project list (项目清单) of the app's area: public projects "
            f"({', '.join(sorted(PUBLIC))})",
            "projects:read",
            [
                common.enum_parameter("kind", ProjectKind),
                common.enum_parameter("status", ProjectState),
                COMMUNITY,
                common.CURSOR,
            ],
            common.answer(ProjectPage, "One page"),
        )
    },
}
