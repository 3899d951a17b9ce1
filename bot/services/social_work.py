"""Social work's records: qualification certificates a person records and a worker verifies
(三.(五)); the three-level service system's places, staff and services (二, 三.(三)); and the
baseline year a district measures its growth targets from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.policy import TRIAGE_ROLES
from bot.domain.principal import Place, Principal
from bot.domain.social_work import (
    CertificateLevel,
    CertificateState,
    ServiceLevel,
    check_baseline_year,
    check_exam_year,
)
from bot.services import kpi_cache
from bot.services.places import name_in, require_in
from bot.services.ports import Notice, Notifier
from bot.services.views import Named
from storage.models import (
    DistrictBaseline,
    SocialWorkCertificate,
    SocialWorkPlace,
    SocialWorkService,
    SocialWorkStaff,
)
from storage.types import utcnow
from storage.uow import UnitOfWork

MAX_NOTE = 500
# Who opens a place of each level (and names its staff).
PLACE_ROLES = {
    ServiceLevel.CENTRE: (Role.DISTRICT_ADMIN,),
    ServiceLevel.STATION: (Role.STREET_ADMIN, Role.DISTRICT_ADMIN),
    ServiceLevel.ROOM: (Role.COMMUNITY_WORKER, Role.STREET_ADMIN, Role.DISTRICT_ADMIN),
}
UNIT_OF = {
    ServiceLevel.CENTRE: ScopeLevel.DISTRICT,
    ServiceLevel.STATION: ScopeLevel.STREET,
    ServiceLevel.ROOM: ScopeLevel.COMMUNITY,
}


@dataclass(frozen=True, slots=True)
class CertificateView:
    id: int
    holder: str
    level: CertificateLevel
    exam_year: int
    number: str
    state: CertificateState
    community: Named
    rejection_reason: str | None


@dataclass(frozen=True, slots=True)
class PlaceView:
    id: int
    level: ServiceLevel
    name: str
    unit: Named  # the district, street or community it belongs to
    address: str
    opening_hours: str
    staff: tuple[str, ...]
    services_this_year: int


async def certificate_view(uow: UnitOfWork, row: SocialWorkCertificate) -> CertificateView:
    person = await uow.people.get(row.person_id)
    community = await uow.places.community(row.community_id)
    assert person is not None and community is not None
    return CertificateView(
        id=row.id,
        holder=person.display_name or "",
        level=row.level,
        exam_year=row.exam_year,
        number=row.number or "",
        state=row.state,
        community=Named(community.id, community.name, community.name_en),
        rejection_reason=row.rejection_reason,
    )


# ---------------------------------------------------------------- certificates


async def record_certificate(
    uow: UnitOfWork,
    principal: Principal,
    *,
    level: CertificateLevel,
    exam_year: int,
    number: str = "",
    now: datetime | None = None,
) -> CertificateView:
    """A person records their own certificate; it waits for a worker of their community. A
    rejected one may be recorded again."""
    now = now or utcnow()
    check_exam_year(exam_year, now.year)
    if principal.home is None:
        raise Conflict("no_home_community")
    number = " ".join(number.split())[:40]
    async with uow:
        row = await _certificate_to_record(uow, principal, level, exam_year)
        row.exam_year, row.number, row.recorded_at = exam_year, number or None, now
        row.state, row.rejection_reason = CertificateState.PENDING, None
        uow.audit.record(
            actor_id=principal.person_id,
            action="swcert.record",
            entity="social_work_certificate",
            entity_id=row.id,
        )
        return await _saved_certificate(uow, row)


async def _certificate_to_record(
    uow: UnitOfWork, principal: Principal, level: CertificateLevel, exam_year: int
) -> SocialWorkCertificate:
    """The person's rejected certificate of this level to record again, else a new one."""
    mine = await uow.social_work.certificates_of(principal.person_id)
    row = next((c for c in mine if c.level is level), None)
    if row is not None and row.state is not CertificateState.REJECTED:
        raise Conflict("certificate_recorded")
    if row is not None:
        return row
    assert principal.home is not None
    return await uow.social_work.add(
        SocialWorkCertificate(
            person_id=principal.person_id,
            community_id=principal.home.community_id,
            level=level,
            exam_year=exam_year,
            state=CertificateState.PENDING,
        )
    )


async def _saved_certificate(uow: UnitOfWork, row: SocialWorkCertificate) -> CertificateView:
    """The certificate as changed, committed."""
    await uow.social_work.flush()
    view = await certificate_view(uow, row)
    await uow.commit()
    return view


async def pending_certificates(
    uow: UnitOfWork, principal: Principal
) -> tuple[CertificateView, ...]:
    """Certificates waiting in the communities the worker covers (not their own)."""
    async with uow:
        communities = await uow.places.communities_covered(principal, TRIAGE_ROLES)
        rows = await uow.social_work.pending_in(communities)
        return tuple(
            [await certificate_view(uow, r) for r in rows if r.person_id != principal.person_id]
        )


async def decide_certificate(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    certificate_id: int,
    approve: bool,
    reason: str = "",
    now: datetime | None = None,
) -> CertificateView:
    """Only a worker of the holder's community verifies, never the holder themselves."""
    now = now or utcnow()
    reason = " ".join(reason.split())[:MAX_NOTE]
    if not approve and not reason:
        raise InvalidInput("reason", "empty")
    async with uow:
        row = await _pending_certificate(uow, principal, certificate_id)
        row.state = CertificateState.VERIFIED if approve else CertificateState.REJECTED
        row.verified_by, row.verified_at = principal.person_id, now
        row.rejection_reason = reason or None
        uow.audit.record(
            actor_id=principal.person_id,
            action=f"swcert.{row.state.value}",
            entity="social_work_certificate",
            entity_id=row.id,
        )
        view = await _saved_certificate(uow, row)
    kpi_cache.forget()
    message = "swcert.verified" if approve else "swcert.rejected"
    params: dict[str, str | int] = {"year": view.exam_year, "reason": reason or "-"}
    await notifier.send([Notice(row.person_id, message, params)])
    return view


async def _pending_certificate(
    uow: UnitOfWork, principal: Principal, certificate_id: int
) -> SocialWorkCertificate:
    """The certificate (locked), pending, if this worker may decide it (not their own)."""
    row = await uow.social_work.certificate(certificate_id, lock=True)
    if row is None:
        raise NotFound("social_work_certificate", certificate_id)
    await require_in(uow, principal, row.community_id, TRIAGE_ROLES)
    if row.person_id == principal.person_id:
        raise PermissionDenied()
    if row.state is not CertificateState.PENDING:
        raise Conflict("certificate_decided")
    return row


# ---------------------------------------------------------------- the three levels


async def _unit(
    uow: UnitOfWork, level: ServiceLevel, unit_id: int
) -> tuple[int, int | None, int | None]:
    """(district, street, community) of the unit a place of this level belongs to."""
    if level is ServiceLevel.CENTRE:
        if await uow.places.district(unit_id) is None:
            raise NotFound("district", unit_id)
        return unit_id, None, None
    if level is ServiceLevel.STATION:
        street = await uow.places.street(unit_id)
        if street is None:
            raise NotFound("street", unit_id)
        return street.district_id, street.id, None
    place = await uow.places.place(unit_id)
    if place is None:
        raise NotFound("community", unit_id)
    return place.district_id, place.street_id, place.community_id


def _may_run(
    principal: Principal, level: ServiceLevel, unit: tuple[int, int | None, int | None]
) -> bool:
    """A district admin runs the centre, a street admin (or above) a station, a community
    worker (or above) a room."""
    district, street, community = unit
    scope_id = {ServiceLevel.CENTRE: district, ServiceLevel.STATION: street}.get(level, community)
    parents = Place(community or 0, street or 0, district)
    return principal.is_superadmin or any(
        g.role in PLACE_ROLES[level] and g.covers_scope(UNIT_OF[level], scope_id or 0, parents)
        for g in principal.grants
    )


async def _place_view(uow: UnitOfWork, row: SocialWorkPlace, since: datetime) -> PlaceView:
    unit_id = {ServiceLevel.CENTRE: row.district_id, ServiceLevel.STATION: row.street_id}.get(
        row.level, row.community_id
    )
    staff = await _staff_names(uow, row.id)
    return PlaceView(
        id=row.id,
        level=row.level,
        name=row.name,
        unit=await name_in(uow, UNIT_OF[row.level], unit_id or 0),
        address=row.address,
        opening_hours=row.opening_hours,
        staff=staff,
        services_this_year=await uow.social_work.services_of(row.id, since),
    )


async def _staff_names(uow: UnitOfWork, place_id: int) -> tuple[str, ...]:
    names = []
    for person_id in await uow.social_work.staff(place_id):
        person = await uow.people.get(person_id)
        names.append(person.display_name or "" if person else "")
    return tuple(names)


async def open_place(
    uow: UnitOfWork,
    principal: Principal,
    *,
    level: ServiceLevel,
    unit_id: int,
    name: str,
    address: str = "",
    opening_hours: str = "",
    tz: ZoneInfo,
    now: datetime | None = None,
) -> PlaceView:
    """The district's centre, a street's station or a community's room: one of each per unit."""
    now = now or utcnow()
    name = _place_name(name)
    async with uow:
        unit = await _free_unit(uow, principal, level, unit_id)
        district, street, community = unit
        row = await uow.social_work.add(
            SocialWorkPlace(
                level=level,
                district_id=district,
                street_id=street,
                community_id=community,
                name=name,
                address=" ".join(address.split())[:200],
                opening_hours=" ".join(opening_hours.split())[:200],
                created_by=principal.person_id or None,
            )
        )
        uow.audit.record(
            actor_id=principal.person_id or None,
            action=f"swplace.open.{level.value}",
            entity="social_work_place",
            entity_id=row.id,
        )
        view = await _place_view(uow, row, _year_start(now, tz))
        await uow.commit()
    kpi_cache.forget()
    return view


def _place_name(name: str) -> str:
    name = " ".join(name.split())[:200]
    if not name:
        raise InvalidInput("name", "empty")
    return name


async def _free_unit(
    uow: UnitOfWork, principal: Principal, level: ServiceLevel, unit_id: int
) -> tuple[int, int | None, int | None]:
    """The unit the principal runs at this level, if it has no such place yet."""
    unit = await _unit(uow, level, unit_id)
    if not _may_run(principal, level, unit):
        raise PermissionDenied()
    if await uow.social_work.existing_place(level, unit) is not None:
        raise Conflict("place_exists")
    return unit


async def add_staff(
    uow: UnitOfWork,
    principal: Principal,
    *,
    place_id: int,
    person_id: int,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> PlaceView:
    now = now or utcnow()
    async with uow:
        row = await uow.social_work.place(place_id)
        if row is None:
            raise NotFound("social_work_place", place_id)
        if not _may_run(principal, row.level, (row.district_id, row.street_id, row.community_id)):
            raise PermissionDenied()
        if await uow.people.get(person_id) is None:
            raise NotFound("person", person_id)
        if person_id not in await uow.social_work.staff(place_id):
            await uow.social_work.add(SocialWorkStaff(place_id=place_id, person_id=person_id))
        uow.audit.record(
            actor_id=principal.person_id or None,
            action="swplace.staff",
            entity="social_work_place",
            entity_id=row.id,
            details={"person": person_id},
        )
        view = await _place_view(uow, row, _year_start(now, tz))
        await uow.commit()
    kpi_cache.forget()
    return view


def _year_start(now: datetime, tz: ZoneInfo) -> datetime:
    return datetime(now.astimezone(tz).year, 1, 1, tzinfo=tz)


async def places_of_district(
    uow: UnitOfWork, principal: Principal, *, tz: ZoneInfo, now: datetime | None = None
) -> tuple[PlaceView, ...]:
    """The three levels of the person's district (home, or the district of their grants)."""
    now = now or utcnow()
    async with uow:
        district = await _district_of(uow, principal)
        if district is None:
            return ()
        rows = await uow.social_work.places_in_district(district)
        return tuple([await _place_view(uow, r, _year_start(now, tz)) for r in rows])


async def _district_of(uow: UnitOfWork, principal: Principal) -> int | None:
    if principal.home is not None:
        return principal.home.district_id
    for grant in principal.grants:
        if grant.level is ScopeLevel.DISTRICT:
            return grant.scope_id
        if grant.level is ScopeLevel.STREET:
            street = await uow.places.street(grant.scope_id)
            return street.district_id if street else None
        place = await uow.places.place(grant.scope_id)
        return place.district_id if place else None
    return None


async def my_places(uow: UnitOfWork, principal: Principal) -> tuple[Named, ...]:
    """The rooms and stations the person staffs (where they may record a service)."""
    async with uow:
        rows = await uow.social_work.places_staffed_by(principal.person_id)
        return tuple(Named(r.id, r.name, None) for r in rows if r.level is not ServiceLevel.CENTRE)


async def served_communities(
    uow: UnitOfWork, principal: Principal, *, place_id: int
) -> tuple[Named, ...]:
    async with uow:
        row = await _staffed_place(uow, principal, place_id)
        return tuple(
            Named(c.id, c.name, c.name_en) for c in await uow.social_work.communities_served_by(row)
        )


async def _staffed_place(uow: UnitOfWork, principal: Principal, place_id: int) -> SocialWorkPlace:
    row = await uow.social_work.place(place_id)
    if row is None:
        raise NotFound("social_work_place", place_id)
    if principal.person_id not in await uow.social_work.staff(place_id):
        raise PermissionDenied()
    return row


async def record_service(
    uow: UnitOfWork,
    principal: Principal,
    *,
    place_id: int,
    community_id: int,
    note: str,
    now: datetime | None = None,
) -> Named:
    """Staff of a room or station record a service they gave one of its communities; the
    coverage indicator counts it. Returns the community served."""
    now = now or utcnow()
    note = " ".join(note.split())[:MAX_NOTE]
    if not note:
        raise InvalidInput("note", "empty")
    async with uow:
        row = await _staffed_place(uow, principal, place_id)
        served = {c.id: c for c in await uow.social_work.communities_served_by(row)}
        if community_id not in served or row.level is ServiceLevel.CENTRE:
            raise PermissionDenied()
        service = await uow.social_work.add(
            SocialWorkService(
                place_id=row.id,
                community_id=community_id,
                served_at=now,
                note=note,
                recorded_by=principal.person_id,
            )
        )
        uow.audit.record(
            actor_id=principal.person_id,
            action="swplace.service",
            entity="social_work_place",
            entity_id=row.id,
            details={"service": service.id, "community": community_id},
        )
        community = served[community_id]
        await uow.commit()
    kpi_cache.forget()
    return Named(community.id, community.name, community.name_en)


# ---------------------------------------------------------------- baselines


async def baseline_year(uow: UnitOfWork, *, district_id: int) -> int | None:
    async with uow:
        row = await uow.social_work.baseline(district_id)
        return row.year if row else None


async def set_baseline(
    uow: UnitOfWork,
    principal: Principal,
    *,
    district_id: int,
    year: int,
    now: datetime | None = None,
) -> Named:
    """Only a district admin of the district sets its baseline year."""
    now = now or utcnow()
    check_baseline_year(year, now.year)
    async with uow:
        if await uow.places.district(district_id) is None:
            raise NotFound("district", district_id)
        allowed = principal.is_superadmin or any(
            g.role is Role.DISTRICT_ADMIN
            and g.level is ScopeLevel.DISTRICT
            and g.scope_id == district_id
            for g in principal.grants
        )
        if not allowed:
            raise PermissionDenied()
        row = await uow.social_work.baseline(district_id)
        if row is None:
            row = await uow.social_work.add(DistrictBaseline(district_id=district_id, year=year))
        row.year, row.set_by, row.set_at = year, principal.person_id or None, now
        uow.audit.record(
            actor_id=principal.person_id or None,
            action="district.baseline",
            entity="district",
            entity_id=district_id,
            details={"year": year},
        )
        named = await name_in(uow, ScopeLevel.DISTRICT, district_id)
        await uow.commit()
    kpi_cache.forget()
    return named
