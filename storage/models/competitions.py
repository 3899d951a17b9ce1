"""Competitions and micro-grants: calls, proposals, reviewers, scores and awards —
migration 0023."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.competitions import AwardReason, CallState
from bot.domain.enums import ScopeLevel
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class Competition(Base):
    """A call for proposals (微创投 / 公益创投 / 项目大赛) of a street or a district, funded from a
    fund of the ledger; criteria are [{"name", "weight"}] with weights summing to 100."""

    __tablename__ = "competitions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    level: Mapped[ScopeLevel] = mapped_column(enum_column(ScopeLevel, "scope_level"))
    scope_id: Mapped[int] = mapped_column(BigInteger, index=True)
    title: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str] = mapped_column(Text)
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    eligible_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    proposals_due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    review_due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    pass_mark: Mapped[int] = mapped_column(Integer, default=60)
    vote_weight: Mapped[int] = mapped_column(Integer, default=0)
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"))
    state: Mapped[CallState] = mapped_column(enum_column(CallState, "call_state"))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CompetitionProposal(Base):
    """A draft project put forward to a call: budget lines [{"item", "amount_fen"}], the needs
    of the needs list it answers (ids), the results it expects. Revisable until the deadline."""

    __tablename__ = "competition_proposals"
    __table_args__ = (UniqueConstraint("competition_id", "project_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    budget_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    need_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    expected_results: Mapped[str] = mapped_column(Text)
    requested_fen: Mapped[int] = mapped_column(BigInteger)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revised_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The option of the residents' vote that stands for this proposal.
    option_id: Mapped[int | None] = mapped_column(ForeignKey("consultation_options.id"))


class CompetitionReviewer(Base):
    """A member of the panel; the organisations they belong to are declared (conflicts)."""

    __tablename__ = "competition_reviewers"
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    organisation_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    named_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CompetitionScore(Base):
    """One reviewer's sheet for one proposal: {criterion: 0–100}; hidden until the panel closes."""

    __tablename__ = "competition_scores"
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("competition_proposals.id"), primary_key=True
    )
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    scores: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CompetitionAward(Base):
    """The published outcome of a proposal: rank, score (hundredths), amount, reason, and the
    allocation of the funds ledger that carries the money."""

    __tablename__ = "competition_awards"
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("competition_proposals.id"), primary_key=True
    )
    rank: Mapped[int] = mapped_column(Integer)
    score_centi: Mapped[int | None] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[AwardReason] = mapped_column(enum_column(AwardReason, "award_reason"))
    allocation_id: Mapped[int | None] = mapped_column(ForeignKey("fund_allocations.id"))
