"""Emergency mode (应急状态): a community worker switches a community (a street admin a whole
street) into it; new needs there are urgent, verified volunteers are mobilised with a
roll-call, those who come sign up for an emergency shift and check in against it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from bot.domain.broadcasts import (
    MAX_DESCRIPTION,
    Audience,
    AudienceKind,
    ButtonKind,
    RollCallAnswer,
    clean_text,
)
from bot.domain.enums import Channel, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.policy import EMERGENCY_COMMUNITY_ROLES, EMERGENCY_STREET_ROLES
from bot.domain.principal import Principal
from bot.domain.volunteers import SignupStatus
from bot.services import alerts, audit, broadcasts
from bot.services.places import place_of
from storage.models import Emergency, EmergencyShift, RollCall, Shift, ShiftSignup
from storage.types import utcnow
from storage.uow import UnitOfWork

SHIFT_HOURS = 24
SHIFT_CAPACITY = 500
MAX_NAMES = 30


@dataclass(frozen=True, slots=True)
class EmergencyView:
    id: int
    level: ScopeLevel
    scope_id: int
    description: str
    started_at: datetime
    ended_at: datetime | None
    community_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RollCallView:
    emergency: EmergencyView
    coming: tuple[tuple[str, bool], ...]  # (name, arrived: checked in on the emergency shift)
    cannot: tuple[str, ...]
    silent: tuple[str, ...]  # no answer yet (first MAX_NAMES)
    silent_count: int
    mobilised: int


_audit = partial(audit.step, entity="emergency")


async def _view(uow: UnitOfWork, emergency: Emergency) -> EmergencyView:
    return EmergencyView(
        id=emergency.id,
        level=emergency.level,
        scope_id=emergency.scope_id,
        description=emergency.description,
        started_at=emergency.started_at,
        ended_at=emergency.ended_at,
        community_ids=tuple(await uow.broadcasts.communities_of_emergency(emergency)),
    )


async def _require_over(
    uow: UnitOfWork, principal: Principal, level: ScopeLevel, scope_id: int
) -> list[int]:
    """The communities of the unit, if the principal may switch it; else PermissionDenied."""
    if level is ScopeLevel.COMMUNITY:
        return await _community_over(uow, principal, scope_id)
    if level is not ScopeLevel.STREET:
        raise InvalidInput("level", level.value)
    return await _street_over(uow, principal, scope_id)


async def _community_over(uow: UnitOfWork, principal: Principal, community_id: int) -> list[int]:
    roles = EMERGENCY_COMMUNITY_ROLES
    if community_id not in await uow.places.communities_covered(principal, roles):
        if await uow.places.community(community_id) is None:
            raise NotFound("community", community_id)
        raise PermissionDenied()
    return [community_id]


async def _street_over(uow: UnitOfWork, principal: Principal, street_id: int) -> list[int]:
    """A street's communities, every one of them covered by the principal."""
    street = await uow.places.street(street_id)
    if street is None:
        raise NotFound("street", street_id)
    covered = set(await uow.places.communities_covered(principal, EMERGENCY_STREET_ROLES))
    communities = [c.id for c in await uow.places.all_communities() if c.street_id == street_id]
    if not communities or not set(communities) <= covered:
        raise PermissionDenied()
    return communities


async def start(
    uow: UnitOfWork,
    principal: Principal,
    *,
    level: ScopeLevel,
    scope_id: int,
    description: str,
    texts: tuple[str, str],
    progress_to: tuple[Channel, str] | None = None,
    now: datetime | None = None,
) -> tuple[EmergencyView, broadcasts.StatusView]:
    """Switch on; `texts` (zh, en) is the mobilisation message for the volunteers."""
    now = now or utcnow()
    description = " ".join(description.split())
    if not description or len(description) > MAX_DESCRIPTION:
        raise InvalidInput("description", "length")
    async with uow:
        communities = await _require_over(uow, principal, level, scope_id)
        await _check_none_active(uow, communities)
        emergency = await _started(uow, principal, level, scope_id, description, now)
        await _open_shifts(uow, principal, emergency, communities)
        details = {"level": level.value, "scope": scope_id, "description": description}
        _audit(uow, principal, "emergency.start", emergency.id, details=details)
        await _alert_robots(uow, level, scope_id, communities, description, now)
        await uow.broadcasts.flush()
        view = await _view(uow, emergency)
        sent = await _announce(
            uow, principal, view, AudienceKind.VOLUNTEERS, texts, ButtonKind.ROLL_CALL,
            progress_to, now,
        )  # fmt: skip
        await uow.commit()
    return view, sent


async def _started(
    uow: UnitOfWork,
    principal: Principal,
    level: ScopeLevel,
    scope_id: int,
    description: str,
    now: datetime,
) -> Emergency:
    """The emergency's row (its id known)."""
    emergency = Emergency(
        level=level,
        scope_id=scope_id,
        description=description,
        started_by=principal.person_id,
        started_at=now,
    )
    uow.broadcasts.add(emergency)
    await uow.broadcasts.flush()
    return emergency


async def _check_none_active(uow: UnitOfWork, communities: Sequence[int]) -> None:
    """Locked, so two workers switching the same community on at once make one emergency."""
    await uow.broadcasts.lock_communities(communities)
    for community_id in communities:
        row = await uow.places.community(community_id)
        assert row is not None
        if await uow.broadcasts.active_for(community_id, row.street_id) is not None:
            raise Conflict("emergency_active")


async def _open_shifts(
    uow: UnitOfWork, principal: Principal, emergency: Emergency, communities: Sequence[int]
) -> None:
    """One emergency shift per community, for the volunteers who come to sign up for."""
    now = emergency.started_at
    for community_id in communities:
        shift = Shift(
            community_id=community_id,
            created_by=principal.person_id,
            title=emergency.description[:200],
            place=emergency.description[:200],
            starts_at=now,
            ends_at=now + timedelta(hours=SHIFT_HOURS),
            capacity=SHIFT_CAPACITY,
            skills=[],
            cancel_hours=0,
        )
        await uow.shifts.add(shift)
        uow.broadcasts.add(
            EmergencyShift(emergency_id=emergency.id, community_id=community_id, shift_id=shift.id)
        )


async def _alert_robots(
    uow: UnitOfWork,
    level: ScopeLevel,
    scope_id: int,
    communities: Sequence[int],
    description: str,
    now: datetime,
) -> None:
    """The workers' WeCom group robots hear of the switch: a street's own robot once for a
    street-wide emergency, else each community's (or its street's) robot once."""
    if level is ScopeLevel.STREET and await _alert_street_robot(uow, scope_id, description):
        return
    robots_told: set[int] = set()
    for community_id in communities:
        row = await uow.places.community(community_id)
        assert row is not None
        robot = await alerts.robot_for(uow, row)
        if robot is None or robot in robots_told:
            continue
        robots_told.add(robot)
        params = {"place": row.name, "place_en": row.name_en or "", "description": description}
        await alerts.queue(uow, row, "emergency.started", params)


async def _alert_street_robot(uow: UnitOfWork, street_id: int, description: str) -> bool:
    """The street's own robot, if it has one (False: it has none)."""
    street = await uow.places.street(street_id)
    if street is None:
        return False
    params = {"place": street.name, "place_en": street.name_en or "", "description": description}
    return await alerts.queue_street(uow, street_id, "emergency.started", params)


async def _announce(
    uow: UnitOfWork,
    principal: Principal,
    view: EmergencyView,
    kind: AudienceKind,
    texts: tuple[str, str],
    button: ButtonKind,
    progress_to: tuple[Channel, str] | None,
    now: datetime,
) -> broadcasts.StatusView:
    """The urgent broadcast of a switch, in the same transaction: there is no emergency
    without its mobilisation, no end without its announcement."""
    draft = broadcasts.Draft(
        audience=Audience(kind, view.community_ids),
        text_zh=clean_text(texts[0]),
        text_en=clean_text(texts[1]),
        button=button,
        urgent=True,
        emergency_id=view.id,
    )
    return await broadcasts.add_checked(uow, principal, draft, progress_to=progress_to, now=now)


async def end(
    uow: UnitOfWork,
    principal: Principal,
    *,
    emergency_id: int,
    texts: tuple[str, str],
    now: datetime | None = None,
) -> EmergencyView:
    """Switch off (audited) and tell residents and volunteers of the communities."""
    now = now or utcnow()
    async with uow:
        emergency = await uow.broadcasts.emergency(emergency_id, lock=True)
        if emergency is None:
            raise NotFound("emergency", emergency_id)
        await _require_over(uow, principal, emergency.level, emergency.scope_id)
        if emergency.ended_at is not None:
            raise Conflict("emergency_ended")
        emergency.ended_at, emergency.ended_by = now, principal.person_id
        await _end_shifts(uow, emergency, now)
        _audit(uow, principal, "emergency.end", emergency.id)
        await uow.broadcasts.flush()
        view = await _view(uow, emergency)
        await _announce(
            uow, principal, view, AudienceKind.EVERYONE, texts, ButtonKind.NONE, None, now
        )
        await uow.commit()
    return view


async def _end_shifts(uow: UnitOfWork, emergency: Emergency, now: datetime) -> None:
    """The emergency shifts end now (a minute after their start at the earliest)."""
    for shift_id in (await uow.broadcasts.emergency_shifts(emergency.id)).values():
        shift = await uow.shifts.get(shift_id, lock=True)
        if shift is not None and shift.ends_at > now:
            shift.ends_at = max(now, shift.starts_at + timedelta(minutes=1))


async def in_scope(uow: UnitOfWork, principal: Principal) -> list[EmergencyView]:
    """Emergencies going on where this person may switch them off or see the roll-call."""
    async with uow:
        covered = set(await uow.places.communities_covered(principal, EMERGENCY_COMMUNITY_ROLES))
        views = [await _view(uow, e) for e in await uow.broadcasts.emergencies_active()]
        return [v for v in views if set(v.community_ids) & covered]


async def active_for(uow: UnitOfWork, *, community_id: int) -> EmergencyView | None:
    """The emergency a community is in, if any (for the header on every reply)."""
    async with uow:
        community = await uow.places.community(community_id)
        if community is None:
            return None
        found = await uow.broadcasts.active_for(community.id, place_of(community).street_id)
        return await _view(uow, found) if found is not None else None


# The header's lookup, per process: (time.monotonic() until when, the description or None).
ACTIVE_SECONDS = 10.0
_active: dict[int, tuple[float, str | None]] = {}
_looking: dict[int, asyncio.Future[str | None]] = {}


def forget_active() -> None:
    """Emergency mode changed in this process: look again."""
    _active.clear()


async def active_description(uow: UnitOfWork, *, community_id: int) -> str | None:
    """What the header says for a community (None: no emergency), cached for ACTIVE_SECONDS.
    One lookup per community at a time: when the entry is old, the updates that arrive
    meanwhile keep the description they had, or wait for that same lookup, rather than all
    taking a database connection at once."""
    found = _active.get(community_id)
    if found is not None and found[0] >= time.monotonic():
        return found[1]
    pending = _looking.get(community_id)
    if pending is not None:
        return found[1] if found is not None else await asyncio.shield(pending)
    return await _look_up(uow, community_id)


async def _look_up(uow: UnitOfWork, community_id: int) -> str | None:
    future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
    future.add_done_callback(lambda done: done.cancelled() or done.exception())
    _looking[community_id] = future
    try:
        view = await active_for(uow, community_id=community_id)
        description = view.description if view else None
        _active[community_id] = (time.monotonic() + ACTIVE_SECONDS, description)
        future.set_result(description)
        return description
    except BaseException as error:
        future.set_exception(error)
        raise
    finally:
        _looking.pop(community_id, None)


async def answer(
    uow: UnitOfWork,
    principal: Principal,
    *,
    emergency_id: int,
    reply: RollCallAnswer,
    now: datetime | None = None,
) -> int | None:
    """A mobilised volunteer answers; coming signs them up for the emergency shift of a
    community they serve (returned, to check in against). They may change their answer."""
    now = now or utcnow()
    async with uow:
        emergency = await _answerable(uow, principal, emergency_id)
        found = await uow.broadcasts.roll_call(emergency.id, principal.person_id)
        if found is None:
            uow.broadcasts.add(
                RollCall(
                    emergency_id=emergency.id,
                    person_id=principal.person_id,
                    answer=reply,
                    answered_at=now,
                )
            )
        else:
            found.answer, found.answered_at = reply, now
        shift_id = await _sign_up(uow, principal, emergency, reply, now)
        _audit(uow, principal, f"emergency.{reply.value}", emergency.id)
        await uow.commit()
        return shift_id


async def _answerable(uow: UnitOfWork, principal: Principal, emergency_id: int) -> Emergency:
    """The emergency, while it lasts, if the principal was mobilised for it."""
    emergency = await uow.broadcasts.emergency(emergency_id)
    if emergency is None:
        raise NotFound("emergency", emergency_id)
    if principal.person_id not in await uow.broadcasts.mobilised(emergency.id):
        raise PermissionDenied()
    if emergency.ended_at is not None:
        raise Conflict("emergency_ended")
    return emergency


async def _sign_up(
    uow: UnitOfWork,
    principal: Principal,
    emergency: Emergency,
    reply: RollCallAnswer,
    now: datetime,
) -> int | None:
    shifts = await uow.broadcasts.emergency_shifts(emergency.id)
    volunteer = await uow.volunteers.of_person(principal.person_id)
    served = await uow.volunteers.communities_of(volunteer.id) if volunteer else []
    shift_id = next((shifts[c] for c in served if c in shifts), None)
    if shift_id is None:
        return None
    signup = await uow.shifts.signup(shift_id, principal.person_id)
    status = SignupStatus.CONFIRMED if reply is RollCallAnswer.COMING else SignupStatus.CANCELLED
    if signup is None and status is SignupStatus.CONFIRMED:
        uow.shifts.add_signup(
            ShiftSignup(
                shift_id=shift_id, person_id=principal.person_id, status=status, created_at=now
            )
        )
    elif signup is not None:
        signup.status = status
        signup.cancelled_at = now if status is SignupStatus.CANCELLED else None
    await uow.broadcasts.flush()
    return shift_id if status is SignupStatus.CONFIRMED else None


async def roll_call(uow: UnitOfWork, principal: Principal, *, emergency_id: int) -> RollCallView:
    """Who answered what, who arrived (checked in on the emergency shift), who is silent."""
    async with uow:
        emergency = await uow.broadcasts.emergency(emergency_id)
        if emergency is None:
            raise NotFound("emergency", emergency_id)
        covered = set(await uow.places.communities_covered(principal, EMERGENCY_COMMUNITY_ROLES))
        view = await _view(uow, emergency)
        if not set(view.community_ids) <= covered:  # names of the whole area: its workers
            raise PermissionDenied()
        answers = {r.person_id: r.answer for r in await uow.broadcasts.roll_calls(emergency.id)}
        mobilised = await uow.broadcasts.mobilised(emergency.id)
        shifts = list((await uow.broadcasts.emergency_shifts(emergency.id)).values())
        arrived = await uow.broadcasts.checked_in(shifts)
        names = await uow.broadcasts.names([*answers, *mobilised])
        return _roll_call_view(view, answers, mobilised, arrived, names)


def _roll_call_view(
    view: EmergencyView,
    answers: dict[int, RollCallAnswer],
    mobilised: Sequence[int],
    arrived: Collection[int],
    names: Mapping[int, str],
) -> RollCallView:
    silent = [p for p in mobilised if p not in answers]
    return RollCallView(
        emergency=view,
        coming=tuple(
            (names.get(p, "?"), p in arrived)
            for p, a in answers.items()
            if a is RollCallAnswer.COMING
        ),
        cannot=tuple(names.get(p, "?") for p, a in answers.items() if a is RollCallAnswer.CANNOT),
        silent=tuple(names.get(p, "?") for p in silent[:MAX_NAMES]),
        silent_count=len(silent),
        mobilised=len(mobilised),
    )
