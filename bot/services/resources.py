"""The resource list (资源清单): organisations, donors and workers post what they can give;
workers reserve it for a need or a project. The resource row is locked while a reservation is
checked against what is left, so two people can never both take the last unit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.domain.enums import Role
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.local_time import local_today
from bot.domain.policy import AREA_READ_ROLES, POSTING_ROLES, TRIAGE_ROLES
from bot.domain.principal import Principal
from bot.domain.resources import MAX_QUANTITY, ReservationStatus, ResourceKind
from bot.services.organisations import member_of
from bot.services.places import acts_in, area_of
from bot.services.views import Named, Page
from storage.models import Resource, ResourceReservation
from storage.types import utcnow
from storage.uow import UnitOfWork

PER_PAGE = 5


@dataclass(frozen=True, slots=True)
class ResourceView:
    id: int
    kind: ResourceKind
    title: str
    quantity: int
    available: int
    unit: str
    community: Named
    available_from: date | None
    available_until: date | None


async def _view(uow: UnitOfWork, resource: Resource) -> ResourceView:
    community = await uow.places.community(resource.community_id)
    assert community is not None
    reserved = await uow.resources.reserved(resource.id)
    return ResourceView(
        resource.id,
        resource.kind,
        resource.title,
        resource.quantity,
        resource.quantity - reserved,
        resource.unit,
        Named(community.id, community.name, community.name_en),
        resource.available_from,
        resource.available_until,
    )


async def _can(uow: UnitOfWork, principal: Principal, community_id: int, *roles: Role) -> bool:
    return await acts_in(uow, principal, community_id, roles)


async def post(
    uow: UnitOfWork,
    principal: Principal,
    *,
    community_id: int,
    kind: ResourceKind,
    title: str,
    quantity: int,
    unit: str,
    available_from: date | None = None,
    available_until: date | None = None,
    organisation_id: int | None = None,
) -> ResourceView:
    title, unit = " ".join(title.split())[:200], " ".join(unit.split())[:32]
    _check_offer(title, unit, quantity, available_from, available_until)
    async with uow:
        await _check_may_post(uow, principal, community_id, organisation_id)
        resource = await uow.resources.add(
            Resource(
                organisation_id=organisation_id,
                created_by=principal.person_id,
                community_id=community_id,
                kind=kind,
                title=title,
                quantity=quantity,
                unit=unit,
                available_from=available_from,
                available_until=available_until,
            )
        )
        uow.audit.record(
            actor_id=principal.person_id,
            action="resource.post",
            entity="resource",
            entity_id=resource.id,
            details={"quantity": quantity, "unit": unit},
        )
        view = await _view(uow, resource)
        await uow.commit()
        return view


def _check_offer(
    title: str, unit: str, quantity: int, available_from: date | None, available_until: date | None
) -> None:
    if not title or not unit:
        raise InvalidInput("resource", "title and unit")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput("number", "range")
    if available_from and available_until and available_until < available_from:
        raise InvalidInput("period", "range")


async def _check_may_post(
    uow: UnitOfWork, principal: Principal, community_id: int, organisation_id: int | None
) -> None:
    """For an organisation only its members; in a community only those who post there."""
    if organisation_id is not None and not member_of(principal, organisation_id):
        raise PermissionDenied()
    if not await _can(uow, principal, community_id, *POSTING_ROLES):
        raise PermissionDenied()


async def listing(uow: UnitOfWork, principal: Principal, *, page: int = 0) -> Page[ResourceView]:
    """The resource list of the communities the person works in (or lives in)."""
    async with uow:
        communities = set(await uow.places.communities_covered(principal, POSTING_ROLES))
        if principal.home is not None:
            communities.add(principal.home.community_id)
        rows, total = await uow.resources.listed_in(sorted(communities), page * PER_PAGE, PER_PAGE)
        items = tuple([await _view(uow, r) for r in rows])
        return Page(items, max(0, page), PER_PAGE, total)


async def area_listing(
    uow: UnitOfWork,
    principal: Principal,
    *,
    kind: ResourceKind | None = None,
    community_id: int | None = None,
    page: int = 0,
    per_page: int = PER_PAGE,
) -> Page[ResourceView]:
    """The resource list (资源清单) of the communities the principal reads as a worker."""
    page = max(0, page)
    async with uow:
        communities = await area_of(uow, principal, AREA_READ_ROLES, community_id)
        rows, total = await uow.resources.listed_in(
            communities, page * per_page, per_page, kind=kind
        )
        items = tuple([await _view(uow, r) for r in rows])
        return Page(items, page, per_page, total)


async def in_communities(
    uow: UnitOfWork, principal: Principal, *, community_ids: Sequence[int], limit: int = 20
) -> list[ResourceView]:
    """The listed resources of some communities the person works in (emergency mode)."""
    async with uow:
        covered = set(await uow.places.communities_covered(principal, POSTING_ROLES))
        chosen = sorted(covered & set(community_ids))
        rows, _ = await uow.resources.listed_in(chosen, 0, limit)
        return [await _view(uow, r) for r in rows]


async def reserve(
    uow: UnitOfWork,
    principal: Principal,
    *,
    resource_id: int,
    quantity: int,
    need_id: int | None = None,
    project_id: int | None = None,
    today: date | None = None,
) -> tuple[ResourceView, int]:
    """Reserve for a need or a project; returns the resource and the reservation id."""
    _check_reservation(quantity, need_id, project_id)
    today = today or local_today()  # "available until" is a day in the community's calendar
    async with uow:
        resource = await _reservable(uow, principal, resource_id, today)
        await _check_target(uow, resource, need_id, project_id)
        left = resource.quantity - await uow.resources.reserved(resource.id)
        if quantity > left:
            raise Conflict("resource_insufficient")
        reservation = await uow.resources.add_reservation(
            ResourceReservation(
                resource_id=resource.id,
                quantity=quantity,
                need_id=need_id,
                project_id=project_id,
                reserved_by=principal.person_id,
                status=ReservationStatus.RESERVED,
            )
        )
        uow.audit.record(
            actor_id=principal.person_id,
            action="resource.reserve",
            entity="resource",
            entity_id=resource.id,
            details={"quantity": quantity, "need": need_id, "project": project_id},
        )
        view = await _view(uow, resource)
        reservation_id = reservation.id
        await uow.commit()
        return view, reservation_id


def _check_reservation(quantity: int, need_id: int | None, project_id: int | None) -> None:
    """For a need or a project (one of them), some of the resource."""
    if (need_id is None) == (project_id is None):
        raise InvalidInput("reservation", "a need or a project")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput("number", "range")


async def _reservable(
    uow: UnitOfWork, principal: Principal, resource_id: int, today: date
) -> Resource:
    """The listed resource (locked), still available, if the principal may reserve it."""
    resource = await uow.resources.get(resource_id, lock=True)
    if resource is None or not resource.active:
        raise NotFound("resource", resource_id)
    if not await _can(uow, principal, resource.community_id, *TRIAGE_ROLES):
        raise PermissionDenied()
    if resource.available_until is not None and resource.available_until < today:
        raise Conflict("resource_expired")
    return resource


async def _check_target(
    uow: UnitOfWork, resource: Resource, need_id: int | None, project_id: int | None
) -> None:
    if need_id is not None:
        need = await uow.needs.get(need_id)
        if need is None or need.community_id != resource.community_id:
            raise NotFound("need", need_id)
    if project_id is not None:
        project = await uow.projects.get(project_id)
        if project is None:
            raise NotFound("project", project_id)
        if resource.community_id not in await uow.projects.communities_of(project.id):
            raise Conflict("resource_outside_project")


async def release(
    uow: UnitOfWork, principal: Principal, *, reservation_id: int, now: datetime | None = None
) -> ResourceView:
    now = now or utcnow()
    async with uow:
        reservation = await uow.resources.reservation(reservation_id, lock=True)
        if reservation is None:
            raise NotFound("reservation", reservation_id)
        resource = await uow.resources.get(reservation.resource_id, lock=True)
        assert resource is not None
        if not await _can(uow, principal, resource.community_id, *TRIAGE_ROLES):
            raise PermissionDenied()
        if reservation.status is not ReservationStatus.RESERVED:
            raise Conflict("already_released")
        reservation.status, reservation.released_at = ReservationStatus.RELEASED, now
        uow.audit.record(
            actor_id=principal.person_id,
            action="resource.release",
            entity="resource",
            entity_id=resource.id,
            details={"reservation": reservation.id, "quantity": reservation.quantity},
        )
        await uow.resources.flush()
        view = await _view(uow, resource)
        await uow.commit()
        return view


async def _venue(uow: UnitOfWork, resource_id: int) -> Resource:
    resource = await uow.resources.get(resource_id, lock=True)
    if resource is None:
        raise NotFound("resource", resource_id)
    if resource.kind is not ResourceKind.VENUE:
        raise InvalidInput("resource", "not a venue")
    return resource


async def mark_station(uow: UnitOfWork, *, resource_id: int, station: bool) -> str:
    """Mark a venue as its community's volunteer service station (志愿服务站), or unmark it."""
    async with uow:
        resource = await _venue(uow, resource_id)
        resource.volunteer_station = station
        uow.audit.record(
            actor_id=None,
            action="resource.station" if station else "resource.station_off",
            entity="resource",
            entity_id=resource.id,
        )
        title = resource.title
        await uow.commit()
        return title
