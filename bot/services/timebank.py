"""The time bank and points in storage: confirmed records are credited, failed or corrected ones
reversed by compensating entries; balances are sums (bot/domain/timebank.py has the rules).

Hours, points and the legal service record are three things: the record says what happened,
the ledger what the volunteer may give or spend, points what they may trade for rewards.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.contacts import shown_name
from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.domain.points import PointsKind, points_for
from bot.domain.principal import Principal
from bot.domain.timebank import (
    MAX_MEMO_LENGTH,
    MAX_TRANSFER_MINUTES,
    Ledger,
    TransactionKind,
    TransferKind,
    TransferStatus,
    exchange,
    gift,
    hours_text,
    reversal,
    service_account,
    service_credit,
    volunteer_account,
)
from bot.services.ports import Notice, Notifier
from storage.models import PointsEntry, ServiceRecord, TimeTransfer
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


# ---------------------------------------------------------------- gifts and exchanges

TRANSFER_VALID = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class TransferView:
    token: str
    kind: TransferKind
    minutes: int
    memo: str
    proposer_name: str
    status: TransferStatus
    expires_at: datetime


async def _transfer_view(uow: UnitOfWork, transfer: TimeTransfer) -> TransferView:
    proposer = await uow.people.get(transfer.proposed_by)
    return TransferView(
        transfer.token,
        transfer.kind,
        transfer.minutes,
        transfer.memo,
        shown_name(proposer.display_name, proposer.id) if proposer else "",
        transfer.status,
        transfer.expires_at,
    )


async def propose(
    uow: UnitOfWork,
    principal: Principal,
    *,
    kind: TransferKind,
    minutes: int,
    memo: str,
    now: datetime | None = None,
) -> TransferView:
    """A gift (the proposer gives) or an exchange (the proposer served and asks to be paid).
    Nothing moves until the other person accepts through the link."""
    now = now or utcnow()
    memo = _checked_offer(kind, minutes, memo)
    async with uow:
        if kind is TransferKind.GIFT:
            await _check_can_give(uow, principal.person_id, minutes)
        transfer = await uow.transfers.add(
            TimeTransfer(
                kind=kind,
                token=secrets.token_urlsafe(12),
                proposed_by=principal.person_id,
                minutes=minutes,
                memo=memo,
                status=TransferStatus.OPEN,
                created_at=now,
                expires_at=now + TRANSFER_VALID,
            )
        )
        view = await _transfer_view(uow, transfer)
        await uow.commit()
        return view


def _checked_offer(kind: TransferKind, minutes: int, memo: str) -> str:
    """The memo, tidied, once the minutes are in range (an exchange says what service)."""
    memo = " ".join(memo.split())[:MAX_MEMO_LENGTH]
    if not 1 <= minutes <= MAX_TRANSFER_MINUTES:
        raise InvalidInput("minutes", "range")
    if kind is TransferKind.EXCHANGE and not memo:
        raise InvalidInput("reason", "empty")  # what service was given
    return memo


async def _check_can_give(uow: UnitOfWork, person_id: int, minutes: int) -> None:
    if await uow.ledger.balance(volunteer_account(person_id)) < minutes:
        raise Conflict("insufficient_balance")


async def transfer(uow: UnitOfWork, *, token: str, now: datetime | None = None) -> TransferView:
    now = now or utcnow()
    async with uow:
        found = await uow.transfers.by_token(token)
        if found is None or (found.status is TransferStatus.OPEN and found.expires_at <= now):
            raise NotFound("transfer", token)
        return await _transfer_view(uow, found)


async def decide(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    token: str,
    accept: bool,
    now: datetime | None = None,
) -> TransferView:
    """The other person accepts (the minutes move, checked against the payer's balance under a
    row lock) or declines. The proposer cannot accept their own."""
    now = now or utcnow()
    async with uow:
        found = await _open_transfer(uow, principal, token, now)
        found.decided_at = now
        if not accept:
            found.status = TransferStatus.DECLINED
        else:
            await _post_transfer(uow, found, principal.person_id, now)
        uow.audit.record(
            actor_id=principal.person_id,
            action=f"timebank.{found.kind.value}.{found.status.value}",
            entity="time_transfer",
            entity_id=found.id,
            details={"minutes": found.minutes, "proposed_by": found.proposed_by},
        )
        view = await _transfer_view(uow, found)
        proposer = found.proposed_by
        await uow.commit()
    params: dict[str, str | int] = {"hours": hours_text(view.minutes), "memo": view.memo or "-"}
    message = "timebank.accepted" if accept else "timebank.declined"
    await notifier.send([Notice(proposer, message, params)])
    return view


async def _open_transfer(
    uow: UnitOfWork, principal: Principal, token: str, now: datetime
) -> TimeTransfer:
    """The transfer (locked), open and not expired, proposed by someone else."""
    found = await uow.transfers.by_token(token, lock=True)
    if found is None or (found.status is TransferStatus.OPEN and found.expires_at <= now):
        raise NotFound("transfer", token)
    if found.status is not TransferStatus.OPEN:
        raise Conflict("transfer_decided")
    if found.proposed_by == principal.person_id:
        raise Conflict("own_transfer")
    return found


async def _post_transfer(
    uow: UnitOfWork, found: TimeTransfer, acceptor: int, now: datetime
) -> None:
    if found.kind is TransferKind.GIFT:
        payer, receiver = found.proposed_by, acceptor
    else:
        payer, receiver = acceptor, found.proposed_by
    await uow.transfers.lock_person(payer)
    if await uow.ledger.balance(volunteer_account(payer)) < found.minutes:
        raise Conflict("insufficient_balance")
    if found.kind is TransferKind.GIFT:
        tx = gift(payer, receiver, found.minutes, now, memo=found.memo)
    else:
        tx = exchange(payer, receiver, found.minutes, now, True, True, memo=found.memo)
    await uow.ledger.add(tx, created_by=acceptor, reverses=None)
    found.status, found.accepted_by, found.tx_id = TransferStatus.ACCEPTED, acceptor, tx.id
