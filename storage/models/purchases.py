"""Government purchase of services: purchases, milestones, payments and evaluations —
migration 0024."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.enums import ScopeLevel
from bot.domain.purchases import FundingSource, MilestoneState
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class ServicePurchase(Base):
    """A service a street or district buys from a provider organisation (政府购买服务); its
    project (kind government_purchased) carries the service and, at the end, the evaluation."""

    __tablename__ = "service_purchases"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    level: Mapped[ScopeLevel] = mapped_column(enum_column(ScopeLevel, "scope_level"))
    scope_id: Mapped[int] = mapped_column(BigInteger, index=True)
    service: Mapped[str] = mapped_column(String(200))
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[FundingSource] = mapped_column(enum_column(FundingSource, "funding_source"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class PurchaseMilestone(Base):
    """A milestone: its deliverable and share; the provider's report with the evidence counted
    from the records ({"requests", "minutes", "people"}), the buyer's acceptance."""

    __tablename__ = "purchase_milestones"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("service_purchases.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    deliverable: Mapped[str] = mapped_column(String(200))
    share: Mapped[int] = mapped_column(Integer)
    state: Mapped[MilestoneState] = mapped_column(enum_column(MilestoneState, "milestone_state"))
    report: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, int] | None] = mapped_column(JSON)
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PurchasePayment(Base):
    """The ledger of a purchase: one payment per accepted milestone, never beyond the amount."""

    __tablename__ = "purchase_payments"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("service_purchases.id"), index=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("purchase_milestones.id"), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class PurchaseEvaluation(Base):
    """The performance evaluation (绩效评估) at the end: [{"name", "weight", "score"}] and the
    weighted score in hundredths, kept with the project's results."""

    __tablename__ = "purchase_evaluations"
    purchase_id: Mapped[int] = mapped_column(ForeignKey("service_purchases.id"), primary_key=True)
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    score_centi: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    evaluated_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
