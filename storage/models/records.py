"""Attendance and the time bank — migration 0006: service records and their corrections, the
ledger, points, rewards and redemptions, certificates, spot checks and transfers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.attendance import CheckMethod, CorrectionStatus, RecordStatus, SpotResult
from bot.domain.points import PointsKind, RedemptionStatus
from bot.domain.timebank import AccountKind, TransactionKind, TransferKind, TransferStatus
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class ServiceRecord(Base):
    """The service record of the 2020 rules: one per volunteer and shift. Name and number come
    from the volunteer, organiser from the community, "who recorded it" is `confirmed_by`."""

    __tablename__ = "service_records"
    __table_args__ = (
        UniqueConstraint("shift_id", "person_id"),
        Index("ix_service_records_community_status", "community_id", "status"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    content: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    status: Mapped[RecordStatus] = mapped_column(enum_column(RecordStatus, "record_status"))
    checked_in_at: Mapped[datetime] = mapped_column(UtcDateTime())
    check_in_method: Mapped[CheckMethod] = mapped_column(enum_column(CheckMethod, "check_method"))
    checked_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    check_out_method: Mapped[CheckMethod | None] = mapped_column(
        enum_column(CheckMethod, "check_method")
    )
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    adjustment_reason: Mapped[str | None] = mapped_column(Text)
    # The ledger transaction that currently credits this record (None until confirmed).
    credit_tx: Mapped[str | None] = mapped_column(String(32))


class RecordCorrection(Base):
    """A volunteer asks the recorder to change a record's minutes; the decision is audited."""

    __tablename__ = "record_corrections"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("service_records.id"), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    minutes: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[CorrectionStatus] = mapped_column(
        enum_column(CorrectionStatus, "correction_status")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)


class LedgerTransaction(Base):
    """The time bank's journal (see bot/domain/timebank.py). Rows are only ever added."""

    __tablename__ = "ledger_transactions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[TransactionKind] = mapped_column(enum_column(TransactionKind, "tx_kind"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    memo: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str | None] = mapped_column(String(64), index=True)
    # Unique: a transaction is reversed at most once, also under concurrent spot checks.
    reverses: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_account", "account_kind", "account_owner"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_kind: Mapped[AccountKind] = mapped_column(enum_column(AccountKind, "account_kind"))
    account_owner: Mapped[int] = mapped_column(BigInteger)
    minutes: Mapped[int] = mapped_column(Integer)


class PointsEntry(Base):
    """Points are their own append-only list: the balance is the sum."""

    __tablename__ = "points_entries"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)
    kind: Mapped[PointsKind] = mapped_column(enum_column(PointsKind, "points_kind"))
    reference: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Reward(Base):
    __tablename__ = "rewards"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200))
    points: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Redemption(Base):
    __tablename__ = "redemptions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[RedemptionStatus] = mapped_column(
        enum_column(RedemptionStatus, "redemption_status")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    handed_over_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    handed_over_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class Certificate(Base):
    """What an issued certificate says, so /verify can confirm it (and notice later reversals)."""

    __tablename__ = "certificates"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    volunteer_name: Mapped[str] = mapped_column(String(50))
    volunteer_number: Mapped[str] = mapped_column(String(32))
    masked_id: Mapped[str] = mapped_column(String(18))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    total_minutes: Mapped[int] = mapped_column(Integer)
    record_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    issuer: Mapped[str] = mapped_column(String(200))
    person_in_charge: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SpotCheck(Base):
    """A random draw of confirmed records; the seed is kept so the draw can be repeated."""

    __tablename__ = "spot_checks"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    sample_size: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    drawn_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SpotCheckItem(Base):
    __tablename__ = "spot_check_items"
    __table_args__ = (UniqueConstraint("spot_check_id", "record_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_checks.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("service_records.id"))
    result: Mapped[SpotResult] = mapped_column(enum_column(SpotResult, "spot_result"))
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class TimeTransfer(Base):
    """A gift or exchange proposed by one person and posted only when the other accepts, so
    both have confirmed it. The ledger transaction is `tx_id` once accepted."""

    __tablename__ = "time_transfers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[TransferKind] = mapped_column(enum_column(TransferKind, "transfer_kind"))
    token: Mapped[str] = mapped_column(String(32), unique=True)
    proposed_by: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    minutes: Mapped[int] = mapped_column(Integer)
    memo: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TransferStatus] = mapped_column(enum_column(TransferStatus, "transfer_status"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    tx_id: Mapped[str | None] = mapped_column(String(32))
