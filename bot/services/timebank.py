"""The time bank and points in storage: confirmed records are credited, failed or corrected ones
reversed by compensating entries; balances are sums (bot/domain/timebank.py has the rules).

Hours, points and the legal service record are three things: the record says what happened,
the ledger what the volunteer may give or spend, points what they may trade for rewards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.errors import Conflict
from bot.domain.points import PointsKind, points_for
from bot.domain.principal import Principal
from bot.domain.timebank import (
    Ledger,
    TransactionKind,
    reversal,
    service_account,
    service_credit,
    volunteer_account,
)
from storage.models import PointsEntry, ServiceRecord
from storage.types import utcnow
from storage.uow import UnitOfWork

LINES_PER_PAGE = 8


def _reference(record: ServiceRecord) -> str:
    return f"record:{record.id}"


async def credit_record(
    uow: UnitOfWork, record: ServiceRecord, at: datetime, actor_id: int, points_per_hour: int
) -> None:
    """Credit a confirmed record (the caller holds its row lock): minutes and points."""
    if record.credit_tx is not None:
        raise Conflict("already_credited")
    if record.minutes <= 0:
        return  # confirmed as "did not serve": nothing to credit
    tx = service_credit(
        record.id,
        record.person_id,
        service_account(record.community_id),
        record.minutes,
        at,
        memo=record.content,
    )
    await uow.ledger.add(tx, created_by=actor_id, reverses=None)
    record.credit_tx = tx.id
    points = points_for(record.minutes, points_per_hour)
    if points:
        uow.points.add(
            PointsEntry(
                person_id=record.person_id,
                points=points,
                kind=PointsKind.EARNED,
                reference=_reference(record),
                created_at=at,
            )
        )


async def reverse_record(
    uow: UnitOfWork, record: ServiceRecord, at: datetime, actor_id: int, memo: str
) -> None:
    """Compensate the record's credit (minutes and points); history stays as it was."""
    if record.credit_tx is not None:
        original = await uow.ledger.get(record.credit_tx)
        if original is None:
            raise Conflict("credit_missing")
        await uow.ledger.add(
            reversal(original, at, memo), created_by=actor_id, reverses=original.id
        )
        record.credit_tx = None
    earned = await uow.points.of_reference(record.person_id, _reference(record))
    if earned:
        uow.points.add(
            PointsEntry(
                person_id=record.person_id,
                points=-earned,
                kind=PointsKind.REVERSED,
                reference=_reference(record),
                created_at=at,
            )
        )


@dataclass(frozen=True, slots=True)
class LedgerLine:
    at: datetime
    kind: TransactionKind
    minutes: int
    memo: str


@dataclass(frozen=True, slots=True)
class HoursSummary:
    confirmed_minutes: int  # from the service records: what certificates show
    year_minutes: int
    balance_minutes: int  # from the time-bank ledger: what can be given or spent
    points: int
    lines: tuple[LedgerLine, ...]
    page: int
    has_next: bool


async def summary(
    uow: UnitOfWork,
    principal: Principal,
    *,
    page: int = 0,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> HoursSummary:
    now = (now or utcnow()).astimezone(tz)
    year_start = now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    account = volunteer_account(principal.person_id)
    page = max(0, page)
    async with uow:
        rows, total = await uow.ledger.lines_of(account, page * LINES_PER_PAGE, LINES_PER_PAGE)
        return HoursSummary(
            confirmed_minutes=await uow.records.confirmed_minutes(principal.person_id),
            year_minutes=await uow.records.confirmed_minutes(principal.person_id, year_start),
            balance_minutes=await uow.ledger.balance(account),
            points=await uow.points.balance(principal.person_id),
            lines=tuple(
                LedgerLine(tx.created_at, tx.kind, minutes, tx.memo) for tx, minutes in rows
            ),
            page=page,
            has_next=(page + 1) * LINES_PER_PAGE < total,
        )


async def audit_journal(uow: UnitOfWork) -> Ledger:
    """Replay the whole stored journal through the domain rules (raises if any row breaks
    them) and return the ledger, whose balances must equal the stored sums."""
    async with uow:
        return Ledger(await uow.ledger.all_transactions())
