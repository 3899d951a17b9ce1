"""Workers triage (调处): accept, classify, assign, set the deadline, note, refer, reject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.contacts import shown_name
from bot.domain.enums import Role
from bot.domain.errors import Conflict, InvalidInput, PermissionDenied
from bot.domain.needs import (
    DEADLINE_STATES,
    OPEN_STATES,
    ClosureReason,
    NeedCategory,
    NeedState,
    reminder_at,
)
from bot.domain.policy import TRIAGE_ROLES
from bot.domain.principal import Place, Principal
from bot.services.needs.common import (
    TRIAGE,
    NeedBrief,
    _act,
    _checked_text,
    _clock,
    _event,
    _handlers_of,
    _is_assignee,
    _load,
    _move,
    _name,
    _require_triage,
    _tell,
)
from bot.services.needs.offers import _volunteer_on_street
from bot.services.ports import Notice, Notifier
from storage.models import Community, Need
from storage.uow import UnitOfWork


async def accept(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    need_id: int,
    now: datetime | None = None,
) -> NeedBrief:
    now = _clock(now)

    async def change(need: Need, community: Community, place: Place) -> list[Notice]:
        _move(uow, need, principal, NeedState.ACCEPTED, now, "accepted")
        # Accepting again (a reopened need) means finding a handler anew.
        need.assignee_person_id = need.assignee_organisation_id = None
        return await _tell(uow, need)

    return await _act(uow, notifier, principal, need_id, TRIAGE, change)


async def classify(
    uow: UnitOfWork,
    principal: Principal,
    *,
    need_id: int,
    category: NeedCategory,
    now: datetime | None = None,
) -> NeedBrief:
    now = _clock(now)

    async def change(need: Need, community: Community, place: Place) -> list[Notice]:
        if need.state not in OPEN_STATES:
            raise Conflict("need_not_open")
        _event(uow, need, principal, "classified", now, text=category.value, public=False)
        need.category = category
        need.updated_at = now
        return []

    return await _act(uow, None, principal, need_id, TRIAGE, change)


@dataclass(frozen=True, slots=True)
class Candidate:
    kind: str  # person | organisation
    id: int
    name: str
    role: Role | None


# Who may be assigned a need in person (besides a verified volunteer of the street).
HANDLER_ROLES = (Role.SOCIAL_WORKER, Role.COMMUNITY_WORKER, Role.GRID_WORKER)


async def assignee_candidates(
    uow: UnitOfWork, principal: Principal, *, need_id: int
) -> tuple[Candidate, ...]:
    """Social workers and workers covering the need's community, and organisations."""
    async with uow:
        _, _, place = await _load(uow, need_id)
        _require_triage(principal, place)
        people = await uow.grants.people_with_roles_covering(place, HANDLER_ROLES)
        candidates = [
            Candidate("person", pid, await _name(uow, pid), role) for pid, _n, role in people
        ]
        for org in await uow.organisations.serving(place):
            candidates.append(Candidate("organisation", org.id, org.name, None))
        return tuple(candidates)


async def assign(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    need_id: int,
    person_id: int | None = None,
    organisation_id: int | None = None,
    now: datetime | None = None,
) -> NeedBrief:
    if (person_id is None) == (organisation_id is None):
        raise InvalidInput("assignee", "a person or an organisation")
    now = _clock(now)

    async def change(need: Need, community: Community, place: Place) -> list[Notice]:
        await _check_assignable(uow, place, person_id, organisation_id)
        _move(uow, need, principal, NeedState.ASSIGNED, now, "assigned")
        need.assignee_person_id = person_id
        need.assignee_organisation_id = organisation_id
        return await _tell(uow, need) + await _tell_assignees(uow, need, place)

    return await _act(uow, notifier, principal, need_id, TRIAGE, change)


async def _check_assignable(
    uow: UnitOfWork, place: Place, person_id: int | None, organisation_id: int | None
) -> None:
    """A candidate of the need's place, or a verified volunteer of its street."""
    kind = "person" if person_id is not None else "organisation"
    target = person_id if person_id is not None else organisation_id
    allowed = target in {c.id for c in await _candidates(uow, place, kind)}
    if not allowed and person_id is not None:
        allowed = await _volunteer_on_street(uow, person_id, place)
    if not allowed:
        raise PermissionDenied()


async def _tell_assignees(uow: UnitOfWork, need: Need, place: Place) -> list[Notice]:
    """Whoever has the need now hears of it, with buttons to take it on or hand it back."""
    params = {"reference": need.reference, "description": need.description[:300]}
    actions = (("take", need.id), ("hand_back", need.id))
    return [
        Notice(p, "need.assigned_to_you", params, actions)
        for p in await _handlers_of(uow, need, place)
    ]


async def _candidates(uow: UnitOfWork, place: Place, kind: str) -> list[Candidate]:
    if kind == "person":
        people = await uow.grants.people_with_roles_covering(place, HANDLER_ROLES)
        return [Candidate("person", pid, shown_name(name, pid), role) for pid, name, role in people]
    return [
        Candidate("organisation", o.id, o.name, None)
        for o in await uow.organisations.serving(place)
    ]


async def set_due(
    uow: UnitOfWork,
    principal: Principal,
    *,
    need_id: int,
    due: datetime,
    now: datetime | None = None,
) -> NeedBrief:
    now = _clock(now)
    if due <= now:
        raise InvalidInput("due", "in the past")

    async def change(need: Need, community: Community, place: Place) -> list[Notice]:
        if need.state not in DEADLINE_STATES:
            raise Conflict("need_not_open")
        _event(uow, need, principal, "due_changed", now, text=due.isoformat(), public=False)
        need.due_at = due
        need.remind_at = reminder_at(now, due)
        need.reminded_at = need.escalated_at = None
        return []

    return await _act(uow, None, principal, need_id, TRIAGE, change)


async def add_note(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    need_id: int,
    text: str,
    public: bool,
    now: datetime | None = None,
) -> None:
    """A note by a worker or the assignee; a public one is pushed to the resident."""
    now = _clock(now)
    text = _checked_text(text, "note")
    async with uow:
        need, _, place = await _load(uow, need_id)
        await _check_handles(uow, principal, need, place)
        _event(uow, need, principal, "note", now, text=text, public=public)
        need.updated_at = now
        reference_ = need.reference
        resident = need.resident_id
        await uow.commit()
    if public:
        await notifier.send(
            [Notice(resident, "need.public_note", {"reference": reference_, "text": text})]
        )


async def _check_handles(uow: UnitOfWork, principal: Principal, need: Need, place: Place) -> None:
    """A worker triaging the need's place, or its assignee."""
    if not (principal.can_act_in(place, *TRIAGE_ROLES) or await _is_assignee(uow, principal, need)):
        raise PermissionDenied()


async def note_consultation_outcome(
    uow: UnitOfWork, *, need_id: int, text: str, actor_id: int, now: datetime
) -> list[Notice]:
    """The decision of a consultation opened from this need, as a public note, inside the
    consultation's entered unit of work (its service checked who decided); returns the notices
    for the resident and the supporters, to send after the commit."""
    text = _checked_text(text, "note")
    need, _, _ = await _load(uow, need_id)
    _event(uow, need, Principal(actor_id, "zh"), "consultation", now, text=text, public=True)
    need.updated_at = now
    return await _tell(uow, need, "need.public_note", text=text)


async def refer(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    need_id: int,
    department: str,
    now: datetime | None = None,
) -> NeedBrief:
    """Hand the need to a named outside department; the resident is told where it went."""
    now = _clock(now)
    department = _checked_text(department, "department")[:200]

    async def change(need: Need, community: Community, place: Place) -> list[Notice]:
        _move(uow, need, principal, NeedState.REFERRED, now, "referred", department)
        need.referred_to = department
        need.closure_reason = ClosureReason.REFERRED
        return await _tell(uow, need, "need.referred", department=department)

    return await _act(uow, notifier, principal, need_id, TRIAGE, change)


async def reject(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    need_id: int,
    reason: ClosureReason,
    text: str,
    now: datetime | None = None,
) -> NeedBrief:
    """Close as not solvable or out of scope, saying why and, where possible, where to go."""
    if reason not in (ClosureReason.NOT_SOLVABLE, ClosureReason.OUT_OF_SCOPE):
        raise InvalidInput("reason", reason.value)
    now = _clock(now)
    text = _checked_text(text, "reason_text")

    async def change(need: Need, community: Community, place: Place) -> list[Notice]:
        _move(uow, need, principal, NeedState.REJECTED, now, "rejected", text)
        need.closure_reason = reason
        need.closed_at = now
        return await _tell(uow, need, "need.rejected", reason=text)

    return await _act(uow, notifier, principal, need_id, TRIAGE, change)


# ---------------------------------------------------------------- assignees
