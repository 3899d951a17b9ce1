"""The assignee's steps: take a need on, hand it back, resolve it."""

from __future__ import annotations

from datetime import datetime

from bot.domain.enums import Role
from bot.domain.errors import Conflict
from bot.domain.needs import (
    NeedState,
)
from bot.domain.principal import Place, Principal
from bot.services.needs.common import (
    ASSIGNEE,
    HANDLER,
    NeedBrief,
    _act,
    _checked_text,
    _clock,
    _move,
    _tell,
)
from bot.services.ports import Notice, Notifier
from storage.models import Community, Need
from storage.uow import UnitOfWork


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
        text = reason or None
        _move(uow, need, principal, NeedState.ACCEPTED, now, "handed_back", text, public=False)
        need.assignee_person_id = need.assignee_organisation_id = None
        return await _tell_workers(uow, need, place, reason)

    return await _act(uow, notifier, principal, need_id, ASSIGNEE, change)


async def _tell_workers(uow: UnitOfWork, need: Need, place: Place, reason: str) -> list[Notice]:
    """The community's workers hear that the need is back with them, and why."""
    params = {"reference": need.reference, "reason": reason or "—"}
    return [
        Notice(w, "need.handed_back", params, (("open", need.id),))
        for w in await uow.grants.people_covering(place, (Role.COMMUNITY_WORKER,))
    ]


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
        asked = (("feedback", need.id),)
        return await _tell(
            uow, need, "need.resolved", resident_actions=asked, resolution=resolution
        )

    return await _act(uow, notifier, principal, need_id, HANDLER, change)


# ---------------------------------------------------------------- deadlines
