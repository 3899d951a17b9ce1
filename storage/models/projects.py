"""Projects, the communities and needs they serve, party decisions and evaluations —
migration 0007."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.projects import ProjectKind, ProjectState
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_community_state", "community_id", "state"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # The community whose workers approve it; project_communities lists all it serves.
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    kind: Mapped[ProjectKind] = mapped_column(enum_column(ProjectKind, "project_kind"))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    major: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[ProjectState] = mapped_column(enum_column(ProjectState, "project_state"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ProjectCommunity(Base):
    __tablename__ = "project_communities"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)


class ProjectNeed(Base):
    """A need this project answers (the link the evaluation counts resolved needs through)."""

    __tablename__ = "project_needs"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), primary_key=True)


class PartyDecision(Base):
    """The community Party organisation's recorded decision on a major matter."""

    __tablename__ = "party_decisions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    approve: Mapped[bool] = mapped_column(Boolean)
    decided_on: Mapped[date] = mapped_column(Date)
    minutes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ProjectEvaluation(Base):
    """What people typed at the end; hours, needs and money are computed, not typed."""

    __tablename__ = "project_evaluations"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    beneficiaries: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    evaluated_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
