"""The needs loop (信息收集、共享、调处、反馈): residents file needs, workers triage and assign,
assignees resolve, residents confirm. Every change is checked against the principal's scope,
recorded as a need event and in the audit log, and pushed to the people it concerns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import duplicates
from bot.domain.contacts import building_of, clean_address, normalise_contact_phone, shown_name
from bot.domain.emergency_signs import looks_like_emergency
from bot.domain.enums import ORGANISATION_ROLES, Role
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.matching import OfferKind, OfferStatus
from bot.domain.needs import (
    DEADLINE_STATES,
    DEFAULT_DUE_HOURS,
    OPEN_STATES,
    REOPEN_WINDOW,
    Beneficiary,
    ClosureReason,
    NeedCategory,
    NeedState,
    Urgency,
    check_transition,
    due_at,
    reference,
    reminder_at,
)
from bot.domain.policy import AREA_READ_ROLES, TRIAGE_ROLES
from bot.domain.principal import Place, Principal
from bot.domain.volunteers import VolunteerStatus
from bot.services import alerts, match_profiles, webhooks
from bot.services.places import area_of, place_of
from bot.services.ports import Notice, Notifier
from bot.services.views import Named, Page
from storage.models import Community, Need, NeedEvent, NeedFeedback, Person
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


SIMILAR_THRESHOLD = 0.2


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


@dataclass(frozen=True, slots=True)
class Filed:
    need: NeedBrief
    emergency: bool


# ---------------------------------------------------------------- helpers


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
    assignee = None
    if need.assignee_person_id is not None:
        assignee = await _name(uow, need.assignee_person_id)
    elif need.assignee_organisation_id is not None:
        org = await uow.organisations.get(need.assignee_organisation_id)
        assignee = org.name if org else None
    elif need.referred_to:
        assignee = need.referred_to
    return NeedBrief(
        id=need.id,
        reference=need.reference,
        category=need.category,
        urgency=need.urgency,
        state=need.state,
        description=need.description,
        created_at=need.created_at,
        due_at=need.due_at,
        supporters=await uow.needs.supporter_count(need.id),
        assignee=assignee,
        community=Named(community.id, community.name, community.name_en),
        resident_name=await _name(uow, need.resident_id) if with_resident else None,
    )


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
    request: dict[str, object] = {
        "id": need.id,
        "reference": need.reference,
        "community_id": need.community_id,
    }
    data: dict[str, object]
    if to_state is not None or kind == "filed":
        state = to_state or need.state
        from_state = need.state.value if to_state else None
        data = {"request": {**request, "state": state.value, "from_state": from_state}}
        event = "request.status_changed"
    elif text is not None:
        data, event = {"request": request, "_text": text}, "request.note_added"
    else:
        return
    webhooks.record(
        uow,
        event,
        {**data, "kind": kind},
        community_id=need.community_id,
        person_id=need.resident_id,
        at=now,
    )


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


def _alert_params(need: Need, community: Community) -> dict[str, str | int]:
    """What a workers' group alert may say of a request: its reference, category and
    community — never the resident's name, phone, address or ID number."""
    return {
        "reference": need.reference,
        "category": need.category.value,
        "community": community.name,
        "community_en": community.name_en or "",
    }


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


def _due_hours(community: Community) -> dict[Urgency, int] | None:
    custom = {
        Urgency.URGENT: community.due_hours_urgent,
        Urgency.NORMAL: community.due_hours_normal,
        Urgency.CAN_WAIT: community.due_hours_can_wait,
    }
    if all(v is None for v in custom.values()):
        return None
    return {u: (h if h is not None else DEFAULT_DUE_HOURS[u]) for u, h in custom.items()}


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


async def my_needs(uow: UnitOfWork, principal: Principal, *, page: int = 0) -> Page[NeedBrief]:
    page = max(0, page)
    async with uow:
        rows, total = await uow.needs.of_resident(principal.person_id, page * PER_PAGE, PER_PAGE)
        items = tuple([await _brief(uow, n) for n in rows])
        return Page(items, page, PER_PAGE, total)


async def give_feedback(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    need_id: int,
    solved: bool,
    rating: int | None = None,
    comment: str | None = None,
    now: datetime | None = None,
    reopen_window: timedelta = REOPEN_WINDOW,
) -> NeedBrief:
    """ "Is it solved?" Yes closes it (with the rating); no reopens it within the window."""
    now = _clock(now)
    if rating is not None and not 1 <= rating <= 5:
        raise InvalidInput("rating", "1..5")
    comment = _checked_text(comment, "comment", required=False) or None
    notices: list[Notice] = []
    async with uow:
        need, community, place = await _load(uow, need_id)
        if need.resident_id != principal.person_id:
            raise PermissionDenied()
        if need.state is not NeedState.RESOLVED:
            raise Conflict("need_not_resolved")
        uow.needs.add_feedback(
            NeedFeedback(
                need_id=need.id,
                person_id=principal.person_id,
                solved=solved,
                rating=rating,
                comment=(comment or "").strip() or None,
                at=now,
            )
        )
        if solved:
            _move(uow, need, principal, NeedState.CLOSED, now, "confirmed", comment)
            need.closed_at = now
            need.closure_reason = ClosureReason.CONFIRMED_SOLVED
        else:
            if need.resolved_at is None or now - need.resolved_at > reopen_window:
                raise Conflict("reopen_window")
            _move(uow, need, principal, NeedState.REOPENED, now, "reopened", comment)
            need.due_at = due_at(now, need.urgency, _due_hours(community))
            need.remind_at = reminder_at(now, need.due_at)
            need.reminded_at = need.escalated_at = None
            for person in await _handlers_of(uow, need, place):
                notices.append(
                    Notice(
                        person,
                        "need.reopened",
                        {"reference": need.reference, "comment": comment or "—"},
                        (("open", need.id),),
                    )
                )
        brief = await _brief(uow, need, community)
        await uow.session.flush()
        await match_profiles.refresh(uow, (need.assignee_person_id,))  # its rating changed
        await uow.commit()
    await notifier.send(notices)
    return brief


async def _handlers_of(uow: UnitOfWork, need: Need, place: Place) -> list[int]:
    """Who answers for a need now: its assignee(s), or else the community workers."""
    if need.assignee_person_id is not None:
        return [need.assignee_person_id]
    if need.assignee_organisation_id is not None:
        members = await uow.grants.organisation_members(need.assignee_organisation_id)
        if members:
            return members
    return await uow.grants.people_covering(place, (Role.COMMUNITY_WORKER,))


# ---------------------------------------------------------------- viewing


async def need_detail(uow: UnitOfWork, principal: Principal, *, need_id: int) -> NeedDetail:
    async with uow:
        need, community, place = await _load(uow, need_id)
        can_triage = principal.can_act_in(place, *TRIAGE_ROLES)
        is_assignee = await _is_assignee(uow, principal, need)
        is_resident = need.resident_id == principal.person_id
        supporter = await uow.needs.is_supporter(need.id, principal.person_id)
        if not (can_triage or is_assignee or is_resident or supporter):
            raise PermissionDenied()
        internal = can_triage or is_assignee
        # Someone who only said "me too" sees where it stands, not the resident's exchange.
        supporter_only = not (internal or is_resident)
        events = []
        for event in await uow.needs.events(need.id):
            if supporter_only and event.to_state is None and event.kind != "filed":
                continue
            if event.public or internal:
                actor = await uow.people.get(event.actor_id) if event.actor_id else None
                events.append(
                    EventView(
                        at=event.at,
                        kind=event.kind,
                        from_state=event.from_state,
                        to_state=event.to_state,
                        public=event.public,
                        text=None if supporter_only else event.text,
                        actor=await _name(uow, actor.id) if actor and internal else None,
                    )
                )
        return NeedDetail(
            brief=await _brief(uow, need, community),
            beneficiary=need.beneficiary,
            photo=None if supporter_only else need.photo,
            latitude=need.latitude if internal or is_resident else None,
            longitude=need.longitude if internal or is_resident else None,
            referred_to=need.referred_to,
            resolution=need.resolution,
            closure_reason=need.closure_reason,
            events=tuple(events),
            can_triage=can_triage,
            is_assignee=is_assignee,
            is_resident=is_resident,
            # Other residents (supporters) never see the resident's phone or address.
            contact=await _contact(uow, need) if internal or is_resident else None,
        )


@dataclass(frozen=True, slots=True)
class QueueFilter:
    group: str = "open"  # open | new | overdue | all
    category: NeedCategory | None = None
    urgency: Urgency | None = None


async def queue(
    uow: UnitOfWork,
    principal: Principal,
    *,
    filters: QueueFilter = QueueFilter(),
    page: int = 0,
    now: datetime | None = None,
) -> Page[NeedBrief]:
    """The needs of every community the worker is scoped to: most urgent, then newest, first."""
    now = _clock(now)
    page = max(0, page)
    async with uow:
        communities = await uow.places.communities_covered(principal, TRIAGE_ROLES)
        if not communities:
            raise PermissionDenied()
        states: Sequence[NeedState] | None = {
            "open": tuple(OPEN_STATES),
            "new": (NeedState.NEW,),
            "overdue": tuple(DEADLINE_STATES),
            "all": None,
        }[filters.group]
        rows, total = await uow.needs.in_communities(
            communities,
            states=states,
            overdue_before=now if filters.group == "overdue" else None,
            category=filters.category,
            urgency=filters.urgency,
            offset=page * PER_PAGE,
            limit=PER_PAGE,
        )
        items = tuple([await _brief(uow, n, with_resident=True) for n in rows])
        return Page(items, page, PER_PAGE, total)


async def assigned_to_me(
    uow: UnitOfWork, principal: Principal, *, page: int = 0
) -> Page[NeedBrief]:
    page = max(0, page)
    organisations = [
        g.organisation_id
        for g in principal.grants
        if g.role in ORGANISATION_ROLES and g.organisation_id is not None
    ]
    async with uow:
        rows, total = await uow.needs.assigned_to(
            principal.person_id, organisations, page * PER_PAGE, PER_PAGE
        )
        items = tuple([await _brief(uow, n, with_resident=True) for n in rows])
        return Page(items, page, PER_PAGE, total)


# ---------------------------------------------------------------- triage


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
        await uow.session.flush()
        # Matching reads open loads: the old and the new assignee's count may have moved.
        await match_profiles.refresh(uow, (before, need.assignee_person_id))
        await uow.commit()
    if notifier is not None:
        await notifier.send(notices)
    return brief


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


async def assignee_candidates(
    uow: UnitOfWork, principal: Principal, *, need_id: int
) -> tuple[Candidate, ...]:
    """Social workers and workers covering the need's community, and organisations."""
    async with uow:
        _, _, place = await _load(uow, need_id)
        _require_triage(principal, place)
        people = await uow.grants.people_with_roles_covering(
            place, (Role.SOCIAL_WORKER, Role.COMMUNITY_WORKER, Role.GRID_WORKER)
        )
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
        kind = "person" if person_id is not None else "organisation"
        target = person_id if person_id is not None else organisation_id
        allowed = target in {c.id for c in await _candidates(uow, place, kind)}
        if not allowed and person_id is not None:
            allowed = await _volunteer_on_street(uow, person_id, place)
        if not allowed:
            raise PermissionDenied()
        _move(uow, need, principal, NeedState.ASSIGNED, now, "assigned")
        need.assignee_person_id = person_id
        need.assignee_organisation_id = organisation_id
        params = {"reference": need.reference, "description": need.description[:300]}
        actions = (("take", need.id), ("hand_back", need.id))
        return await _tell(uow, need) + [
            Notice(p, "need.assigned_to_you", params, actions)
            for p in await _handlers_of(uow, need, place)
        ]

    return await _act(uow, notifier, principal, need_id, TRIAGE, change)


async def _volunteer_on_street(uow: UnitOfWork, person_id: int, place: Place) -> bool:
    """A verified volunteer serving a community of the need's street (the matching scope)."""
    volunteer = await uow.volunteers.of_person(person_id)
    if volunteer is None or volunteer.status is not VolunteerStatus.VERIFIED:
        return False
    for community_id in await uow.volunteers.communities_of(volunteer.id):
        community = await uow.places.community(community_id)
        if community is not None and community.street_id == place.street_id:
            return True
    return False


async def take_offer(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    need_id: int,
    now: datetime | None = None,
) -> NeedBrief:
    """A volunteer accepts a need offered to them; the first to accept takes it (the need row
    is locked), the others are told it is taken, the workers are told who took it."""
    now = _clock(now)
    async with uow:
        need, community, place = await _load(uow, need_id)
        offer = await uow.matching.offer(need.id, principal.person_id)
        if offer is None or offer.kind is not OfferKind.AUTO:
            raise NotFound("offer", need_id)
        taken = need.assignee_person_id is not None or need.assignee_organisation_id is not None
        if taken or need.state not in UNASSIGNED or offer.status is not OfferStatus.OFFERED:
            raise Conflict("offer_taken")
        if need.state is NeedState.NEW:
            _move(uow, need, None, NeedState.ACCEPTED, now, "accepted")
        _move(uow, need, principal, NeedState.ASSIGNED, now, "assigned")
        need.assignee_person_id = principal.person_id
        for other in await uow.matching.offers(need.id):
            other.status = OfferStatus.ACCEPTED if other is offer else OfferStatus.LOST
            other.decided_at = now
        volunteer = await uow.volunteers.of_person(principal.person_id)
        name = volunteer.real_name if volunteer else ""
        params = {"reference": need.reference, "name": name}
        workers = await uow.grants.people_covering(place, (Role.COMMUNITY_WORKER,))
        notices = await _tell(uow, need) + [
            Notice(p, "need.taken_by_volunteer", params, (("open", need.id),)) for p in workers
        ]
        brief = await _brief(uow, need, community)
        await uow.session.flush()
        await match_profiles.refresh(uow, (principal.person_id,))
        await uow.commit()
    await notifier.send(notices)
    return brief


UNASSIGNED = frozenset({NeedState.NEW, NeedState.ACCEPTED, NeedState.REOPENED})


async def _candidates(uow: UnitOfWork, place: Place, kind: str) -> list[Candidate]:
    if kind == "person":
        people = await uow.grants.people_with_roles_covering(
            place, (Role.SOCIAL_WORKER, Role.COMMUNITY_WORKER, Role.GRID_WORKER)
        )
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
        if not (
            principal.can_act_in(place, *TRIAGE_ROLES) or await _is_assignee(uow, principal, need)
        ):
            raise PermissionDenied()
        _event(uow, need, principal, "note", now, text=text, public=public)
        need.updated_at = now
        reference_ = need.reference
        resident = need.resident_id
        await uow.commit()
    if public:
        await notifier.send(
            [Notice(resident, "need.public_note", {"reference": reference_, "text": text})]
        )


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


async def take(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    need_id: int,
    now: datetime | None = None,
) -> NeedBrief:
    now = _clock(now)

    async def change(need: Need, community: Community, place: Place) -> list[Notice]:
        if need.state is NeedState.IN_PROGRESS:
            raise Conflict("already_in_progress")
        _move(uow, need, principal, NeedState.IN_PROGRESS, now, "in_progress")
        if need.assignee_organisation_id is not None:
            need.assignee_person_id = principal.person_id
        return await _tell(uow, need)

    return await _act(uow, notifier, principal, need_id, ASSIGNEE, change)


async def hand_back(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    need_id: int,
    reason: str,
    now: datetime | None = None,
) -> NeedBrief:
    now = _clock(now)
    reason = _checked_text(reason, "reason", required=False)

    async def change(need: Need, community: Community, place: Place) -> list[Notice]:
        # The reason is for the workers, not for the resident's history.
        _move(
            uow,
            need,
            principal,
            NeedState.ACCEPTED,
            now,
            "handed_back",
            reason or None,
            public=False,
        )
        need.assignee_person_id = need.assignee_organisation_id = None
        params = {"reference": need.reference, "reason": reason or "—"}
        return [
            Notice(w, "need.handed_back", params, (("open", need.id),))
            for w in await uow.grants.people_covering(place, (Role.COMMUNITY_WORKER,))
        ]

    return await _act(uow, notifier, principal, need_id, ASSIGNEE, change)


async def resolve(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    need_id: int,
    resolution: str,
    now: datetime | None = None,
) -> NeedBrief:
    """What was done; the resident is asked whether it is solved, supporters are told."""
    now = _clock(now)
    resolution = _checked_text(resolution, "resolution")

    async def change(need: Need, community: Community, place: Place) -> list[Notice]:
        _move(uow, need, principal, NeedState.RESOLVED, now, "resolved", resolution)
        need.resolution = resolution
        need.resolved_at = now
        return await _tell(
            uow,
            need,
            "need.resolved",
            resident_actions=(("feedback", need.id),),
            resolution=resolution,
        )

    return await _act(uow, notifier, principal, need_id, HANDLER, change)


# ---------------------------------------------------------------- deadlines


@dataclass(frozen=True, slots=True)
class DeadlineRun:
    reminded: int
    escalated: int
    closed_unconfirmed: int


async def run_deadlines(
    uow: UnitOfWork,
    notifier: Notifier,
    *,
    now: datetime | None = None,
    reopen_window: timedelta = REOPEN_WINDOW,
) -> DeadlineRun:
    """Remind before the deadline, escalate overdue needs to the street, close resolved needs
    nobody answered for. Marks are stored, so a restart neither repeats nor forgets them."""
    now = _clock(now)
    notices: list[Notice] = []
    async with uow:
        reminded = 0
        for need in await uow.needs.due_for_reminder(now, DEADLINE_STATES):
            community = await uow.places.community(need.community_id)
            assert community is not None
            for person in await _handlers_of(uow, need, place_of(community)):
                notices.append(
                    Notice(
                        person,
                        "need.reminder",
                        {"reference": need.reference, "due": need.due_at.isoformat()},
                        (("open", need.id),),
                    )
                )
            need.reminded_at = now
            reminded += 1
        escalated = 0
        for need in await uow.needs.overdue_unescalated(now, DEADLINE_STATES):
            community = await uow.places.community(need.community_id)
            assert community is not None
            for person in await _escalation_contacts(uow, community):
                notices.append(
                    Notice(
                        person,
                        "need.escalated",
                        {
                            "reference": need.reference,
                            "community": community.name,
                            "community_en": community.name_en or "",
                            "due": need.due_at.isoformat(),
                        },
                        (("open", need.id),),
                    )
                )
            await alerts.queue(
                uow,
                community,
                "need.escalated",
                {**_alert_params(need, community), "due": need.due_at.isoformat()},
            )
            _event(uow, need, None, "escalated", now, public=False)
            need.escalated_at = now
            escalated += 1
        closed = 0
        for need in await uow.needs.resolved_before(now - reopen_window):
            _event(uow, need, None, "closed_unconfirmed", now, to_state=NeedState.CLOSED)
            need.state = NeedState.CLOSED
            need.closed_at = now
            need.closure_reason = ClosureReason.NOT_CONFIRMED
            closed += 1
        await uow.commit()
    await notifier.send(notices)
    return DeadlineRun(reminded, escalated, closed)


async def _escalation_contacts(uow: UnitOfWork, community: Community) -> list[int]:
    """The street admins; where a street has none yet, the district admins, so that an
    escalation is never marked done with nobody told."""
    street = await uow.grants.people_with_role_on_street(community.street_id, Role.STREET_ADMIN)
    if street:
        return street
    return await uow.grants.people_covering(place_of(community), (Role.DISTRICT_ADMIN,))


# ---------------------------------------------------------------- the needs list (需求清单)


@dataclass(frozen=True, slots=True)
class NeedsListRow:
    reference: str
    community: Named
    category: NeedCategory
    urgency: Urgency
    state: NeedState
    age_days: int
    supporters: int
    overdue: bool
    description: str
    resident_name: str
    wants_visit: bool
    contact_phone: str | None
    address: str | None


async def needs_list(
    uow: UnitOfWork, principal: Principal, *, now: datetime | None = None
) -> tuple[NeedsListRow, ...]:
    """Every open need in the principal's scope, for the chat summary and the CSV export."""
    now = _clock(now)
    async with uow:
        communities = await uow.places.communities_covered(principal, TRIAGE_ROLES)
        if not communities:
            raise PermissionDenied()
        rows, _ = await uow.needs.in_communities(
            communities,
            states=tuple(OPEN_STATES),
            overdue_before=None,
            category=None,
            urgency=None,
            offset=0,
            limit=100_000,
        )
        result = []
        for need in rows:
            community = await uow.places.community(need.community_id)
            result.append(
                NeedsListRow(
                    reference=need.reference,
                    community=Named(community.id, community.name, community.name_en)
                    if community
                    else Named(0, "?", None),
                    category=need.category,
                    urgency=need.urgency,
                    state=need.state,
                    age_days=(now - need.created_at).days,
                    supporters=await uow.needs.supporter_count(need.id),
                    overdue=need.due_at < now,
                    description=need.description,
                    resident_name=await _name(uow, need.resident_id),
                    wants_visit=need.wants_visit,
                    contact_phone=need.contact_phone,
                    address=need.address,
                )
            )
        return tuple(result)


async def area_needs(
    uow: UnitOfWork,
    principal: Principal,
    *,
    state: NeedState | None = None,
    category: NeedCategory | None = None,
    community_id: int | None = None,
    page: int = 0,
    per_page: int = PER_PAGE,
) -> Page[NeedBrief]:
    """The needs list of the communities the principal reads (open ones unless a state is
    asked for), most urgent then newest first; without the residents' names or contacts."""
    page = max(0, page)
    async with uow:
        communities = await area_of(uow, principal, AREA_READ_ROLES, community_id)
        rows, total = await uow.needs.in_communities(
            communities,
            states=(state,) if state is not None else tuple(OPEN_STATES),
            overdue_before=None,
            category=category,
            urgency=None,
            offset=page * per_page,
            limit=per_page,
        )
        items = tuple([await _brief(uow, n) for n in rows])
        return Page(items, page, per_page, total)


async def id_of_reference(uow: UnitOfWork, principal: Principal, *, reference: str) -> int:
    """A need's id from its reference, for a worker of its community; others learn nothing."""
    async with uow:
        need = await uow.needs.by_reference(" ".join(reference.split()).upper())
        if need is None:
            raise InvalidInput("need_reference", "unknown")
        community = await uow.places.community(need.community_id)
        assert community is not None
        if not principal.can_act_in(place_of(community), *TRIAGE_ROLES):
            raise InvalidInput("need_reference", "unknown")
        return need.id
