"""Volunteers, the communities they serve and the counter behind their numbers — migration 0004."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.volunteers import VolunteerStatus
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class Volunteer(Base):
    """A resident registered as a volunteer (实名注册); verified by a worker who saw the ID."""

    __tablename__ = "volunteers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    home_community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    real_name: Mapped[str] = mapped_column(String(50))
    # Encrypted; shown only masked. The keyed hash finds a second registration of one ID.
    id_number_encrypted: Mapped[str] = mapped_column(Text)
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    phone: Mapped[str] = mapped_column(String(20))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    availability: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The same lists as bit masks (bot/domain/matching.py), kept in step by the service.
    skills_mask: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    availability_mask: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[VolunteerStatus] = mapped_column(
        enum_column(VolunteerStatus, "volunteer_status")
    )
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # Under 14 by the ID number: verified only after a guardian's consent (PIPL Art. 31).
    guardian_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class VolunteerCommunity(Base):
    """The communities a volunteer serves in."""

    __tablename__ = "volunteer_communities"
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id"), primary_key=True, index=True
    )


class VolunteerCounter(Base):
    """The last volunteer number given per community (locked when taken)."""

    __tablename__ = "volunteer_counters"
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
