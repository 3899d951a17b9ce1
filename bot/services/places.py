"""Browsing the hierarchy district → street → community, a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.emergency_signs import normalise_duty_phone
from bot.domain.enums import CommunityKind, Role, ScopeLevel
from bot.domain.errors import InvalidInput, NotFound, PermissionDenied
from bot.domain.policy import TRIAGE_ROLES
from bot.domain.principal import Place, Principal
from bot.services import kpi_cache, match_cache
from bot.services.views import CommunityView, Named, Page
from storage.models import Community, District, Street
from storage.uow import UnitOfWork

PER_PAGE = 8


def _named(row: object) -> Named:
    return Named(id=row.id, name=row.name, name_en=row.name_en)  # type: ignore[attr-defined]


async def districts(uow: UnitOfWork, *, page: int = 0, per_page: int = PER_PAGE) -> Page[Named]:
    async with uow:
        rows, total = await uow.places.districts(page * per_page, per_page)
        return Page(tuple(map(_named, rows)), page, per_page, total)


async def streets(
    uow: UnitOfWork, *, district_id: int, page: int = 0, per_page: int = PER_PAGE
) -> Page[Named]:
    async with uow:
        if await uow.places.district(district_id) is None:
            raise NotFound("district", district_id)
        rows, total = await uow.places.streets(district_id, page * per_page, per_page)
        return Page(tuple(map(_named, rows)), page, per_page, total)


async def communities(
    uow: UnitOfWork, *, street_id: int, page: int = 0, per_page: int = PER_PAGE
) -> Page[Named]:
    async with uow:
        if await uow.places.street(street_id) is None:
            raise NotFound("street", street_id)
        rows, total = await uow.places.communities(street_id, page * per_page, per_page)
        return Page(tuple(map(_named, rows)), page, per_page, total)


def community_view(row: Community) -> CommunityView:
    return CommunityView(
        id=row.id,
        name=row.name,
        name_en=row.name_en,
        code=row.code,
        kind=row.kind,
        street=_named(row.street),
        district=_named(row.street.district),
        duty_phone=row.duty_phone,
    )


def place_of(row: Community) -> Place:
    return Place(community_id=row.id, street_id=row.street_id, district_id=row.street.district_id)


async def community_row(uow: UnitOfWork, community_id: int) -> Community:
    """The community (inside an entered unit of work); an unknown one is NotFound."""
    community = await uow.places.community(community_id)
    if community is None:
        raise NotFound("community", community_id)
    return community


async def acts_in(
    uow: UnitOfWork, principal: Principal, community_id: int, roles: Sequence[Role]
) -> bool:
    """Does the principal hold one of `roles` over this community? Inside an entered unit of
    work; an unknown community is NotFound."""
    place = await uow.places.place(community_id)
    if place is None:
        raise NotFound("community", community_id)
    return principal.can_act_in(place, *roles)


async def require_in(
    uow: UnitOfWork, principal: Principal, community_id: int, roles: Sequence[Role]
) -> None:
    """As `acts_in`, refusing with PermissionDenied."""
    if not await acts_in(uow, principal, community_id, roles):
        raise PermissionDenied()


async def community(uow: UnitOfWork, *, community_id: int) -> CommunityView:
    async with uow:
        row = await community_row(uow, community_id)
        return community_view(row)


async def district_of_street(uow: UnitOfWork, *, street_id: int) -> int:
    async with uow:
        street = await uow.places.street(street_id)
        if street is None:
            raise NotFound("street", street_id)
        return street.district_id


async def name_in(uow: UnitOfWork, level: ScopeLevel, scope_id: int) -> Named:
    """A district's, street's or community's names, inside an entered unit of work."""
    row: object | None
    if level is ScopeLevel.DISTRICT:
        row = await uow.places.district(scope_id)
    elif level is ScopeLevel.STREET:
        row = await uow.places.street(scope_id)
    else:
        row = await uow.places.community(scope_id)
    if row is None:
        raise NotFound(level.value, scope_id)
    return _named(row)


async def scope_name(uow: UnitOfWork, *, level: ScopeLevel, scope_id: int) -> Named:
    async with uow:
        return await name_in(uow, level, scope_id)


async def all_communities(uow: UnitOfWork) -> list[CommunityView]:
    async with uow:
        return [community_view(row) for row in await uow.places.all_communities()]


@dataclass(frozen=True, slots=True)
class PlaceRow:
    """One community of a places file, with the street and district it belongs to."""

    district: str
    street: str
    community: str
    code: str
    kind: CommunityKind
    population: int
    district_en: str | None = None
    street_en: str | None = None
    community_en: str | None = None
    township: bool = False


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    updated: int


async def import_places(uow: UnitOfWork, *, rows: list[PlaceRow]) -> ImportResult:
    """Create or update the hierarchy from rows; running it twice changes nothing."""
    created = updated = 0
    async with uow:
        for row in rows:
            street = await _street_of(uow, row)
            if await _put_community(uow, street, row):
                created += 1
            else:
                updated += 1
            await uow.places.flush()
        uow.audit.record(
            actor_id=None,
            action="places.import",
            entity="community",
            entity_id=None,
            details={"created": created, "updated": updated},
        )
        await uow.commit()
        match_cache.invalidate()  # matching's community order may change
    return ImportResult(created, updated)


async def _street_of(uow: UnitOfWork, row: PlaceRow) -> Street:
    """The row's street (and its district), made when new."""
    district = await uow.places.district_by_name(row.district)
    if district is None:
        district = District(name=row.district, name_en=row.district_en)
        uow.places.add(district)
        await uow.places.flush()
    street = await uow.places.street_by_name(district.id, row.street)
    if street is None:
        street = Street(
            district_id=district.id,
            name=row.street,
            name_en=row.street_en,
            is_township=row.township,
        )
        uow.places.add(street)
        await uow.places.flush()
    return street


async def _put_community(uow: UnitOfWork, street: Street, row: PlaceRow) -> bool:
    """The row's community, made (True) or brought up to date (False)."""
    community = await uow.places.community_by_name(street.id, row.community)
    if community is not None:
        community.kind = row.kind
        community.resident_population = row.population
        community.name_en = row.community_en or community.name_en
        return False
    if await uow.places.community_by_code(row.code) is not None:
        raise InvalidInput("code", f"{row.code} is used by another community")
    uow.places.add(
        Community(
            street_id=street.id,
            name=row.community,
            name_en=row.community_en,
            code=row.code,
            kind=row.kind,
            resident_population=row.population,
        )
    )
    return True


async def covered_communities(
    uow: UnitOfWork, principal: Principal, roles: Sequence[Role] | None = None
) -> list[CommunityView]:
    """The communities a worker may address (surveys, broadcasts); by default as a worker."""
    async with uow:
        ids = set(await uow.places.communities_covered(principal, roles or TRIAGE_ROLES))
        return [community_view(c) for c in await uow.places.all_communities() if c.id in ids]


async def area_of(
    uow: UnitOfWork, principal: Principal, roles: Sequence[Role], community_id: int | None = None
) -> list[int]:
    """Inside an entered unit of work: the ids of the communities the principal reads with
    `roles`, or only `community_id` when given (and covered). Nothing covered: refused."""
    covered = await uow.places.communities_covered(principal, roles)
    if not covered or (community_id is not None and community_id not in covered):
        raise PermissionDenied()
    return [community_id] if community_id is not None else covered


async def set_duty_phone(uow: UnitOfWork, *, community_id: int, phone: str | None) -> CommunityView:
    """The community's duty phone (None or empty: none), checked and kept as it is shown."""
    value = normalise_duty_phone(phone) if phone and phone.strip() else None
    async with uow:
        community = await community_row(uow, community_id)
        community.duty_phone = value
        return await _changed(
            uow, community, "community.set_duty_phone", {"set": value is not None}
        )


async def _changed(
    uow: UnitOfWork, row: Community, action: str, details: dict[str, object]
) -> CommunityView:
    """A change to a community (an admin's, from the command line), audited and committed."""
    uow.audit.record(
        actor_id=None, action=action, entity="community", entity_id=row.id, details=details
    )
    view = community_view(row)
    await uow.commit()
    return view


async def duty_phone(uow: UnitOfWork, *, community_id: int) -> str | None:
    async with uow:
        community = await uow.places.community(community_id)
        return community.duty_phone if community is not None else None


async def set_due_hours(
    uow: UnitOfWork,
    *,
    community_id: int,
    urgent: int | None,
    normal: int | None,
    can_wait: int | None,
) -> CommunityView:
    """Per-community deadlines for needs, in hours (None: back to the default)."""
    _check_due_hours(urgent, normal, can_wait)
    async with uow:
        community = await community_row(uow, community_id)
        community.due_hours_urgent = urgent
        community.due_hours_normal = normal
        community.due_hours_can_wait = can_wait
        return await _changed(
            uow,
            community,
            "community.set_due_hours",
            {"urgent": urgent, "normal": normal, "can_wait": can_wait},
        )


def _check_due_hours(*hours: int | None) -> None:
    for value in hours:
        if value is not None and not 1 <= value <= 24 * 90:
            raise InvalidInput("hours", "1 hour to 90 days")


async def mark_demonstration_site(
    uow: UnitOfWork, *, community_id: int, year: int | None
) -> CommunityView:
    """Name a community a Five-Society Linkage demonstration site of `year` (None: unmark)."""
    if year is not None and not 2000 <= year <= 2100:
        raise InvalidInput("year", "range")
    async with uow:
        row = await community_row(uow, community_id)
        row.demonstration_year = year
        view = await _changed(uow, row, "community.demonstration_site", {"year": year})
    kpi_cache.forget()
    return view
