"""The person's rights under the PIPL: consent before real-name registration (and its
withdrawal), a guardian's consent for a child under 14, a copy of everything stored about
them, and erasure. Key rotation of the encrypted ID numbers lives here too."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from bot.domain.enums import Role
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.policy import TRIAGE_ROLES
from bot.domain.principal import Principal
from bot.domain.privacy import CONSENT_VERSION, REGISTRATION_PURPOSES, Access, Purpose
from bot.domain.volunteers import SignupStatus, VolunteerStatus
from bot.services import access_log, match_profiles
from bot.services.crypto import PersonalDataCipher
from bot.services.places import place_of
from bot.services.ports import Notice, Notifier
from storage.models import PrivacyConsent, Shift, Volunteer
from storage.types import utcnow
from storage.uow import UnitOfWork

MAX_GUARDIAN = 100


@dataclass(frozen=True, slots=True)
class ConsentView:
    purpose: Purpose
    version: str
    given_at: datetime
    withdrawn_at: datetime | None
    guardian: str | None


@dataclass(frozen=True, slots=True)
class ConsentOverview:
    items: tuple[ConsentView, ...]
    registration_current: bool  # both registration consents given to today's notice

    @property
    def active(self) -> tuple[ConsentView, ...]:
        return tuple(c for c in self.items if c.withdrawn_at is None)


@dataclass(frozen=True, slots=True)
class WithdrawResult:
    withdrawn: int
    volunteer_stopped: bool


@dataclass(frozen=True, slots=True)
class MinorView:
    volunteer_id: int
    person_id: int
    real_name: str
    masked_id: str


@dataclass(frozen=True, slots=True)
class PersonalData:
    """Everything stored about one person, by section (rows of column → JSON value)."""

    person_id: int
    exported_at: datetime
    sections: Mapping[str, tuple[Mapping[str, Any], ...]]

    def to_json(self) -> str:
        return json.dumps(
            {
                "person_id": self.person_id,
                "exported_at": self.exported_at.isoformat(),
                "sections": {k: list(v) for k, v in self.sections.items()},
            },
            ensure_ascii=False,
            indent=2,
        )


@dataclass(frozen=True, slots=True)
class ErasureResult:
    volunteer_number: str | None
    accounts_removed: int
    service_records_kept: int
    ledger_entries_kept: int
    requests_kept: int


@dataclass(frozen=True, slots=True)
class ReencryptResult:
    total: int
    reencrypted: int


# ---------------------------------------------------------------- consent


async def overview(uow: UnitOfWork, principal: Principal) -> ConsentOverview:
    async with uow:
        rows = await uow.privacy.consents_of(principal.person_id)
        current = await uow.privacy.active_purposes(principal.person_id, CONSENT_VERSION)
        items = tuple(
            ConsentView(r.purpose, r.version, r.given_at, r.withdrawn_at, r.guardian) for r in rows
        )
    return ConsentOverview(items, registration_current=set(REGISTRATION_PURPOSES) <= current)


async def has_registration_consent(uow: UnitOfWork, principal: Principal) -> bool:
    async with uow:
        current = await uow.privacy.active_purposes(principal.person_id, CONSENT_VERSION)
    return set(REGISTRATION_PURPOSES) <= current


async def give_registration_consent(
    uow: UnitOfWork, principal: Principal, *, locale: str, id_number: bool
) -> ConsentOverview:
    """The person agreed to the registration notice and, separately, to the processing of
    their ID number (sensitive information); both are needed to register."""
    if not id_number:
        raise InvalidInput("consent", "id_number")
    now = utcnow()
    async with uow:
        current = await uow.privacy.active_purposes(principal.person_id, CONSENT_VERSION)
        for purpose in REGISTRATION_PURPOSES:
            if purpose not in current:
                uow.privacy.add_consent(
                    PrivacyConsent(
                        person_id=principal.person_id,
                        purpose=purpose,
                        version=CONSENT_VERSION,
                        locale=locale,
                        given_at=now,
                    )
                )
        uow.audit.record(
            actor_id=principal.person_id,
            action="privacy.consent",
            entity="person",
            entity_id=principal.person_id,
            details={
                "version": CONSENT_VERSION,
                "purposes": [p.value for p in REGISTRATION_PURPOSES],
            },
        )
        await uow.commit()
    return await overview(uow, principal)


async def _workers_of(uow: UnitOfWork, community_id: int) -> list[int]:
    community = await uow.places.community(community_id)
    if community is None:
        return []
    return await uow.grants.people_covering(place_of(community), (Role.COMMUNITY_WORKER,))


async def _leave_future_shifts(uow: UnitOfWork, person_id: int, now: datetime) -> list[Notice]:
    """Give up the person's places on shifts not yet started; the first on each wait list
    moves up (as when a volunteer cancels) and is told."""
    notices: list[Notice] = []
    for signup in await uow.privacy.future_signups(person_id, now):
        shift = await uow.shifts.get(signup.shift_id, lock=True)
        if shift is None:
            continue
        if signup.status is SignupStatus.CONFIRMED:
            notices += await _promote_next(uow, shift)
        signup.status, signup.cancelled_at = SignupStatus.CANCELLED, now
        uow.audit.record(
            actor_id=person_id,
            action="shift.cancel",
            entity="shift",
            entity_id=shift.id,
            details={"why": "privacy"},
        )
    return notices


async def _promote_next(uow: UnitOfWork, shift: Shift) -> list[Notice]:
    """The first on the wait list takes the place given up, and is told."""
    waiting = [s for s in await uow.shifts.signups(shift.id) if s.status is SignupStatus.WAITLISTED]
    if not waiting:
        return []
    waiting[0].status = SignupStatus.CONFIRMED
    params: dict[str, str | int] = {"title": shift.title, "start": shift.starts_at.isoformat()}
    return [Notice(waiting[0].person_id, "shift.promoted", params)]


async def withdraw(uow: UnitOfWork, notifier: Notifier, principal: Principal) -> WithdrawResult:
    """Withdraw every consent: a volunteer registration stops (no sign-ups, no matching, no
    volunteer broadcasts) and the community's workers are told. Records already made stay."""
    now = utcnow()
    notices: list[Notice] = []
    async with uow:
        withdrawn = await uow.privacy.withdraw_all(principal.person_id, now)
        volunteer = await uow.volunteers.of_person(principal.person_id)
        stopped = False
        if volunteer is not None and volunteer.status is not VolunteerStatus.WITHDRAWN:
            volunteer.status = VolunteerStatus.WITHDRAWN
            await uow.privacy.revoke_grants(principal.person_id, now, (Role.VOLUNTEER,))
            notices += await _leave_future_shifts(uow, principal.person_id, now)
            await uow.privacy.flush()
            await match_profiles.refresh(uow, (principal.person_id,))
            stopped = True
            label = volunteer.number or volunteer.real_name
            notices += [
                Notice(w, "privacy.withdrawn", {"name": volunteer.real_name, "number": label})
                for w in await _workers_of(uow, volunteer.home_community_id)
                if w != principal.person_id
            ]
        if not withdrawn and not stopped:
            raise Conflict("no_consent_to_withdraw")
        uow.audit.record(
            actor_id=principal.person_id,
            action="privacy.withdraw",
            entity="person",
            entity_id=principal.person_id,
            details={"consents": withdrawn, "volunteer_stopped": stopped},
        )
        await uow.commit()
    await notifier.send(notices)
    return WithdrawResult(withdrawn=withdrawn, volunteer_stopped=stopped)


# ---------------------------------------------------------------- children under 14


async def guardian_needed(uow: UnitOfWork, principal: Principal) -> bool:
    """Is the person's registration waiting for a guardian's consent?"""
    async with uow:
        volunteer = await uow.volunteers.of_person(principal.person_id)
        if volunteer is None or not volunteer.guardian_required:
            return False
        return Purpose.GUARDIAN not in await uow.privacy.active_purposes(principal.person_id)


async def has_guardian_consent(uow: UnitOfWork, person_id: int) -> bool:
    """Inside an entered unit of work (volunteers.verify asks before verifying a child)."""
    return Purpose.GUARDIAN in await uow.privacy.active_purposes(person_id)


async def minors_waiting(uow: UnitOfWork, principal: Principal) -> tuple[MinorView, ...]:
    async with uow:
        communities = await uow.places.communities_covered(principal, TRIAGE_ROLES)
        if not communities:
            raise PermissionDenied()
        rows = await uow.privacy.minors_waiting(communities)
        return tuple(MinorView(r.id, r.person_id, r.real_name, r.id_number_masked) for r in rows)


async def record_guardian_consent(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    volunteer_id: int,
    guardian: str,
) -> MinorView:
    """A worker who met the guardian records their consent (name and relation) for a child
    under 14; logged as an action on the child's behalf."""
    guardian = " ".join(guardian.split())
    if not 2 <= len(guardian) <= MAX_GUARDIAN:
        raise InvalidInput("guardian", "length")
    async with uow:
        row = await _child_waiting(uow, principal, volunteer_id)
        uow.privacy.add_consent(
            PrivacyConsent(
                person_id=row.person_id,
                purpose=Purpose.GUARDIAN,
                version=CONSENT_VERSION,
                locale=principal.locale,
                given_at=utcnow(),
                recorded_by=principal.person_id or None,
                guardian=guardian,
            )
        )
        await _log_guardian_consent(uow, principal, row)
        uow.audit.record(
            actor_id=principal.person_id or None,
            action="privacy.guardian_consent",
            entity="volunteer",
            entity_id=row.id,
        )
        view = MinorView(row.id, row.person_id, row.real_name, row.id_number_masked)
        await uow.commit()
    await notifier.send([Notice(view.person_id, "privacy.guardian_recorded", {})])
    return view


async def _log_guardian_consent(uow: UnitOfWork, principal: Principal, row: Volunteer) -> None:
    """The worker acted on the child's behalf."""
    await access_log.record(
        uow,
        actor_id=principal.person_id,
        subject_id=row.person_id,
        kind=Access.ON_BEHALF,
        reason="guardian consent for a child under 14",
    )


async def _child_waiting(uow: UnitOfWork, principal: Principal, volunteer_id: int) -> Volunteer:
    """The child's registration (locked), waiting for a guardian's consent in the worker's area."""
    row = await uow.volunteers.get(volunteer_id, lock=True)
    if row is None:
        raise NotFound("volunteer", volunteer_id)
    community = await uow.places.community(row.home_community_id)
    if community is None or not principal.can_act_in(place_of(community), *TRIAGE_ROLES):
        raise PermissionDenied()
    if not row.guardian_required:
        raise Conflict("guardian_not_needed")
    if await has_guardian_consent(uow, row.person_id):
        raise Conflict("guardian_already_recorded")
    return row


# ---------------------------------------------------------------- a copy of one's data


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


async def export(uow: UnitOfWork, principal: Principal) -> PersonalData:
    """Everything stored about the person (PIPL Art. 45); the export is logged."""
    async with uow:
        if await uow.people.get(principal.person_id) is None:
            raise NotFound("person", principal.person_id)
        raw = await uow.privacy.everything_about(principal.person_id)
        await access_log.record(
            uow,
            actor_id=principal.person_id,
            subject_id=principal.person_id,
            kind=Access.EXPORT,
            reason="the person's own copy of their data (/mydata)",
        )
        await uow.commit()
    return PersonalData(
        person_id=principal.person_id, exported_at=utcnow(), sections=_sections(raw)
    )


def _sections(
    raw: Mapping[str, Sequence[Mapping[str, Any]]],
) -> dict[str, tuple[dict[str, Any], ...]]:
    """Each table's rows, as JSON can hold them."""
    return {
        name: tuple({k: _jsonable(v) for k, v in row.items()} for row in rows)
        for name, rows in raw.items()
    }


# ---------------------------------------------------------------- erasure


async def erase(uow: UnitOfWork, notifier: Notifier, principal: Principal) -> ErasureResult:
    """Erase contact data and accounts (PIPL Art. 47). What the 2020 volunteer-record rules
    require stays, restricted: service records and time-bank entries under the volunteer
    number only; requests keep their text without the person's name, photo or location."""
    now = utcnow()
    notices: list[Notice] = []
    async with uow:
        person = await uow.people.get(principal.person_id)
        if person is None or person.erased_at is not None:
            raise NotFound("person", principal.person_id)
        volunteer = await uow.volunteers.of_person(principal.person_id)
        number: str | None = None
        if volunteer is not None:
            number = volunteer.number or f"V{volunteer.id}"
            notices = await _tell_erased(uow, principal, volunteer, number)
            await _erase_volunteer(uow, principal, volunteer, number)
        notices += await _end_part(uow, principal.person_id, now)
        await uow.privacy.forget_need_details(principal.person_id)
        webhook_deliveries = await uow.privacy.forget_webhook_traces(principal.person_id)
        accounts = await uow.privacy.delete_accounts(principal.person_id)
        person.display_name = ""
        person.locale = None
        person.erased_at = now
        await uow.privacy.flush()
        await match_profiles.refresh(uow, (principal.person_id,))
        records, entries, needs = await uow.privacy.count_kept(principal.person_id)
        uow.audit.record(
            actor_id=principal.person_id,
            action="person.erased",
            entity="person",
            entity_id=principal.person_id,
            details={
                "accounts_removed": accounts,
                "webhook_deliveries_cleared": webhook_deliveries,
                "service_records_kept": records,
                "ledger_entries_kept": entries,
                "requests_kept": needs,
            },
        )
        await uow.commit()
    await notifier.send(notices)
    return ErasureResult(number, accounts, records, entries, needs)


async def _tell_erased(
    uow: UnitOfWork, principal: Principal, volunteer: Volunteer, number: str
) -> list[Notice]:
    """A verified volunteer's workers hear that the number left (under the number only)."""
    if volunteer.status is not VolunteerStatus.VERIFIED:
        return []
    return [
        Notice(w, "privacy.erased", {"number": number})
        for w in await _workers_of(uow, volunteer.home_community_id)
        if w != principal.person_id
    ]


async def _erase_volunteer(
    uow: UnitOfWork, principal: Principal, volunteer: Volunteer, number: str
) -> None:
    """The registration keeps only its number: no name, ID number, phone or offer."""
    volunteer.real_name = number
    volunteer.phone = ""
    volunteer.id_number_encrypted = ""
    volunteer.id_number_hash = f"erased:{volunteer.id}"
    volunteer.id_number_masked = ""
    volunteer.skills, volunteer.tags, volunteer.availability = [], [], []
    volunteer.skills_mask = volunteer.availability_mask = 0
    volunteer.rejection_reason = None
    volunteer.status = VolunteerStatus.WITHDRAWN
    await uow.privacy.drop_volunteer_communities(volunteer.id)
    await uow.privacy.anonymise_certificates(principal.person_id, number)


async def _end_part(uow: UnitOfWork, person_id: int, now: datetime) -> list[Notice]:
    """No consent, no role, no future shift left; returns what tells the organisers."""
    await uow.privacy.withdraw_all(person_id, now)
    await uow.privacy.revoke_grants(person_id, now)
    return await _leave_future_shifts(uow, person_id, now)


# ---------------------------------------------------------------- key rotation


async def reencrypt_ids(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    *,
    batch: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> ReencryptResult:
    """Seal every stored ID number again with today's algorithm and newest key, a batch per
    transaction (safe to stop and run again); logged as one read of unmasked ID numbers."""
    async with uow:
        total = await uow.privacy.count_encrypted()
    done = changed = last_id = 0
    while True:
        async with uow:
            rows = await uow.privacy.volunteers_after(last_id, batch)
            if not rows:
                break
            changed += _reseal(cipher, rows)
            last_id = rows[-1].id
            done += len(rows)
            await uow.commit()
        if progress is not None:
            progress(done, total)
    await _log_reencrypt(uow, cipher, done, changed)
    return ReencryptResult(total=done, reencrypted=changed)


def _reseal(cipher: PersonalDataCipher, rows: Sequence[Volunteer]) -> int:
    """Seal again the ID numbers not sealed with the current key; returns how many."""
    changed = 0
    for row in rows:
        if not cipher.is_current(row.id_number_encrypted):
            row.id_number_encrypted = cipher.encrypt(cipher.decrypt(row.id_number_encrypted))
            changed += 1
    return changed


async def _log_reencrypt(
    uow: UnitOfWork, cipher: PersonalDataCipher, read: int, changed: int
) -> None:
    details = {"read": read, "reencrypted": changed, "now": cipher.current}
    async with uow:
        await access_log.record(
            uow,
            actor_id=None,
            subject_id=None,
            kind=Access.ID_UNMASKED,
            reason="key rotation (admin reencrypt)",
            details=details,
        )
        uow.audit.record(
            actor_id=None,
            action="privacy.reencrypt",
            entity="volunteer",
            entity_id=None,
            details=details,
        )
        await uow.commit()
