"""Alerts for workers to a WeCom group robot (企业微信群机器人) of a community or a street.

A robot is a webhook URL with a secret key in it: stored sealed with the PersonalDataCipher,
shown only by the key's last four characters, never logged. Services queue alerts (a message
id and its parameters, no personal data beyond what a workers' group may see) inside their own
transaction with `queue`; the sender (bot/channels/wecom.py) claims, renders and posts them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import InvalidInput, NotFound, PermissionDenied
from bot.domain.principal import Place, Principal
from bot.services import UnitOfWork
from bot.services.crypto import CipherError, PersonalDataCipher
from storage.models import Community, WecomAlert, WecomRobot

WEBHOOK_PATH = "/cgi-bin/webhook/send"
MAX_ATTEMPTS = 8
LEVELS = (ScopeLevel.COMMUNITY, ScopeLevel.STREET)


@dataclass(frozen=True, slots=True)
class RobotView:
    level: ScopeLevel
    place_id: int
    place: str
    key_tail: str  # the last four characters of the key: which robot, without the secret


@dataclass(frozen=True, slots=True)
class AlertJob:
    id: int
    robot_id: int
    url: str
    key_tail: str
    message: str
    params: Mapping[str, str | int]
    attempts: int


def robot_key(url: str, base: str = "https://qyapi.weixin.qq.com") -> str:
    """The key of a group robot's webhook URL, or InvalidInput saying what is wrong: https,
    the WeCom host (or the configured WECOM_API_URL), the webhook path, one `key`."""
    parts = urlsplit(url.strip())
    expected = urlsplit(base)
    if parts.scheme != "https" and not (parts.scheme == expected.scheme == "http"):
        raise InvalidInput("url", "not https")
    if parts.netloc.lower() != expected.netloc.lower():
        raise InvalidInput("url", f"not a WeCom robot address ({expected.netloc})")
    if parts.path != WEBHOOK_PATH:
        raise InvalidInput("url", f"the path must be {WEBHOOK_PATH}")
    keys = parse_qs(parts.query).get("key", [])
    if len(keys) != 1 or len(keys[0].strip()) < 8:
        raise InvalidInput("url", "no robot key (…?key=…)")
    return keys[0].strip()


def mask(key: str) -> str:
    return f"…{key[-4:]}"


async def _place(uow: UnitOfWork, level: ScopeLevel, place_id: int) -> tuple[str, Place | None]:
    """The place's name and, for a community, its parents (inside an entered unit of work)."""
    if level is ScopeLevel.COMMUNITY:
        community = await uow.places.community(place_id)
        if community is None:
            raise NotFound("community", place_id)
        parents = Place(community.id, community.street_id, community.street.district_id)
        return community.name, parents
    if level is ScopeLevel.STREET:
        street = await uow.places.street(place_id)
        if street is None:
            raise NotFound("street", place_id)
        return street.name, Place(0, street.id, street.district_id)
    raise InvalidInput("level", "a robot belongs to a community or a street")


def _may_manage(principal: Principal, level: ScopeLevel, place_id: int, parents: Place) -> bool:
    if principal.is_superadmin:
        return True
    return any(
        g.role in (Role.STREET_ADMIN, Role.DISTRICT_ADMIN)
        and g.covers_scope(level, place_id, parents)
        for g in principal.grants
    )


async def set_robot(
    uow: UnitOfWork,
    principal: Principal,
    cipher: PersonalDataCipher,
    *,
    level: ScopeLevel,
    place_id: int,
    url: str,
    base: str = "https://qyapi.weixin.qq.com",
) -> RobotView:
    """Set (or replace) the robot of a community or a street: a street or district admin over
    it, or the system."""
    key = robot_key(url, base)
    async with uow:
        name = await _managed_place(uow, principal, level, place_id)
        await _put_robot(uow, level, place_id, cipher.encrypt(url.strip()), key[-4:], principal)
        await uow.commit()
        return RobotView(level, place_id, name, key[-4:])


async def _put_robot(
    uow: UnitOfWork,
    level: ScopeLevel,
    place_id: int,
    sealed: str,
    key_tail: str,
    principal: Principal,
) -> None:
    """The place's robot row, made or replaced."""
    now = datetime.now(UTC)
    set_by = principal.person_id or None
    robot = await uow.wecom.robot(level, place_id)
    if robot is None:
        await uow.wecom.add_robot(
            WecomRobot(
                level=level,
                place_id=place_id,
                url_sealed=sealed,
                key_tail=key_tail,
                set_by=set_by,
                set_at=now,
            )
        )
    else:
        robot.url_sealed, robot.key_tail, robot.set_by = sealed, key_tail, set_by
        robot.set_at = now


async def _managed_place(
    uow: UnitOfWork, principal: Principal, level: ScopeLevel, place_id: int
) -> str:
    """The place's name, if the principal may manage its robot."""
    name, parents = await _place(uow, level, place_id)
    assert parents is not None
    if not _may_manage(principal, level, place_id, parents):
        raise PermissionDenied()
    return name


async def clear_robot(
    uow: UnitOfWork, principal: Principal, *, level: ScopeLevel, place_id: int
) -> RobotView | None:
    """Remove the robot of a place (None: there was none)."""
    async with uow:
        name = await _managed_place(uow, principal, level, place_id)
        robot = await uow.wecom.robot(level, place_id)
        if robot is None:
            return None
        view = RobotView(level, place_id, name, robot.key_tail)
        await uow.wecom.remove_robot(robot)
        await uow.commit()
        return view


async def list_robots(uow: UnitOfWork, principal: Principal | None = None) -> list[RobotView]:
    """Every robot, or those `principal` may manage."""
    async with uow:
        views = []
        for robot in await uow.wecom.robots():
            try:
                name, parents = await _place(uow, robot.level, robot.place_id)
            except NotFound:
                name, parents = "?", None
            if principal is not None and (
                parents is None or not _may_manage(principal, robot.level, robot.place_id, parents)
            ):
                continue
            views.append(RobotView(robot.level, robot.place_id, name, robot.key_tail))
        return views


async def find_place(uow: UnitOfWork, text: str) -> tuple[ScopeLevel, int]:
    """A place named as community:<id>, street:<id>, '<street>' or '<street>/<community>';
    InvalidInput("place", …) when it names no single street or community."""
    head, sep, tail = text.strip().partition(":")
    if sep and head in ("community", "street") and tail.isdigit():
        return (ScopeLevel.COMMUNITY if head == "community" else ScopeLevel.STREET), int(tail)
    names = [part.strip() for part in text.split("/") if part.strip()]
    async with uow:
        found = _named_place(await uow.places.all_communities(), names)
    if found is None:
        raise InvalidInput("place", "no single street or community of that name")
    return found


def _named_place(
    communities: Sequence[Community], names: list[str]
) -> tuple[ScopeLevel, int] | None:
    """The one street named '<street>', or the one community named '<street>/<community>'."""
    if len(names) == 1:
        streets = {c.street_id for c in communities if c.street.name == names[0]}
        if len(streets) == 1:
            return ScopeLevel.STREET, streets.pop()
    elif len(names) == 2:
        found = [c.id for c in communities if (c.street.name, c.name) == tuple(names)]
        if len(found) == 1:
            return ScopeLevel.COMMUNITY, found[0]
    return None


async def robot_for(uow: UnitOfWork, community: Community) -> int | None:
    """The robot that hears of a community: its own, else its street's."""
    robot = await uow.wecom.robot(ScopeLevel.COMMUNITY, community.id)
    if robot is None:
        robot = await uow.wecom.robot(ScopeLevel.STREET, community.street_id)
    return robot.id if robot is not None else None


async def queue(
    uow: UnitOfWork,
    community: Community,
    message: str,
    params: Mapping[str, str | int],
    *,
    now: datetime | None = None,
) -> bool:
    """Queue an alert for the robot of `community`, else of its street (inside the caller's
    entered unit of work, committed with its change). False: no robot covers it. `now` is
    the wall clock (when it may be sent), not a service's fake clock."""
    robot_id = await robot_for(uow, community)
    if robot_id is None:
        return False
    _add(uow, robot_id, message, params, now)
    return True


async def queue_street(
    uow: UnitOfWork,
    street_id: int,
    message: str,
    params: Mapping[str, str | int],
    *,
    now: datetime | None = None,
) -> bool:
    """Queue an alert for a street's own robot (an event of the whole street)."""
    robot = await uow.wecom.robot(ScopeLevel.STREET, street_id)
    if robot is None:
        return False
    _add(uow, robot.id, message, params, now)
    return True


def _add(
    uow: UnitOfWork,
    robot_id: int,
    message: str,
    params: Mapping[str, str | int],
    now: datetime | None,
) -> None:
    uow.wecom.add_alert(
        WecomAlert(
            robot_id=robot_id,
            message=message,
            params=dict(params),
            state="queued",
            attempts=0,
            not_before=now or datetime.now(UTC),
            error="",
        )
    )


async def claim(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int = 20,
) -> list[AlertJob]:
    """Claim due alerts for this process, with their robots' URLs opened."""
    async with uow:
        rows = await uow.wecom.claim(owner, now, lease, limit)
        jobs = []
        for row in rows:
            robot = await uow.wecom.robot_by_id(row.robot_id)
            job = _job(cipher, row, robot) if robot is not None else None
            if job is not None:
                jobs.append(job)
        await uow.commit()
        return jobs


def _job(cipher: PersonalDataCipher, row: WecomAlert, robot: WecomRobot) -> AlertJob | None:
    """The alert with its robot's URL opened; None (and the alert failed) when it won't open."""
    try:
        url = cipher.decrypt(robot.url_sealed)
    except CipherError:
        # SECRET_KEY or ID_KEYS changed: set the robot again (`wecom set-robot`).
        row.state, row.error = "failed", "the robot's URL does not open with this key"
        row.claimed_by = row.claimed_at = None
        return None
    return AlertJob(
        id=row.id,
        robot_id=robot.id,
        url=url,
        key_tail=robot.key_tail,
        message=row.message,
        params=dict(row.params),
        attempts=row.attempts,
    )


async def delivered(uow: UnitOfWork, alert_id: int, *, now: datetime) -> None:
    async with uow:
        row = await uow.wecom.alert(alert_id)
        if row is not None:
            row.state, row.sent_at, row.attempts = "sent", now, row.attempts + 1
            row.claimed_by = row.claimed_at = None
            await uow.commit()


async def retry_later(
    uow: UnitOfWork, alert_id: int, *, at: datetime, error: str, count: bool = True
) -> str:
    """Put an alert back for later ("queued"), or give up after MAX_ATTEMPTS ("failed");
    `count=False` for a rate limit, which is no fault of the alert."""
    async with uow:
        row = await uow.wecom.alert(alert_id)
        if row is None:
            return "gone"
        if count:
            row.attempts += 1
        row.error = error[:200]
        row.claimed_by = row.claimed_at = None
        if row.attempts >= MAX_ATTEMPTS:
            row.state = "failed"
        else:
            row.not_before = at
        await uow.commit()
        return row.state


async def failed(uow: UnitOfWork, alert_id: int, *, error: str) -> None:
    async with uow:
        row = await uow.wecom.alert(alert_id)
        if row is not None:
            row.state, row.error, row.attempts = "failed", error[:200], row.attempts + 1
            row.claimed_by = row.claimed_at = None
            await uow.commit()
