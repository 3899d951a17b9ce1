"""Repositories of the volunteer's record side: attendance and service records, the time-bank
ledger, points and rewards, certificates and spot checks. (The rest is in repositories.py.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.attendance import (
    AWAITING_ORGANISER,
    CHECK_OUT_GRACE,
    CorrectionStatus,
    RecordStatus,
    SpotResult,
)
from bot.domain.points import RedemptionStatus
from bot.domain.timebank import Account, Entry, Transaction
from storage.models import (
    Certificate,
    LedgerEntry,
    LedgerTransaction,
    Person,
    PointsEntry,
    RecordCorrection,
    Redemption,
    Reward,
    ServiceRecord,
    Shift,
    SpotCheck,
    SpotCheckItem,
    TimeTransfer,
)
from storage.repositories.paging import _page


class RecordsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        """Send the pending changes, so that the next read in this transaction sees them."""
        await self.session.flush()

    async def add(self, record: ServiceRecord) -> ServiceRecord:
        self.session.add(record)
        await self.session.flush()
        return record

    async def get(self, record_id: int, *, lock: bool = False) -> ServiceRecord | None:
        query = select(ServiceRecord).where(ServiceRecord.id == record_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def of_shift(self, shift_id: int, person_id: int) -> ServiceRecord | None:
        query = select(ServiceRecord).where(
            ServiceRecord.shift_id == shift_id, ServiceRecord.person_id == person_id
        )
        return (await self.session.scalars(query)).one_or_none()

    async def awaiting_in(
        self, communities: Sequence[int], offset: int, limit: int
    ) -> tuple[Sequence[ServiceRecord], int]:
        query = (
            select(ServiceRecord)
            .where(
                ServiceRecord.community_id.in_(communities),
                ServiceRecord.status.in_(AWAITING_ORGANISER),
            )
            .order_by(ServiceRecord.checked_in_at, ServiceRecord.id)
        )
        return await _page(self.session, query, offset, limit)

    async def forgotten(self, now: datetime) -> Sequence[tuple[ServiceRecord, Shift]]:
        """Still checked in after the check-out grace: rows claimed, skipping locked ones."""
        query = (
            select(ServiceRecord, Shift)
            .join(Shift, Shift.id == ServiceRecord.shift_id)
            .where(
                ServiceRecord.status == RecordStatus.CHECKED_IN,
                Shift.ends_at <= now - CHECK_OUT_GRACE,
            )
            .with_for_update(of=ServiceRecord, skip_locked=True)
        )
        return [(r, s) for r, s in (await self.session.execute(query)).all()]

    async def of_person(
        self, person_id: int, offset: int, limit: int
    ) -> tuple[Sequence[ServiceRecord], int]:
        query = (
            select(ServiceRecord)
            .where(ServiceRecord.person_id == person_id)
            .order_by(ServiceRecord.checked_in_at.desc(), ServiceRecord.id.desc())
        )
        return await _page(self.session, query, offset, limit)

    async def confirmed_of_person(
        self, person_id: int, start: datetime | None = None, end: datetime | None = None
    ) -> Sequence[ServiceRecord]:
        query = select(ServiceRecord).where(
            ServiceRecord.person_id == person_id, ServiceRecord.status == RecordStatus.CONFIRMED
        )
        if start is not None:
            query = query.where(ServiceRecord.checked_in_at >= start)
        if end is not None:
            query = query.where(ServiceRecord.checked_in_at < end)
        return (await self.session.scalars(query.order_by(ServiceRecord.checked_in_at))).all()

    async def confirmed_minutes(self, person_id: int, since: datetime | None = None) -> int:
        query = select(func.coalesce(func.sum(ServiceRecord.minutes), 0)).where(
            ServiceRecord.person_id == person_id, ServiceRecord.status == RecordStatus.CONFIRMED
        )
        if since is not None:
            query = query.where(ServiceRecord.checked_in_at >= since)
        return int(await self.session.scalar(query) or 0)

    async def confirmed_ids_in(
        self, community_id: int, start: datetime, end: datetime
    ) -> list[int]:
        """In id order, so that the same seed draws the same sample again."""
        query = (
            select(ServiceRecord.id)
            .where(
                ServiceRecord.community_id == community_id,
                ServiceRecord.status == RecordStatus.CONFIRMED,
                ServiceRecord.checked_in_at >= start,
                ServiceRecord.checked_in_at < end,
            )
            .order_by(ServiceRecord.id)
        )
        return list((await self.session.scalars(query)).all())

    async def add_correction(self, correction: RecordCorrection) -> RecordCorrection:
        self.session.add(correction)
        await self.session.flush()
        return correction

    async def correction(
        self, correction_id: int, *, lock: bool = False
    ) -> RecordCorrection | None:
        query = select(RecordCorrection).where(RecordCorrection.id == correction_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def pending_correction(self, record_id: int) -> RecordCorrection | None:
        query = select(RecordCorrection).where(
            RecordCorrection.record_id == record_id,
            RecordCorrection.status == CorrectionStatus.PENDING,
        )
        return (await self.session.scalars(query)).first()

    async def pending_corrections_in(
        self, communities: Sequence[int]
    ) -> Sequence[tuple[RecordCorrection, ServiceRecord]]:
        query = (
            select(RecordCorrection, ServiceRecord)
            .join(ServiceRecord, ServiceRecord.id == RecordCorrection.record_id)
            .where(
                ServiceRecord.community_id.in_(communities),
                RecordCorrection.status == CorrectionStatus.PENDING,
            )
            .order_by(RecordCorrection.id)
            .limit(20)
        )
        return [(c, r) for c, r in (await self.session.execute(query)).all()]


class LedgerRepository:
    """Stores what bot.domain.timebank builds; balances are sums of entries, never a column."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, tx: Transaction, *, created_by: int | None, reverses: str | None) -> None:
        self.session.add(
            LedgerTransaction(
                id=tx.id,
                kind=tx.kind,
                created_at=tx.created_at,
                memo=tx.memo,
                reference=tx.reference,
                reverses=reverses,
                created_by=created_by,
            )
        )
        await self.session.flush()  # the transaction row first: entries reference it
        for entry in tx.entries:
            self.session.add(
                LedgerEntry(
                    transaction_id=tx.id,
                    account_kind=entry.account.kind,
                    account_owner=entry.account.owner_id,
                    minutes=entry.minutes,
                )
            )
        await self.session.flush()

    async def balance(self, account: Account) -> int:
        query = select(func.coalesce(func.sum(LedgerEntry.minutes), 0)).where(
            LedgerEntry.account_kind == account.kind,
            LedgerEntry.account_owner == account.owner_id,
        )
        return int(await self.session.scalar(query) or 0)

    async def get(self, tx_id: str) -> Transaction | None:
        row = await self.session.get(LedgerTransaction, tx_id)
        if row is None:
            return None
        entries = (
            await self.session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.transaction_id == tx_id)
                .order_by(LedgerEntry.id)
            )
        ).all()
        return _transaction(row, entries)

    async def lines_of(
        self, account: Account, offset: int, limit: int
    ) -> tuple[Sequence[tuple[LedgerTransaction, int]], int]:
        """The account's history, newest first: each transaction with its effect here."""
        query = (
            select(LedgerTransaction, LedgerEntry.minutes)
            .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
            .where(
                LedgerEntry.account_kind == account.kind,
                LedgerEntry.account_owner == account.owner_id,
            )
            .order_by(LedgerTransaction.created_at.desc(), LedgerEntry.id.desc())
        )
        total = await self.session.scalar(
            select(func.count()).select_from(query.order_by(None).subquery())
        )
        rows = (await self.session.execute(query.offset(max(0, offset)).limit(limit))).all()
        return [(tx, minutes) for tx, minutes in rows], int(total or 0)

    async def all_transactions(self) -> list[Transaction]:
        """The whole journal in posting order (entry ids grow with each posting; timestamps
        can tie), to replay through the domain Ledger."""
        rows = {row.id: row for row in (await self.session.scalars(select(LedgerTransaction)))}
        entries = (await self.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))).all()
        by_tx: dict[str, list[LedgerEntry]] = {}
        for entry in entries:
            by_tx.setdefault(entry.transaction_id, []).append(entry)
        return [_transaction(rows[tx_id], lines) for tx_id, lines in by_tx.items()]


def _transaction(row: LedgerTransaction, entries: Sequence[LedgerEntry]) -> Transaction:
    return Transaction(
        id=row.id,
        kind=row.kind,
        created_at=row.created_at,
        entries=tuple(Entry(Account(e.account_kind, e.account_owner), e.minutes) for e in entries),
        memo=row.memo,
        reference=row.reference,
    )


class PointsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, entry: PointsEntry) -> None:
        self.session.add(entry)

    async def balance(self, person_id: int) -> int:
        query = select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            PointsEntry.person_id == person_id
        )
        return int(await self.session.scalar(query) or 0)

    async def of_reference(self, person_id: int, reference: str) -> int:
        """What one reference (a record, a redemption) has added up to so far."""
        query = select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            PointsEntry.person_id == person_id, PointsEntry.reference == reference
        )
        return int(await self.session.scalar(query) or 0)


class RewardsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        """Send the pending changes, so that the next read in this transaction sees them."""
        await self.session.flush()

    async def add(self, reward: Reward) -> Reward:
        self.session.add(reward)
        await self.session.flush()
        return reward

    async def get(self, reward_id: int, *, lock: bool = False) -> Reward | None:
        query = select(Reward).where(Reward.id == reward_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def available_in(
        self, communities: Sequence[int], offset: int, limit: int
    ) -> tuple[Sequence[Reward], int]:
        query = (
            select(Reward)
            .where(Reward.community_id.in_(communities), Reward.active.is_(True))
            .order_by(Reward.points, Reward.id)
        )
        return await _page(self.session, query, offset, limit)

    async def add_redemption(self, redemption: Redemption) -> Redemption:
        self.session.add(redemption)
        await self.session.flush()
        return redemption

    async def redemption(self, redemption_id: int, *, lock: bool = False) -> Redemption | None:
        query = select(Redemption).where(Redemption.id == redemption_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def redemption_by_code(self, code: str, *, lock: bool = False) -> Redemption | None:
        query = select(Redemption).where(Redemption.code == code)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def redemptions_of(self, person_id: int) -> Sequence[tuple[Redemption, Reward]]:
        query = (
            select(Redemption, Reward)
            .join(Reward, Reward.id == Redemption.reward_id)
            .where(
                Redemption.person_id == person_id,
                Redemption.status == RedemptionStatus.RESERVED,
            )
            .order_by(Redemption.id.desc())
        )
        return [(r, w) for r, w in (await self.session.execute(query)).all()]


class CertificatesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, certificate: Certificate) -> Certificate:
        self.session.add(certificate)
        await self.session.flush()
        return certificate

    async def by_code(self, code: str) -> Certificate | None:
        query = select(Certificate).where(Certificate.code == code)
        return (await self.session.scalars(query)).one_or_none()

    async def of_person(self, person_id: int) -> Sequence[Certificate]:
        query = (
            select(Certificate)
            .where(Certificate.person_id == person_id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
        return (await self.session.scalars(query)).all()

    async def failed_among(self, record_ids: Sequence[int]) -> int:
        if not record_ids:
            return 0
        query = select(func.count()).where(
            ServiceRecord.id.in_(record_ids), ServiceRecord.status != RecordStatus.CONFIRMED
        )
        return int(await self.session.scalar(query) or 0)


class SpotChecksRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        """Send the pending changes, so that the next read in this transaction sees them."""
        await self.session.flush()

    async def add(self, spot_check: SpotCheck, record_ids: Sequence[int]) -> SpotCheck:
        self.session.add(spot_check)
        await self.session.flush()
        for record_id in record_ids:
            self.session.add(
                SpotCheckItem(
                    spot_check_id=spot_check.id, record_id=record_id, result=SpotResult.PENDING
                )
            )
        await self.session.flush()
        return spot_check

    async def get(self, spot_check_id: int) -> SpotCheck | None:
        return await self.session.get(SpotCheck, spot_check_id)

    async def items(self, spot_check_id: int) -> Sequence[tuple[SpotCheckItem, ServiceRecord]]:
        query = (
            select(SpotCheckItem, ServiceRecord)
            .join(ServiceRecord, ServiceRecord.id == SpotCheckItem.record_id)
            .where(SpotCheckItem.spot_check_id == spot_check_id)
            .order_by(SpotCheckItem.id)
        )
        return [(i, r) for i, r in (await self.session.execute(query)).all()]

    async def item(self, item_id: int, *, lock: bool = False) -> SpotCheckItem | None:
        query = select(SpotCheckItem).where(SpotCheckItem.id == item_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()


class TransfersRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, transfer: TimeTransfer) -> TimeTransfer:
        self.session.add(transfer)
        await self.session.flush()
        return transfer

    async def by_token(self, token: str, *, lock: bool = False) -> TimeTransfer | None:
        query = select(TimeTransfer).where(TimeTransfer.token == token)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def lock_person(self, person_id: int) -> None:
        """Serialise everything that debits one person's hours (a row lock on the person)."""
        await self.session.execute(
            select(Person.id).where(Person.id == person_id).with_for_update()
        )
