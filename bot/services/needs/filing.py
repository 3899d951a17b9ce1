"""Residents file needs (信息收集): a new need, the similar open ones, and "me too"."""

from __future__ import annotations

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
from bot.domain.principal import Principal
from bot.services import alerts
from bot.services.needs.common import (
    MAX_DESCRIPTION,
    UTC_ZONE,
    NeedBrief,
    _alert_params,
    _brief,
    _clock,
    _due_hours,
    _event,
    _load,
)
from bot.services.places import place_of
from bot.services.ports import Notice, Notifier
from storage.models import Need, Person
from storage.uow import UnitOfWork

SIMILAR_THRESHOLD = 0.2


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
    async with uow:
        me = await uow.people.get(principal.person_id)
        location = (latitude, longitude) if latitude is not None and longitude is not None else None
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
        candidates = [
            need
            for need in await uow.needs.open_in_community(principal.home.community_id, limit=200)
            if need.resident_id != principal.person_id
        ]
        # One read for all their residents: one each made filing slower with every open need.
        residents = await uow.people.many({need.resident_id for need in candidates})
        scored = []
        for need in candidates:
            score = duplicates.likeness(new, _report_of(need, residents.get(need.resident_id)))
            if duplicates.is_alike(score):
                scored.append((score, need))
        scored.sort(key=lambda pair: -pair[0])
        return tuple([await _brief(uow, need) for _, need in scored[:3]])


def _report_of(need: Need, resident: Person | None) -> duplicates.Report:
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
    description = description.strip()
    if not description:
        raise InvalidInput("description", "empty")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput("description", "too long")
    if principal.home is None:
        raise PermissionDenied()
    phone = normalise_contact_phone(contact_phone) if contact_phone else None
    place = clean_address(address) if address else None
    async with uow:
        community = await uow.places.community(principal.home.community_id)
        assert community is not None
        if await uow.broadcasts.active_for(community.id, community.street_id) is not None:
            urgency = Urgency.URGENT  # in emergency mode every new need is urgent
        # The year of the reference is the local year (a need filed at 01:00 on 1 January in
        # Chongqing belongs to the new year).
        year = now.astimezone(tz).year
        number = await uow.needs.next_number(community.id, year)
        due = due_at(now, urgency, _due_hours(community))
        need = await uow.needs.add(
            Need(
                reference=reference(community.code, year, number),
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
                due_at=due,
                remind_at=reminder_at(now, due),
            )
        )
        _event(uow, need, principal, "filed", now, text=None)
        if phone or place:
            # Remembered for the next request (offered again, editable).
            resident = await uow.people.get(principal.person_id)
            if resident is not None:
                resident.phone = phone or resident.phone
                resident.address = place or resident.address
        brief = await _brief(uow, need, community)
        workers = await uow.grants.people_covering(place_of(community), (Role.COMMUNITY_WORKER,))
        if urgency is Urgency.URGENT:
            # The workers' WeCom group hears of it too (no name, phone or address in it).
            await alerts.queue(uow, community, "need.urgent", _alert_params(need, community))
        await uow.commit()
    await notifier.send(
        [
            Notice(w, "need.new_in_queue", {"reference": brief.reference}, (("open", brief.id),))
            for w in workers
            if w != principal.person_id
        ]
    )
    return Filed(brief, looks_like_emergency(description))


async def support_need(uow: UnitOfWork, principal: Principal, *, need_id: int) -> NeedBrief:
    """ "Me too": counted on the existing need instead of filing a duplicate."""
    async with uow:
        need, _, place = await _load(uow, need_id)
        if principal.home is None or principal.home.community_id != place.community_id:
            raise PermissionDenied()
        if need.state not in OPEN_STATES:
            raise Conflict("need_not_open")
        if need.resident_id == principal.person_id or await uow.needs.is_supporter(
            need.id, principal.person_id
        ):
            raise Conflict("already_supporting")
        await uow.needs.add_supporter(need.id, principal.person_id)
        uow.audit.record(
            actor_id=principal.person_id, action="need.support", entity="need", entity_id=need.id
        )
        brief = await _brief(uow, need)
        await uow.commit()
        return brief
