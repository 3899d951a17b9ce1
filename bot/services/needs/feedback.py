"""The resident's answer to a resolved need (反馈): solved closes it, not solved reopens it."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.errors import Conflict, InvalidInput, PermissionDenied
from bot.domain.needs import (
    REOPEN_WINDOW,
    ClosureReason,
    NeedState,
    due_at,
    reminder_at,
)
from bot.domain.principal import Place, Principal
from bot.services import match_profiles
from bot.services.needs.common import (
    NeedBrief,
    _brief,
    _checked_text,
    _clock,
    _due_hours,
    _handlers_of,
    _load,
    _move,
)
from bot.services.ports import Notice, Notifier
from storage.models import Community, Need, NeedFeedback
from storage.uow import UnitOfWork


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
        _record_answer(uow, principal, need, solved, rating, comment, now)
        if solved:
            _close_confirmed(uow, principal, need, now, comment)
        else:
            if need.resolved_at is None or now - need.resolved_at > reopen_window:
                raise Conflict("reopen_window")
            notices = await _reopen(uow, principal, need, community, place, now, comment)
        brief = await _brief(uow, need, community)
        await uow.matching.flush()
        await match_profiles.refresh(uow, (need.assignee_person_id,))  # its rating changed
        await uow.commit()
    await notifier.send(notices)
    return brief


def _record_answer(
    uow: UnitOfWork,
    principal: Principal,
    need: Need,
    solved: bool,
    rating: int | None,
    comment: str | None,
    now: datetime,
) -> None:
    uow.needs.add_feedback(
        NeedFeedback(
            need_id=need.id,
            person_id=principal.person_id,
            solved=solved,
            rating=rating,
            comment=comment,
            at=now,
        )
    )


def _close_confirmed(
    uow: UnitOfWork, principal: Principal, need: Need, now: datetime, comment: str | None
) -> None:
    _move(uow, need, principal, NeedState.CLOSED, now, "confirmed", comment)
    need.closed_at = now
    need.closure_reason = ClosureReason.CONFIRMED_SOLVED


async def _reopen(
    uow: UnitOfWork,
    principal: Principal,
    need: Need,
    community: Community,
    place: Place,
    now: datetime,
    comment: str | None,
) -> list[Notice]:
    """Not solved: the need is open again with a fresh deadline; its handlers hear why."""
    _move(uow, need, principal, NeedState.REOPENED, now, "reopened", comment)
    need.due_at = due_at(now, need.urgency, _due_hours(community))
    need.remind_at = reminder_at(now, need.due_at)
    need.reminded_at = need.escalated_at = None
    params = {"reference": need.reference, "comment": comment or "—"}
    return [
        Notice(person, "need.reopened", params, (("open", need.id),))
        for person in await _handlers_of(uow, need, place)
    ]
