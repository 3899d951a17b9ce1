"""The map: districts, streets (街道) or townships (乡镇), communities (社区) or villages (村),
and grids (网格) — migration 0001."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.domain.enums import CommunityKind
from storage.models.base import Base, Id, Timestamped, enum_column


class District(Timestamped, Base):
    __tablename__ = "districts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(100))
    streets: Mapped[list[Street]] = relationship(back_populates="district")


class Street(Timestamped, Base):
    """Street (街道) or township (乡镇)."""

    __tablename__ = "streets"
    __table_args__ = (UniqueConstraint("district_id", "name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    is_township: Mapped[bool] = mapped_column(Boolean, default=False)
    district: Mapped[District] = relationship(back_populates="streets")
    communities: Mapped[list[Community]] = relationship(back_populates="street")


class Community(Timestamped, Base):
    """Community (社区) or village (村)."""

    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("street_id", "name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    # Short code used in reference numbers (e.g. YZ-2026-00042).
    code: Mapped[str] = mapped_column(String(12), unique=True)
    kind: Mapped[CommunityKind] = mapped_column(enum_column(CommunityKind, "community_kind"))
    resident_population: Mapped[int] = mapped_column(Integer, default=0)
    # Hours to answer a need, per urgency; None: the defaults (24 h, 72 h, 7 days).
    due_hours_urgent: Mapped[int | None] = mapped_column(Integer)
    due_hours_normal: Mapped[int | None] = mapped_column(Integer)
    due_hours_can_wait: Mapped[int | None] = mapped_column(Integer)
    street: Mapped[Street] = relationship(back_populates="communities")
    grids: Mapped[list[Grid]] = relationship(back_populates="community")
    # 五社联动示范点: the year it was named a demonstration site (None: not one).
    demonstration_year: Mapped[int | None] = mapped_column(Integer)
    # The community's own duty phone (值班电话), shown next to 120/119/110 in an emergency.
    duty_phone: Mapped[str | None] = mapped_column(String(32))


class Grid(Timestamped, Base):
    """Grid (网格): the smallest unit, looked after by a grid worker."""

    __tablename__ = "grids"
    __table_args__ = (UniqueConstraint("community_id", "name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    community: Mapped[Community] = relationship(back_populates="grids")
