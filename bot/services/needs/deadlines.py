"""The needs' clock: reminders, escalations to the street, closing unconfirmed needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.enums import Role
from bot.domain.needs import (
    DEADLINE_STATES,
    REOPEN_WINDOW,
    ClosureReason,
    NeedState,
)
from bot.services import alerts
from bot.services.needs.common import (
    _alert_params,
    _clock,
    _event,
    _handlers_of,
)
from bot.services.places import place_of
from bot.services.ports import Notice, Notifier
from storage.models import Community
from storage.uow import UnitOfWork


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
        reminded = await _remind(uow, now, notices)
        escalated = await _escalate(uow, now, notices)
        closed = await _close_unconfirmed(uow, now - reopen_window, now)
        await uow.commit()
    await notifier.send(notices)
    return DeadlineRun(reminded, escalated, closed)


async def _remind(uow: UnitOfWork, now: datetime, notices: list[Notice]) -> int:
    """The handlers of needs whose reminder time has come hear of the deadline."""
    reminded = 0
    for need in await uow.needs.due_for_reminder(now, DEADLINE_STATES):
        community = await uow.places.community(need.community_id)
        assert community is not None
        params = {"reference": need.reference, "due": need.due_at.isoformat()}
        for person in await _handlers_of(uow, need, place_of(community)):
            notices.append(Notice(person, "need.reminder", params, (("open", need.id),)))
        need.reminded_at = now
        reminded += 1
    return reminded


async def _escalate(uow: UnitOfWork, now: datetime, notices: list[Notice]) -> int:
    """Overdue needs go up to the street (and its workers' group), once each."""
    escalated = 0
    for need in await uow.needs.overdue_unescalated(now, DEADLINE_STATES):
        community = await uow.places.community(need.community_id)
        assert community is not None
        params: dict[str, str | int] = {
            "reference": need.reference,
            "community": community.name,
            "community_en": community.name_en or "",
            "due": need.due_at.isoformat(),
        }
        for person in await _escalation_contacts(uow, community):
            notices.append(Notice(person, "need.escalated", params, (("open", need.id),)))
        await alerts.queue(
            uow,
            community,
            "need.escalated",
            {**_alert_params(need, community), "due": need.due_at.isoformat()},
        )
        _event(uow, need, None, "escalated", now, public=False)
        need.escalated_at = now
        escalated += 1
    return escalated


async def _close_unconfirmed(uow: UnitOfWork, resolved_before: datetime, now: datetime) -> int:
    """Resolved needs the resident never answered for are closed as not confirmed."""
    closed = 0
    for need in await uow.needs.resolved_before(resolved_before):
        _event(uow, need, None, "closed_unconfirmed", now, to_state=NeedState.CLOSED)
        need.state = NeedState.CLOSED
        need.closed_at = now
        need.closure_reason = ClosureReason.NOT_CONFIRMED
        closed += 1
    return closed


async def _escalation_contacts(uow: UnitOfWork, community: Community) -> list[int]:
    """The street admins; where a street has none yet, the district admins, so that an
    escalation is never marked done with nobody told."""
    street = await uow.grants.people_with_role_on_street(community.street_id, Role.STREET_ADMIN)
    if street:
        return street
    return await uow.grants.people_covering(place_of(community), (Role.DISTRICT_ADMIN,))


# ---------------------------------------------------------------- the needs list (需求清单)
