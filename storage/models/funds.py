"""Funds: donations, allocations and expenditures — migration 0007."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id
from storage.types import UtcDateTime, utcnow


class Fund(Base):
    """Money held by a fund-raising organisation (a community fund when a community foundation
    holds it for one community)."""

    __tablename__ = "funds"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FundDonation(Base):
    __tablename__ = "fund_donations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    donor: Mapped[str | None] = mapped_column(String(200))  # None: anonymous
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str | None] = mapped_column(String(32))  # None: unrestricted
    donated_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FundAllocation(Base):
    __tablename__ = "fund_allocations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str | None] = mapped_column(String(32))
    allocated_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FundExpenditure(Base):
    __tablename__ = "fund_expenditures"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("fund_allocations.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text)
    spent_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
