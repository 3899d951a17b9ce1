"""Spot checks (抽查) of confirmed service records: a seeded random draw in one community and
period (the seed is stored, so anyone can repeat the draw), each drawn record marked passed or
failed with a note; a failed record is reversed in the time bank and the volunteer is told why."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.attendance import MAX_SAMPLE, RecordStatus, SpotResult, draw_sample
from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.domain.policy import TRIAGE_ROLES
from bot.domain.principal import Principal
from bot.domain.timebank import hours_text
from bot.services import match_profiles, timebank
from bot.services.places import require_in
from bot.services.ports import Notice, Notifier
from storage.models import ServiceRecord, SpotCheck, SpotCheckItem
from storage.types import utcnow
from storage.uow import UnitOfWork

MAX_NOTE = 500


@dataclass(frozen=True, slots=True)
class SpotItemView:
    id: int
    record_id: int
    volunteer_name: str
    volunteer_number: str
    content: str
    day: date
    minutes: int
    result: SpotResult
    note: str


@dataclass(frozen=True, slots=True)
class SpotCheckView:
    id: int
    community_id: int
    period_start: date
    period_end: date
    population: int
    seed: int
    items: tuple[SpotItemView, ...]


async def _authorised(uow: UnitOfWork, principal: Principal, community_id: int) -> None:
    await require_in(uow, principal, community_id, TRIAGE_ROLES)


async def _view(uow: UnitOfWork, spot: SpotCheck, tz: ZoneInfo) -> SpotCheckView:
    items = []
    for item, record in await uow.spot_checks.items(spot.id):
        volunteer = await uow.volunteers.get(record.volunteer_id)
        assert volunteer is not None
        items.append(
            SpotItemView(
                id=item.id,
                record_id=record.id,
                volunteer_name=volunteer.real_name,
                volunteer_number=volunteer.number or "",
                content=record.content,
                day=record.checked_in_at.astimezone(tz).date(),
                minutes=record.minutes,
                result=item.result,
                note=item.note or "",
            )
        )
    return SpotCheckView(
        spot.id,
        spot.community_id,
        spot.period_start,
        spot.period_end,
        spot.population,
        spot.seed,
        tuple(items),
    )


async def draw(
    uow: UnitOfWork,
    principal: Principal,
    *,
    community_id: int,
    period_start: date,
    period_end: date,
    size: int,
    tz: ZoneInfo,
    seed: int | None = None,
) -> SpotCheckView:
    _check_draw(size, period_start, period_end)
    seed = secrets.randbits(62) if seed is None else seed
    async with uow:
        await _authorised(uow, principal, community_id)
        population = await _population(uow, community_id, period_start, period_end, tz)
        sample = draw_sample(population, seed, size)
        spot = await uow.spot_checks.add(
            SpotCheck(
                community_id=community_id,
                period_start=period_start,
                period_end=period_end,
                sample_size=size,
                population=len(population),
                seed=seed,
                drawn_by=principal.person_id,
            ),
            sample,
        )
        uow.audit.record(
            actor_id=principal.person_id,
            action="spot_check.draw",
            entity="spot_check",
            entity_id=spot.id,
            details={"seed": seed, "population": len(population), "sample": sample},
        )
        view = await _view(uow, spot, tz)
        await uow.commit()
        return view


def _check_draw(size: int, period_start: date, period_end: date) -> None:
    if not 1 <= size <= MAX_SAMPLE:
        raise InvalidInput("sample_size", "range")
    if period_start > period_end:
        raise InvalidInput("period", "range")


async def _population(
    uow: UnitOfWork, community_id: int, first: date, last: date, tz: ZoneInfo
) -> list[int]:
    """The community's confirmed records from the first to the last local day, by id."""
    start = datetime.combine(first, time(), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=tz)
    population = await uow.records.confirmed_ids_in(community_id, start, end)
    if not population:
        raise Conflict("nothing_to_check")
    return population


async def get(
    uow: UnitOfWork, principal: Principal, *, spot_check_id: int, tz: ZoneInfo
) -> SpotCheckView:
    async with uow:
        spot = await uow.spot_checks.get(spot_check_id)
        if spot is None:
            raise NotFound("spot_check", spot_check_id)
        await _authorised(uow, principal, spot.community_id)
        return await _view(uow, spot, tz)


async def mark(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    item_id: int,
    passed: bool,
    note: str = "",
    tz: ZoneInfo,
    now: datetime | None = None,
) -> SpotCheckView:
    now = now or utcnow()
    note = " ".join(note.split())[:MAX_NOTE]
    if not passed and not note:
        raise InvalidInput("reason", "empty")
    notice: Notice | None = None
    async with uow:
        item, spot = await _pending_item(uow, principal, item_id)
        record = await uow.records.get(item.record_id, lock=True)
        assert record is not None
        item.result = SpotResult.PASSED if passed else SpotResult.FAILED
        item.note, item.decided_by, item.decided_at = note or None, principal.person_id, now
        if not passed and record.status is RecordStatus.CONFIRMED:
            notice = await _fail(uow, principal, spot, record, note, tz, now)
        uow.audit.record(
            actor_id=principal.person_id,
            action=f"spot_check.{item.result.value}",
            entity="service_record",
            entity_id=record.id,
            details={"spot_check": spot.id, "note": note},
        )
        await uow.spot_checks.flush()
        view = await _view(uow, spot, tz)
        await match_profiles.refresh(uow, (record.person_id,))
        await uow.commit()
    if notice is not None:
        await notifier.send([notice])
    return view


async def _pending_item(
    uow: UnitOfWork, principal: Principal, item_id: int
) -> tuple[SpotCheckItem, SpotCheck]:
    """The sampled record's item (locked) and its spot check, if not marked yet."""
    item = await uow.spot_checks.item(item_id, lock=True)
    if item is None:
        raise NotFound("spot_check_item", item_id)
    spot = await uow.spot_checks.get(item.spot_check_id)
    assert spot is not None
    await _authorised(uow, principal, spot.community_id)
    if item.result is not SpotResult.PENDING:
        raise Conflict("already_marked")
    return item, spot


async def _fail(
    uow: UnitOfWork,
    principal: Principal,
    spot: SpotCheck,
    record: ServiceRecord,
    note: str,
    tz: ZoneInfo,
    now: datetime,
) -> Notice:
    """A confirmed record that failed the check: its credit reversed; the volunteer is told."""
    memo = f"spot check {spot.id}: {note}"
    await timebank.reverse_record(uow, record, now, principal.person_id, memo)
    record.status = RecordStatus.FAILED
    params: dict[str, str | int] = {
        "title": record.content,
        "day": record.checked_in_at.astimezone(tz).date().isoformat(),
        "hours": hours_text(record.minutes),
        "note": note,
    }
    return Notice(record.person_id, "record.failed_check", params)
