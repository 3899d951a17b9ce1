"""Shifts for city apps: the upcoming shifts of the app's area (or of one project), and a
person's sign-up and cancellation through the same services, and rules, as in chat
(verified volunteer, a community they serve, capacity and wait list, the cancel deadline)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel, Field

from bot.domain.volunteers import SignupStatus, Skill
from bot.services import api_clients, shifts
from bot.services.shifts import ShiftView
from bot.web.api import common
from bot.web.api import core as api
from bot.web.api.models import CommunityOut
from bot.web.api.openapi import IDEMPOTENCY, PERSON


class ShiftOut(BaseModel):
    id: int
    title: str
    place: str
    community: CommunityOut
    starts_at: datetime
    ends_at: datetime
    capacity: int
    confirmed: int
    waitlisted: int
    skills: list[Skill]
    cancel_deadline: datetime = Field(
        description="After this a confirmed place is cancelled only by telling the organiser."
    )
    my_status: SignupStatus | None = Field(
        default=None, description="The person's sign-up (sign up / cancel answers)."
    )


class ShiftPage(BaseModel):
    items: list[ShiftOut]
    next_cursor: str | None


def shift_out(view: ShiftView, tz: ZoneInfo) -> ShiftOut:
    return ShiftOut(
        id=view.id,
        title=view.title,
        place=view.place,
        community=common.community_out(view.community),
        starts_at=view.starts_at.astimezone(tz),
        ends_at=view.ends_at.astimezone(tz),
        capacity=view.capacity,
        confirmed=view.confirmed,
        waitlisted=view.waitlisted,
        skills=list(view.skills),
        cancel_deadline=view.cancel_deadline.astimezone(tz),
        my_status=view.my_status,
    )


async def shift_list(request: web.Request) -> web.Response:
    config, _client, principal = common.area(request, "volunteers:read")
    common.only(request, "community_id", "project_id")
    page = await shifts.area_shifts(
        config.uow(),
        principal,
        community_id=common.id_query(request, "community_id"),
        project_id=common.id_query(request, "project_id"),
        page=common.page_number(request),
        per_page=common.PER_PAGE,
    )
    items = [shift_out(view, config.tz) for view in page.items]
    return common.ok(ShiftPage(items=items, next_cursor=common.next_cursor(page)))


async def sign_up(request: web.Request) -> web.Response:
    config = request.app[api.config_key]
    client = api._client(request, "volunteers:write")
    shift_id = common.path_id(request)

    async def run() -> api.Answer:
        person = await api._principal(request, client, None)
        await api_clients.require_shift_in_area(config.uow(), client, shift_id=shift_id)
        view = await shifts.sign_up(config.uow(), person, shift_id=shift_id)
        return 200, shift_out(view, config.tz).model_dump(mode="json")

    return await api._idempotent(request, client, run)


async def cancel(request: web.Request) -> web.Response:
    config = request.app[api.config_key]
    client = api._client(request, "volunteers:write")
    shift_id = common.path_id(request)

    async def run() -> api.Answer:
        person = await api._principal(request, client, None)
        await api_clients.require_shift_in_area(config.uow(), client, shift_id=shift_id)
        view = await shifts.cancel(config.uow(), config.notifier(), person, shift_id=shift_id)
        return 200, shift_out(view, config.tz).model_dump(mode="json")

    return await api._idempotent(request, client, run)


ROUTES = [
    ("GET", "/shifts", shift_list),
    ("POST", "/shifts/{id}/signup", sign_up),
    ("POST", "/shifts/{id}/cancel", cancel),
]
MODELS = [ShiftPage, ShiftOut]
SHIFT_ID = common.id_parameter("id", "path")
PATHS: dict[str, Any] = {
    "/shifts": {
        "get": common.operation(
            "shiftList",
            "Upcoming shifts of the app's area (of one community or project), soonest first",
            "volunteers:read",
            [
                common.id_parameter("community_id"),
                common.id_parameter("project_id"),
                common.CURSOR,
            ],
            common.answer(ShiftPage, "One page"),
        )
    },
    "/shifts/{id}/signup": {
        "post": common.operation(
            "signUpForShift",
            "Sign the person up (a verified volunteer serving the shift's community): "
            "confirmed while there is room, else on the wait list",
            "volunteers:write",
            [SHIFT_ID, PERSON, IDEMPOTENCY],
            common.answer(ShiftOut, "Signed up", read=False),
        )
    },
    "/shifts/{id}/cancel": {
        "post": common.operation(
            "cancelShift",
            "Cancel the person's sign-up; a confirmed place only before the cancel deadline",
            "volunteers:write",
            [SHIFT_ID, PERSON, IDEMPOTENCY],
            common.answer(ShiftOut, "Cancelled", read=False),
        )
    },
}
