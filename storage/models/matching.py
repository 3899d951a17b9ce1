"""Matching: offers to needs (migration 0008) and match profiles (0009)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.matching import OfferKind, OfferStatus
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class NeedOffer(Base):
    """A need offered to a volunteer (auto-offer: first to accept takes it) or help offered by a
    volunteer (a worker confirms by assigning)."""

    __tablename__ = "need_offers"
    __table_args__ = (UniqueConstraint("need_id", "person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[OfferKind] = mapped_column(enum_column(OfferKind, "offer_kind"))
    status: Mapped[OfferStatus] = mapped_column(enum_column(OfferStatus, "offer_status"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class MatchProfile(Base):
    """What matching reads about a verified volunteer, one row per street they serve: kept up
    to date by the services on every change it depends on (bot/services/match_profiles.py),
    so that a street's candidates are one index range scan."""

    __tablename__ = "match_profiles"
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    grid_id: Mapped[int | None] = mapped_column(Integer)
    skills_mask: Mapped[int] = mapped_column(Integer)
    availability_mask: Mapped[int] = mapped_column(Integer)
    # Bit n: the street's n-th community (by id) is served.
    served_mask: Mapped[int] = mapped_column(BigInteger)
    open_load: Mapped[int] = mapped_column(Integer)
    confirmed: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    rating: Mapped[float | None] = mapped_column(Float)
