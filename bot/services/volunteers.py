"""Volunteer registration (实名注册) and verification (实名认证) by a community worker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.local_time import local_today
from bot.domain.matching import skill_mask, slot_mask
from bot.domain.policy import TRIAGE_ROLES
from bot.domain.principal import Principal
from bot.domain.privacy import Purpose, needs_guardian
from bot.domain.volunteers import (
    SLOTS,
    Skill,
    VolunteerStatus,
    mask_id_number,
    normalise_id_number,
    normalise_phone,
    volunteer_number,
)
from bot.services import match_profiles
from bot.services.crypto import PersonalDataCipher
from bot.services.places import community_row, place_of
from bot.services.ports import Notice, Notifier
from storage.models import Community, RoleGrant, Volunteer
from storage.types import utcnow
from storage.uow import UnitOfWork

MAX_NAME = 50


@dataclass(frozen=True, slots=True)
class VolunteerView:
    id: int
    person_id: int
    real_name: str
    masked_id: str
    phone: str
    skills: tuple[Skill, ...]
    tags: tuple[str, ...]
    availability: tuple[str, ...]
    communities: tuple[int, ...]
    status: VolunteerStatus
    number: str | None
    registered_at: datetime
    rejection_reason: str | None


async def _view(uow: UnitOfWork, row: Volunteer) -> VolunteerView:
    return VolunteerView(
        id=row.id,
        person_id=row.person_id,
        real_name=row.real_name,
        masked_id=row.id_number_masked,
        phone=row.phone,
        skills=tuple(Skill(s) for s in row.skills if s in Skill._value2member_map_),
        tags=tuple(row.tags),
        availability=tuple(row.availability),
        communities=tuple(await uow.volunteers.communities_of(row.id)),
        status=row.status,
        number=row.number,
        registered_at=row.registered_at,
        rejection_reason=row.rejection_reason,
    )


@dataclass(frozen=True, slots=True)
class _Identity:
    """Who registers, as checked: the name, the normalised ID number and phone."""

    name: str
    number: str
    phone: str


async def register(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    notifier: Notifier,
    principal: Principal,
    *,
    real_name: str,
    id_number: str,
    phone: str,
    skills: Sequence[Skill],
    tags: Sequence[str],
    availability: Sequence[str],
    community_ids: Sequence[int],
) -> VolunteerView:
    """Register (or correct a pending or rejected registration); a worker verifies it next."""
    if principal.home is None:
        raise PermissionDenied()
    who = _identity(real_name, id_number, phone, availability)
    communities = sorted(set(community_ids) | {principal.home.community_id})
    id_hash = await _unused_id_hash(uow, cipher, notifier, principal, who, communities)
    async with uow:
        row = await _registration(uow, cipher, principal, who, id_hash)
        _fill_in(row, cipher, who, id_hash)
        _set_offer(row, skills, tags, availability)
        await uow.volunteers.set_communities(row.id, communities)
        uow.audit.record(
            actor_id=principal.person_id,
            action="volunteer.register",
            entity="volunteer",
            entity_id=row.id,
        )
        view = await _view(uow, row)
        workers = await _workers_of(uow, row.home_community_id)
        await match_profiles.refresh(uow, (row.person_id,))
        await uow.commit()
    await notifier.send(
        [Notice(w, "volunteer.registered", {"name": view.real_name}) for w in workers]
    )
    return view


def _identity(real_name: str, id_number: str, phone: str, availability: Sequence[str]) -> _Identity:
    """Who registers, checked (and that the free time is in known slots)."""
    name = " ".join(real_name.split())
    if not 2 <= len(name) <= MAX_NAME:
        raise InvalidInput("real_name", "length")
    who = _Identity(name, normalise_id_number(id_number), normalise_phone(phone))
    if not set(availability) <= set(SLOTS):
        raise InvalidInput("availability", "unknown slot")
    return who


async def _unused_id_hash(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    notifier: Notifier,
    principal: Principal,
    who: _Identity,
    communities: Sequence[int],
) -> str:
    """The ID number's lookup hash, once the communities are checked and the number is no
    other volunteer's (else the workers are told and the registration refused)."""
    async with uow:
        await _check_in_district(uow, principal, communities)
        id_hash = cipher.lookup_hash(who.number)
        other = await uow.volunteers.by_id_hash(id_hash)
        workers = None
        if other is not None and other.person_id != principal.person_id:
            workers = await _report_id_conflict(uow, principal, other)
    if workers is not None:
        await _tell_id_conflict(notifier, workers, who)
        raise Conflict("id_registered")
    return id_hash


async def _check_in_district(
    uow: UnitOfWork, principal: Principal, communities: Sequence[int]
) -> None:
    assert principal.home is not None
    for community_id in communities:
        community = await uow.places.community(community_id)
        if community is None or community.street.district_id != principal.home.district_id:
            raise InvalidInput("communities", "outside the district")


async def _tell_id_conflict(notifier: Notifier, workers: Sequence[int], who: _Identity) -> None:
    # The person is told only that a worker will contact them (never that the number is
    # registered: that would let anyone test whose numbers are); the workers are told why.
    params: dict[str, str | int] = {
        "name": who.name,
        "phone": who.phone,
        "masked": mask_id_number(who.number),
    }
    await notifier.send([Notice(w, "volunteer.id_conflict", params) for w in workers])


async def _registration(
    uow: UnitOfWork, cipher: PersonalDataCipher, principal: Principal, who: _Identity, id_hash: str
) -> Volunteer:
    """The person's registration to correct (pending or rejected), else a new pending one."""
    row = await uow.volunteers.of_person(principal.person_id)
    if row is not None and row.status is VolunteerStatus.VERIFIED:
        raise Conflict("already_verified")
    if row is not None:
        return row
    assert principal.home is not None
    return await uow.volunteers.add(
        Volunteer(
            person_id=principal.person_id,
            home_community_id=principal.home.community_id,
            real_name=who.name,
            id_number_encrypted=cipher.encrypt(who.number),
            id_number_hash=id_hash,
            id_number_masked=mask_id_number(who.number),
            phone=who.phone,
            status=VolunteerStatus.PENDING,
            registered_at=utcnow(),
        )
    )


def _fill_in(row: Volunteer, cipher: PersonalDataCipher, who: _Identity, id_hash: str) -> None:
    """Who they are, pending a worker's look at the ID card."""
    row.real_name, row.phone = who.name, who.phone
    row.id_number_encrypted = cipher.encrypt(who.number)
    row.id_number_hash, row.id_number_masked = id_hash, mask_id_number(who.number)
    row.status, row.rejection_reason = VolunteerStatus.PENDING, None
    row.guardian_required = needs_guardian(who.number, local_today())  # a birthday is local


def _set_offer(
    row: Volunteer, skills: Sequence[Skill], tags: Sequence[str], availability: Sequence[str]
) -> None:
    """What they offer and when they are free."""
    row.skills = [s.value for s in dict.fromkeys(skills)]
    row.tags = list(tags)[:10]
    row.availability = [s for s in SLOTS if s in set(availability)]
    # Bit masks of the same lists, for matching many volunteers at once.
    row.skills_mask, row.availability_mask = skill_mask(row.skills), slot_mask(row.availability)


async def _workers_of(uow: UnitOfWork, community_id: int) -> list[int]:
    """The community workers over a community."""
    community = await community_row(uow, community_id)
    return await uow.grants.people_covering(place_of(community), (Role.COMMUNITY_WORKER,))


ID_CONFLICT_RENOTIFY = timedelta(days=1)


async def _report_id_conflict(uow: UnitOfWork, principal: Principal, other: Volunteer) -> list[int]:
    """Audit a registration whose ID number belongs to another volunteer (the number itself
    is never written) and return the workers of the person's community to tell — nobody when
    they were told about this person and that registration within the last day (a repeated
    tap on Confirm does not flood them)."""
    assert principal.home is not None
    earlier = await _told_lately(uow, principal, other)
    uow.audit.record(
        actor_id=principal.person_id,
        action="volunteer.id_conflict",
        entity="volunteer",
        entity_id=other.id,
    )
    workers = await _workers_of(uow, principal.home.community_id)
    await uow.commit()
    return [] if earlier else list(workers)


async def _told_lately(uow: UnitOfWork, principal: Principal, other: Volunteer) -> bool:
    """Whether this person's clash with that registration was reported within the last day."""
    since = utcnow() - ID_CONFLICT_RENOTIFY
    return any(
        entry.action == "volunteer.id_conflict"
        and entry.actor_id == principal.person_id
        and entry.at >= since
        for entry in await uow.audit.for_entity("volunteer", other.id)
    )


async def my_registration(uow: UnitOfWork, principal: Principal) -> VolunteerView | None:
    async with uow:
        row = await uow.volunteers.of_person(principal.person_id)
        return await _view(uow, row) if row else None


async def pending(uow: UnitOfWork, principal: Principal) -> tuple[VolunteerView, ...]:
    """Registrations waiting for verification in the worker's communities, oldest first."""
    async with uow:
        communities = await uow.places.communities_covered(principal, TRIAGE_ROLES)
        if not communities:
            raise PermissionDenied()
        return tuple([await _view(uow, v) for v in await uow.volunteers.pending_in(communities)])


async def verify(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    volunteer_id: int,
    approve: bool,
    reason: str = "",
) -> VolunteerView:
    """A worker who saw the ID card confirms the registration (or refuses it, saying why)."""
    reason = reason.strip()[:500]
    if not approve and not reason:
        raise InvalidInput("reason", "empty")
    async with uow:
        row, community = await _pending_registration(uow, principal, volunteer_id)
        if approve:
            await _approve(uow, principal, row, community)
        else:
            row.status, row.rejection_reason = VolunteerStatus.REJECTED, reason
        row.verified_at = utcnow()
        row.verified_by = principal.person_id or None
        uow.audit.record(
            actor_id=principal.person_id or None,
            action="volunteer.verify" if approve else "volunteer.reject",
            entity="volunteer",
            entity_id=row.id,
            note=reason or None,
        )
        view = await _view(uow, row)
        await match_profiles.refresh(uow, (row.person_id,))
        await uow.commit()
    await notifier.send([_verdict(view, approve, reason)])
    return view


async def _pending_registration(
    uow: UnitOfWork, principal: Principal, volunteer_id: int
) -> tuple[Volunteer, Community]:
    """The registration (locked) and its home community, if a worker there may verify it."""
    row = await uow.volunteers.get(volunteer_id, lock=True)
    if row is None:
        raise NotFound("volunteer", volunteer_id)
    community = await uow.places.community(row.home_community_id)
    assert community is not None
    if not principal.can_act_in(place_of(community), *TRIAGE_ROLES):
        raise PermissionDenied()
    if row.status is not VolunteerStatus.PENDING:
        raise Conflict("volunteer_not_pending")
    return row, community


async def _approve(
    uow: UnitOfWork, principal: Principal, row: Volunteer, community: Community
) -> None:
    """Verified (a minor only with a guardian's consent): numbered and granted the role."""
    if row.guardian_required and Purpose.GUARDIAN not in await uow.privacy.active_purposes(
        row.person_id
    ):
        raise Conflict("guardian_consent_needed")
    row.status = VolunteerStatus.VERIFIED
    if row.number is None:
        sequence = await uow.volunteers.next_number(community.id)
        row.number = volunteer_number(community.code, sequence)
    for community_id in await uow.volunteers.communities_of(row.id):
        await _grant_volunteer(uow, principal, row.person_id, community_id)


async def _grant_volunteer(
    uow: UnitOfWork, principal: Principal, person_id: int, community_id: int
) -> None:
    """The volunteer role in a community they serve, unless they hold it already."""
    if await uow.grants.find_active(person_id, Role.VOLUNTEER, ScopeLevel.COMMUNITY, community_id):
        return
    await uow.grants.add(
        RoleGrant(
            person_id=person_id,
            role=Role.VOLUNTEER,
            scope_level=ScopeLevel.COMMUNITY,
            community_id=community_id,
            granted_by=principal.person_id or None,
        )
    )


def _verdict(view: VolunteerView, approve: bool, reason: str) -> Notice:
    if approve:
        return Notice(view.person_id, "volunteer.verified", {"number": view.number or ""})
    return Notice(view.person_id, "volunteer.rejected", {"reason": reason})


async def verified(uow: UnitOfWork, principal: Principal) -> Volunteer:
    """The principal's verified volunteer registration (inside an entered unit of work);
    one still waiting is told so; anyone else is told to register and be verified first."""
    volunteer = await uow.volunteers.of_person(principal.person_id)
    if volunteer is not None and volunteer.status is VolunteerStatus.PENDING:
        raise Conflict("volunteer_pending_verification")
    if volunteer is None or volunteer.status is not VolunteerStatus.VERIFIED:
        raise Conflict("not_a_verified_volunteer")
    return volunteer
