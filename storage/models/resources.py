"""Shared resources and their reservations — migration 0007."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.resources import ReservationStatus, ResourceKind
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class Resource(Base):
    __tablename__ = "resources"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    kind: Mapped[ResourceKind] = mapped_column(enum_column(ResourceKind, "resource_kind"))
    title: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(String(32))
    available_from: Mapped[date | None] = mapped_column(Date)
    available_until: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # A venue marked as the community's volunteer service station (志愿服务站).
    volunteer_station: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class ResourceReservation(Base):
    __tablename__ = "resource_reservations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    reserved_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    status: Mapped[ReservationStatus] = mapped_column(
        enum_column(ReservationStatus, "reservation_status")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
