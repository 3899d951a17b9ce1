"""Needs (诉求): a resident's request, its supporters, events and feedback, and the counter behind
reference numbers — migration 0002."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.needs import Beneficiary, ClosureReason, NeedCategory, NeedState, Urgency
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class Need(Base):
    """A resident's need, from collection to feedback. Its history is in need_events."""

    __tablename__ = "needs"
    __table_args__ = (
        Index("ix_needs_community_state", "community_id", "state"),
        Index("ix_needs_state_due", "state", "due_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    category: Mapped[NeedCategory] = mapped_column(enum_column(NeedCategory, "need_category"))
    description: Mapped[str] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Someone should come (上门): where and whom to call. Shown to the workers and handlers only.
    wants_visit: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(200))
    urgency: Mapped[Urgency] = mapped_column(enum_column(Urgency, "urgency"))
    beneficiary: Mapped[Beneficiary] = mapped_column(enum_column(Beneficiary, "beneficiary"))
    state: Mapped[NeedState] = mapped_column(enum_column(NeedState, "need_state"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    remind_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    assignee_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    assignee_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    referred_to: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closure_reason: Mapped[ClosureReason | None] = mapped_column(
        enum_column(ClosureReason, "closure_reason")
    )


class NeedSupporter(Base):
    """ "Me too": another resident with the same need, counted instead of a duplicate."""

    __tablename__ = "need_supporters"
    __table_args__ = (UniqueConstraint("need_id", "person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class NeedEvent(Base):
    """What happened to a need, shown as its history; `public` ones the resident sees too."""

    __tablename__ = "need_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[NeedState | None] = mapped_column(enum_column(NeedState, "need_state"))
    to_state: Mapped[NeedState | None] = mapped_column(enum_column(NeedState, "need_state"))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str | None] = mapped_column(Text)


class NeedFeedback(Base):
    __tablename__ = "need_feedback"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    solved: Mapped[bool] = mapped_column(Boolean)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class NeedCounter(Base):
    """The last reference number given per community and year (locked when taken)."""

    __tablename__ = "need_counters"
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)
