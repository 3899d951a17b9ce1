"""Broadcasts, the outbox, opt-outs, and emergencies with their shifts and roll calls —
migration 0010."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.broadcasts import BroadcastState, ButtonKind, DeliveryState, RollCallAnswer, Topic
from bot.domain.enums import Channel, ScopeLevel
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class Broadcast(Base):
    """A message to an audience, sent through the outbox (one row per recipient)."""

    __tablename__ = "broadcasts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    topic: Mapped[Topic] = mapped_column(enum_column(Topic, "broadcast_topic"))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    text_zh: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="")
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)
    button: Mapped[ButtonKind] = mapped_column(enum_column(ButtonKind, "broadcast_button"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"))
    emergency_id: Mapped[int | None] = mapped_column(ForeignKey("emergencies.id"), index=True)
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"))
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[BroadcastState] = mapped_column(
        enum_column(BroadcastState, "broadcast_state"), index=True
    )
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    total: Mapped[int] = mapped_column(Integer, default=0)
    # The author's progress message, edited while it goes out.
    progress_channel: Mapped[Channel | None] = mapped_column(enum_column(Channel, "channel"))
    progress_chat_id: Mapped[str | None] = mapped_column(String(128))
    progress_message_id: Mapped[int | None] = mapped_column(Integer)
    progress_text: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OutboxMessage(Base):
    """One recipient of one broadcast. Claimed with FOR UPDATE SKIP LOCKED on PostgreSQL;
    `sending` is written before the platform is called, so a row is never sent twice."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "person_id"),
        UniqueConstraint("broadcast_id", "group_id", name="uq_outbox_broadcast_group"),
        Index("ix_outbox_channel_state", "channel", "state", "not_before"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"))
    # A person's row, or a community group's (楼栋群) row: exactly one of the two.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("community_groups.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    chat_id: Mapped[str] = mapped_column(String(128))
    locale: Mapped[str] = mapped_column(String(8))
    state: Mapped[DeliveryState] = mapped_column(enum_column(DeliveryState, "delivery_state"))
    not_before: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str] = mapped_column(String(200), default="")
    clicked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class BroadcastOptOut(Base):
    __tablename__ = "broadcast_opt_outs"
    __table_args__ = (UniqueConstraint("person_id", "topic"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    topic: Mapped[Topic] = mapped_column(enum_column(Topic, "broadcast_topic"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Emergency(Base):
    """应急状态 of a community, or of every community of a street."""

    __tablename__ = "emergencies"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    level: Mapped[ScopeLevel] = mapped_column(enum_column(ScopeLevel, "scope_level"))
    scope_id: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    started_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class EmergencyShift(Base):
    """The shift volunteers check in against, one per community in the emergency."""

    __tablename__ = "emergency_shifts"
    emergency_id: Mapped[int] = mapped_column(ForeignKey("emergencies.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), unique=True)


class RollCall(Base):
    """A volunteer's answer to a mobilisation: coming or not (they may change it)."""

    __tablename__ = "roll_calls"
    __table_args__ = (UniqueConstraint("emergency_id", "person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    emergency_id: Mapped[int] = mapped_column(ForeignKey("emergencies.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    answer: Mapped[RollCallAnswer] = mapped_column(enum_column(RollCallAnswer, "roll_call"))
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
