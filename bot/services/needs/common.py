"""What the steps of the needs loop share: the views of a need, its events and moves, who
hears of a change, and the load-check-change-commit frame of the workers' actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.contacts import shown_name
from bot.domain.enums import ORGANISATION_ROLES, Role
from bot.domain.errors import InvalidInput, NotFound, PermissionDenied
from bot.domain.needs import (
    DEFAULT_DUE_HOURS,
    Beneficiary,
    ClosureReason,
    NeedCategory,
    NeedState,
    Urgency,
    check_transition,
)
from bot.domain.policy import TRIAGE_ROLES
from bot.domain.principal import Place, Principal
from bot.services import match_profiles, webhooks
from bot.services.places import place_of
from bot.services.ports import Notice, Notifier
from bot.services.views import Named
from storage.models import Community, Need, NeedEvent
from storage.types import utcnow
from storage.uow import UnitOfWork

PER_PAGE = 6
UTC_ZONE = ZoneInfo("UTC")
MAX_DESCRIPTION = 2000
MAX_TEXT = 1000  # notes, resolutions, reasons, comments


def _checked_text(value: str | None, field: str, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(field, "empty")
    if len(text) > MAX_TEXT:
        raise InvalidInput("text", "too long")
    return text


@dataclass(frozen=True, slots=True)
class NeedBrief:
    id: int
    reference: str
    category: NeedCategory
    urgency: Urgency
    state: NeedState
    description: str
    created_at: datetime
    due_at: datetime
    supporters: int
    assignee: str | None
    community: Named
    # Who asked: filled only for the workers' lists (/queue, /tasks), never for residents.
    resident_name: str | None = None


@dataclass(frozen=True, slots=True)
class NeedContact:
    """Whom to call and where to go: for the workers and handlers, and the resident's own."""

    name: str
    phone: str | None
    address: str | None
    wants_visit: bool


@dataclass(frozen=True, slots=True)
class EventView:
    at: datetime
    kind: str
    from_state: NeedState | None
    to_state: NeedState | None
    public: bool
    text: str | None
    actor: str | None


@dataclass(frozen=True, slots=True)
class NeedDetail:
    brief: NeedBrief
    beneficiary: Beneficiary
    photo: str | None
    latitude: float | None
    longitude: float | None
    referred_to: str | None
    resolution: str | None
    closure_reason: ClosureReason | None
    events: tuple[EventView, ...]
    # What the viewer may do (the services check again when they do it).
    can_triage: bool
    is_assignee: bool
    is_resident: bool
    contact: NeedContact | None = None


def _clock(now: datetime | None) -> datetime:
    return now or utcnow()


async def _brief(
    uow: UnitOfWork,
    need: Need,
    community: Community | None = None,
    *,
    with_resident: bool = False,
) -> NeedBrief:
    community = community or await uow.places.community(need.community_id)
    assert community is not None
    return _brief_of(
        need,
        community,
        supporters=await uow.needs.supporter_count(need.id),
        assignee=await _assignee(uow, need),
        resident_name=await _name(uow, need.resident_id) if with_resident else None,
    )


async def _briefs(uow: UnitOfWork, needs: Sequence[Need]) -> list[NeedBrief]:
    """The briefs of several needs with their supporters counted in one statement and each
    community read once (a brief each cost three statements per need)."""
    supporters = await uow.needs.supporter_counts([need.id for need in needs]) if needs else {}
    communities: dict[int, Community] = {}
    briefs = []
    for need in needs:
        if need.community_id not in communities:
            community = await uow.places.community(need.community_id)
            assert community is not None
            communities[need.community_id] = community
        briefs.append(
            _brief_of(
                need,
                communities[need.community_id],
                supporters=supporters.get(need.id, 0),
                assignee=await _assignee(uow, need),
            )
        )
    return briefs


def _brief_of(
    need: Need,
    community: Community,
    *,
    supporters: int,
    assignee: str | None,
    resident_name: str | None = None,
) -> NeedBrief:
    return NeedBrief(
        id=need.id,
        reference=need.reference,
        category=need.category,
        urgency=need.urgency,
        state=need.state,
        description=need.description,
        created_at=need.created_at,
        due_at=need.due_at,
        supporters=supporters,
        assignee=assignee,
        community=Named(community.id, community.name, community.name_en),
        resident_name=resident_name,
    )


async def _assignee(uow: UnitOfWork, need: Need) -> str | None:
    """Who has the need: its assignee, its organisation, or the department it went to."""
    if need.assignee_person_id is not None:
        return await _name(uow, need.assignee_person_id)
    if need.assignee_organisation_id is not None:
        org = await uow.organisations.get(need.assignee_organisation_id)
        return org.name if org else None
    return need.referred_to or None


async def _name(uow: UnitOfWork, person_id: int) -> str:
    """A person as others see them: the name they gave, else the real name they registered
    as a volunteer, else their person number — never a chat id."""
    person = await uow.people.get(person_id)
    name = person.display_name if person else ""
    if not shown_name(name, person_id).startswith("#"):
        return name.strip()
    volunteer = await uow.volunteers.of_person(person_id)
    return shown_name(volunteer.real_name if volunteer else "", person_id)


async def _contact(uow: UnitOfWork, need: Need) -> NeedContact:
    return NeedContact(
        name=await _name(uow, need.resident_id),
        phone=need.contact_phone,
        address=need.address,
        wants_visit=need.wants_visit,
    )


async def _load(uow: UnitOfWork, need_id: int) -> tuple[Need, Community, Place]:
    need = await uow.needs.get(need_id, lock=True)
    if need is None:
        raise NotFound("need", need_id)
    community = await uow.places.community(need.community_id)
    assert community is not None
    return need, community, place_of(community)


async def _is_assignee(uow: UnitOfWork, principal: Principal, need: Need) -> bool:
    if need.assignee_person_id is not None:
        return need.assignee_person_id == principal.person_id
    if need.assignee_organisation_id is not None:
        return any(
            g.role in ORGANISATION_ROLES and g.organisation_id == need.assignee_organisation_id
            for g in principal.grants
        )
    return False


def _require_triage(principal: Principal, place: Place) -> None:
    if not principal.can_act_in(place, *TRIAGE_ROLES):
        raise PermissionDenied()


def _event(
    uow: UnitOfWork,
    need: Need,
    principal: Principal | None,
    kind: str,
    now: datetime,
    *,
    to_state: NeedState | None = None,
    text: str | None = None,
    public: bool = True,
) -> None:
    actor = principal.person_id if principal and principal.person_id else None
    uow.needs.add_event(
        NeedEvent(
            need_id=need.id,
            at=now,
            actor_id=actor,
            kind=kind,
            from_state=need.state if to_state else None,
            to_state=to_state,
            public=public,
            text=text,
        )
    )
    if public:
        _webhook_event(uow, need, kind, now, to_state=to_state, text=text)
    _audit_event(uow, need, actor, kind, now, to_state, text)


def _audit_event(
    uow: UnitOfWork,
    need: Need,
    actor: int | None,
    kind: str,
    now: datetime,
    to_state: NeedState | None,
    text: str | None,
) -> None:
    uow.audit.record(
        actor_id=actor,
        action=f"need.{kind}",
        entity="need",
        entity_id=need.id,
        details={"from": need.state.value, "to": to_state.value if to_state else None},
        note=text,
        at=now,
    )


def _webhook_event(
    uow: UnitOfWork,
    need: Need,
    kind: str,
    now: datetime,
    *,
    to_state: NeedState | None,
    text: str | None,
) -> None:
    """The apps of the area hear of a public change with the same transaction; the text of a
    note only an app acting for the resident (it reads the public history too)."""
    found = _webhook_data(need, kind, to_state, text)
    if found is None:
        return
    event, data = found
    webhooks.record(
        uow,
        event,
        {**data, "kind": kind},
        community_id=need.community_id,
        person_id=need.resident_id,
        at=now,
    )


def _webhook_data(
    need: Need, kind: str, to_state: NeedState | None, text: str | None
) -> tuple[str, dict[str, object]] | None:
    """A change of state (or the filing) as `request.status_changed`, a note as
    `request.note_added`; nothing else is told."""
    request: dict[str, object] = {
        "id": need.id,
        "reference": need.reference,
        "community_id": need.community_id,
    }
    if to_state is not None or kind == "filed":
        state = to_state or need.state
        from_state = need.state.value if to_state else None
        changed: dict[str, object] = {
            "request": {**request, "state": state.value, "from_state": from_state}
        }
        return "request.status_changed", changed
    if text is not None:
        return "request.note_added", {"request": request, "_text": text}
    return None


def _move(
    uow: UnitOfWork,
    need: Need,
    principal: Principal | None,
    target: NeedState,
    now: datetime,
    kind: str,
    text: str | None = None,
    *,
    public: bool = True,
) -> None:
    """Change state, only along the allowed transitions."""
    check_transition(need.state, target)
    _event(uow, need, principal, kind, now, to_state=target, text=text, public=public)
    need.state = target
    need.updated_at = now


# What a supporter ("me too") hears instead: "the request you support", not "your request".
SUPPORTER_NOTICES = {
    "need.state": "need.state_supporter",
    "need.referred": "need.referred_supporter",
    "need.rejected": "need.rejected_supporter",
    "need.public_note": "need.public_note_supporter",
    "need.resolved": "need.resolved_supporter",
}


async def _tell(
    uow: UnitOfWork,
    need: Need,
    message: str = "need.state",
    *,
    resident_actions: tuple[tuple[str, int], ...] = (),
    **params: str,
) -> list[Notice]:
    """The resident and everyone who said "me too" hear of the change, each in their words."""
    values: dict[str, str | int] = {"reference": need.reference, "state": need.state, **params}
    notices = [Notice(need.resident_id, message, values, resident_actions)]
    for person in await uow.needs.supporters(need.id):
        if person != need.resident_id:
            notices.append(Notice(person, SUPPORTER_NOTICES[message], values))
    return notices


# ---------------------------------------------------------------- residents


def _alert_params(need: Need, community: Community) -> dict[str, str | int]:
    """What a workers' group alert may say of a request: its reference, category and
    community — never the resident's name, phone, address or ID number."""
    return {
        "reference": need.reference,
        "category": need.category.value,
        "community": community.name,
        "community_en": community.name_en or "",
    }


def _due_hours(community: Community) -> dict[Urgency, int] | None:
    custom = {
        Urgency.URGENT: community.due_hours_urgent,
        Urgency.NORMAL: community.due_hours_normal,
        Urgency.CAN_WAIT: community.due_hours_can_wait,
    }
    if all(v is None for v in custom.values()):
        return None
    return {u: (h if h is not None else DEFAULT_DUE_HOURS[u]) for u, h in custom.items()}


async def _handlers_of(uow: UnitOfWork, need: Need, place: Place) -> list[int]:
    """Who answers for a need now: its assignee(s), or else the community workers."""
    if need.assignee_person_id is not None:
        return [need.assignee_person_id]
    if need.assignee_organisation_id is not None:
        members = await uow.grants.organisation_members(need.assignee_organisation_id)
        if members:
            return members
    return await uow.grants.people_covering(place, (Role.COMMUNITY_WORKER,))


Change = Callable[[Need, Community, Place], Awaitable[list[Notice]]]
TRIAGE, ASSIGNEE, HANDLER = "triage", "assignee", "handler"


async def _act(
    uow: UnitOfWork,
    notifier: Notifier | None,
    principal: Principal,
    need_id: int,
    who: str,
    change: Change,
) -> NeedBrief:
    """Load and lock the need, check who may act, apply the change, commit, then notify."""
    async with uow:
        need, community, place = await _load(uow, need_id)
        triage = principal.can_act_in(place, *TRIAGE_ROLES)
        assignee = who != TRIAGE and await _is_assignee(uow, principal, need)
        if not {TRIAGE: triage, ASSIGNEE: assignee, HANDLER: triage or assignee}[who]:
            raise PermissionDenied()
        before = need.assignee_person_id
        notices = await change(need, community, place)
        brief = await _brief(uow, need, community)
        await uow.matching.flush()
        # Matching reads open loads: the old and the new assignee's count may have moved.
        await match_profiles.refresh(uow, (before, need.assignee_person_id))
        await uow.commit()
    if notifier is not None:
        await notifier.send(notices)
    return brief
