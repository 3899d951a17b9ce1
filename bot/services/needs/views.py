"""Reading needs: a resident's own, one need in detail, the workers' queue and tasks, and the
needs list (需求清单) of an area."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.enums import ORGANISATION_ROLES
from bot.domain.errors import InvalidInput, PermissionDenied
from bot.domain.needs import (
    DEADLINE_STATES,
    OPEN_STATES,
    NeedCategory,
    NeedState,
    Urgency,
)
from bot.domain.policy import AREA_READ_ROLES, TRIAGE_ROLES
from bot.domain.principal import Principal
from bot.services.needs.common import (
    PER_PAGE,
    EventView,
    NeedBrief,
    NeedDetail,
    _brief,
    _briefs,
    _clock,
    _contact,
    _is_assignee,
    _load,
    _name,
)
from bot.services.places import area_of, place_of
from bot.services.views import Named, Page
from storage.models import Need
from storage.uow import UnitOfWork


async def my_needs(uow: UnitOfWork, principal: Principal, *, page: int = 0) -> Page[NeedBrief]:
    page = max(0, page)
    async with uow.reading():
        rows, total = await uow.needs.of_resident(principal.person_id, page * PER_PAGE, PER_PAGE)
        return Page(tuple(await _briefs(uow, rows)), page, PER_PAGE, total)


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
        return NeedDetail(
            brief=await _brief(uow, need, community),
            beneficiary=need.beneficiary,
            photo=None if supporter_only else need.photo,
            latitude=need.latitude if internal or is_resident else None,
            longitude=need.longitude if internal or is_resident else None,
            referred_to=need.referred_to,
            resolution=need.resolution,
            closure_reason=need.closure_reason,
            events=await _events_seen(uow, need, internal=internal, supporter_only=supporter_only),
            can_triage=can_triage,
            is_assignee=is_assignee,
            is_resident=is_resident,
            # Other residents (supporters) never see the resident's phone or address.
            contact=await _contact(uow, need) if internal or is_resident else None,
        )


async def _events_seen(
    uow: UnitOfWork, need: Need, *, internal: bool, supporter_only: bool
) -> tuple[EventView, ...]:
    """The history as this viewer may see it: internal events and who acted only for the
    workers and the assignee; for a supporter only the changes of state, without texts."""
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
    return tuple(events)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    group: str = "open"  # open | new | overdue | all
    category: NeedCategory | None = None
    urgency: Urgency | None = None


# The states each group of the queue lists (None: every state).
QUEUE_GROUPS: dict[str, Sequence[NeedState] | None] = {
    "open": tuple(OPEN_STATES),
    "new": (NeedState.NEW,),
    "overdue": tuple(DEADLINE_STATES),
    "all": None,
}


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
        rows, total = await uow.needs.in_communities(
            communities,
            states=QUEUE_GROUPS[filters.group],
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
    organisations = _organisations_of(principal)
    async with uow:
        rows, total = await uow.needs.assigned_to(
            principal.person_id, organisations, page * PER_PAGE, PER_PAGE
        )
        items = tuple([await _brief(uow, n, with_resident=True) for n in rows])
        return Page(items, page, PER_PAGE, total)


# ---------------------------------------------------------------- triage


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


def _organisations_of(principal: Principal) -> list[int]:
    """The organisations the principal acts for (their needs are theirs to handle too)."""
    return [
        g.organisation_id
        for g in principal.grants
        if g.role in ORGANISATION_ROLES and g.organisation_id is not None
    ]


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
        return tuple([await _list_row(uow, need, now) for need in rows])


async def _list_row(uow: UnitOfWork, need: Need, now: datetime) -> NeedsListRow:
    community = await uow.places.community(need.community_id)
    return NeedsListRow(
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
