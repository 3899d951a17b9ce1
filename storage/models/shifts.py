"""Shifts and their sign-ups — migration 0005."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.social_work import ShiftKind
from bot.domain.volunteers import SignupStatus
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class Shift(Base):
    """A time and place where volunteers are needed (projects will own shifts later)."""

    __tablename__ = "shifts"
    __table_args__ = (Index("ix_shifts_community_start", "community_id", "starts_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[int] = mapped_column(Integer, default=300)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    capacity: Mapped[int] = mapped_column(Integer)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    cancel_hours: Mapped[int] = mapped_column(Integer, default=12)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    # A training session (社会工作教育培训) is a shift of kind "training": posted, signed up
    # for, reminded and checked into the same way; its attendance is a TrainingAttendance.
    kind: Mapped[ShiftKind] = mapped_column(
        enum_column(ShiftKind, "shift_kind"), default=ShiftKind.SERVICE, server_default="service"
    )


class ShiftSignup(Base):
    """One volunteer on one shift: confirmed, on the wait list (in order), or cancelled."""

    __tablename__ = "shift_signups"
    __table_args__ = (UniqueConstraint("shift_id", "person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    status: Mapped[SignupStatus] = mapped_column(enum_column(SignupStatus, "signup_status"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reminded_day_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reminded_hour_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
