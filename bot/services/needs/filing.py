"""Residents file needs (信息收集): a new need, the similar open ones, and "me too"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain import duplicates
from bot.domain.contacts import building_of, clean_address, normalise_contact_phone
from bot.domain.emergency_signs import looks_like_emergency
from bot.domain.enums import Role
from bot.domain.errors import Conflict, InvalidInput, PermissionDenied
from bot.domain.needs import (
    OPEN_STATES,
    Beneficiary,
    NeedCategory,
    NeedState,
    Urgency,
    due_at,
    reference,
    reminder_at,
)
from bot.domain.principal import Place, Principal
from bot.services import alerts
from bot.services.needs.common import (
    MAX_DESCRIPTION,
    UTC_ZONE,
    NeedBrief,
    _alert_params,
    _brief,
    _brief_of,
    _briefs,
    _clock,
    _due_hours,
    _event,
    _load,
)
from bot.services.places import place_of
from bot.services.ports import Notice, Notifier
from storage.models import Community, Need, Person
from storage.repositories.needs import ComparedNeed
from storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Filed:
    need: NeedBrief
    emergency: bool


async def similar_open_needs(
    uow: UnitOfWork,
    principal: Principal,
    *,
    category: NeedCategory,
    description: str,
    latitude: float | None = None,
    longitude: float | None = None,
    address: str | None = None,
    now: datetime | None = None,
) -> tuple[NeedBrief, ...]:
    """Open needs of the resident's community that look like this one (best first): by
    meaning across languages, category, place (building, grid, location) and time."""
    if principal.home is None:
        raise PermissionDenied()
    now = _clock(now)
    location = (latitude, longitude) if latitude is not None and longitude is not None else None
    async with uow.reading():
        candidates = [
            need
            for need in await uow.needs.open_in_community(principal.home.community_id, limit=200)
            if need.resident_id != principal.person_id
        ]
        # One read for the resident and all the candidates' residents.
        people = await uow.people.many(
            {principal.person_id} | {need.resident_id for need in candidates}
        )
        me = people.get(principal.person_id)
        new = duplicates.Report(
            category=category,
            description=description,
            created_at=now,
            grid_id=me.grid_id if me else None,
            building=building_of(address),
            # The address last given (their home) places them too.
            home_building=building_of(me.address if me else None),
            location=location,
        )
        alike = _likest(new, candidates, people)
        return tuple(await _briefs(uow, await uow.needs.many(alike[:3])))


def _likest(
    new: duplicates.Report, candidates: list[ComparedNeed], residents: Mapping[int, Person]
) -> list[int]:
    """The ids of the needs alike to `new`, the likest first."""
    scored = []
    for need in candidates:
        score = duplicates.likeness(new, _report_of(need, residents.get(need.resident_id)))
        if duplicates.is_alike(score):
            scored.append((score, need.id))
    scored.sort(key=lambda pair: -pair[0])
    return [need_id for _, need_id in scored]


def _report_of(need: ComparedNeed, resident: Person | None) -> duplicates.Report:
    return duplicates.Report(
        category=need.category,
        description=need.description,
        created_at=need.created_at,
        grid_id=resident.grid_id if resident else None,
        building=building_of(need.address),
        home_building=building_of(resident.address if resident else None),
        location=(
            (need.latitude, need.longitude)
            if need.latitude is not None and need.longitude is not None
            else None
        ),
    )


async def file_need(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    category: NeedCategory,
    description: str,
    urgency: Urgency,
    beneficiary: Beneficiary,
    photo: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    wants_visit: bool = False,
    contact_phone: str | None = None,
    address: str | None = None,
    now: datetime | None = None,
    tz: ZoneInfo = UTC_ZONE,
) -> Filed:
    now = _clock(now)
    description = _checked_description(description)
    if principal.home is None:
        raise PermissionDenied()
    phone = normalise_contact_phone(contact_phone) if contact_phone else None
    place = clean_address(address) if address else None
    async with uow:
        community = await uow.places.community(principal.home.community_id)
        assert community is not None
        urgency = await _urgency_now(uow, community, urgency)
        need = Need(
            community_id=community.id,
            resident_id=principal.person_id,
            category=category,
            description=description,
            photo=photo,
            latitude=latitude,
            longitude=longitude,
            wants_visit=wants_visit,
            contact_phone=phone,
            address=place,
            urgency=urgency,
            beneficiary=beneficiary,
            state=NeedState.NEW,
            created_at=now,
            updated_at=now,
        )
        await _remember_contact(uow, principal.person_id, phone, place)
        workers = await uow.grants.people_covering(place_of(community), (Role.COMMUNITY_WORKER,))
        # Numbered last: the year's counter stays locked until the commit, and every other
        # filing of the community waits for it.
        need = await _numbered_and_due(uow, need, community, now.astimezone(tz).year)
        _event(uow, need, principal, "filed", now, text=None)
        # Just filed: no supporter and no assignee yet.
        brief = _brief_of(need, community, supporters=0, assignee=None)
        notices = await _tell_workers(uow, need, community, brief, workers, principal.person_id)
        await uow.commit()
    await notifier.send(notices)
    return Filed(brief, looks_like_emergency(description))


async def _urgency_now(uow: UnitOfWork, community: Community, urgency: Urgency) -> Urgency:
    """In emergency mode every new need is urgent."""
    if await uow.broadcasts.active_for(community.id, community.street_id) is not None:
        return Urgency.URGENT
    return urgency


async def _tell_workers(
    uow: UnitOfWork,
    need: Need,
    community: Community,
    brief: NeedBrief,
    workers: list[int],
    resident_id: int,
) -> list[Notice]:
    """The community's workers hear of a new need (an urgent one also goes to their WeCom
    group, with no name, phone or address in it)."""
    if need.urgency is Urgency.URGENT:
        await alerts.queue(uow, community, "need.urgent", _alert_params(need, community))
    return [
        Notice(w, "need.new_in_queue", {"reference": brief.reference}, (("open", brief.id),))
        for w in workers
        if w != resident_id
    ]


def _checked_description(description: str) -> str:
    description = description.strip()
    if not description:
        raise InvalidInput("description", "empty")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput("description", "too long")
    return description


async def _numbered_and_due(uow: UnitOfWork, need: Need, community: Community, year: int) -> Need:
    """The need stored with its reference and deadlines. The year of the reference is the
    local year (a need filed at 01:00 on 1 January in Chongqing belongs to the new year)."""
    number = await uow.needs.next_number(community.id, year)
    need.reference = reference(community.code, year, number)
    need.due_at = due_at(need.created_at, need.urgency, _due_hours(community))
    need.remind_at = reminder_at(need.created_at, need.due_at)
    return await uow.needs.add(need)


async def _remember_contact(
    uow: UnitOfWork, person_id: int, phone: str | None, place: str | None
) -> None:
    """The phone and address given are offered again (editable) for the next request."""
    if not (phone or place):
        return
    resident = await uow.people.get(person_id)
    if resident is not None:
        resident.phone = phone or resident.phone
        resident.address = place or resident.address


async def support_need(uow: UnitOfWork, principal: Principal, *, need_id: int) -> NeedBrief:
    """ "Me too": counted on the existing need instead of filing a duplicate."""
    async with uow:
        need, _, place = await _load(uow, need_id)
        await _check_may_support(uow, principal, need, place)
        await uow.needs.add_supporter(need.id, principal.person_id)
        uow.audit.record(
            actor_id=principal.person_id, action="need.support", entity="need", entity_id=need.id
        )
        brief = await _brief(uow, need)
        await uow.commit()
        return brief


async def _check_may_support(
    uow: UnitOfWork, principal: Principal, need: Need, place: Place
) -> None:
    """An open need of the resident's own community, not their own nor supported already."""
    if principal.home is None or principal.home.community_id != place.community_id:
        raise PermissionDenied()
    if need.state not in OPEN_STATES:
        raise Conflict("need_not_open")
    if need.resident_id == principal.person_id or await uow.needs.is_supporter(
        need.id, principal.person_id
    ):
        raise Conflict("already_supporting")
