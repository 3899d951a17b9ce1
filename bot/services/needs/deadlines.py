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
