"""Indicators and the dashboard: the dashboard's links — migration 0012."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.enums import ScopeLevel
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class DashboardLink(Base):
    """A one-time link to the dashboard: only its hash is kept; opening it once (within ten
    minutes) starts a session scoped to the admin's area."""

    __tablename__ = "dashboard_links"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    level: Mapped[ScopeLevel] = mapped_column(enum_column(ScopeLevel, "scope_level"))
    scope_id: Mapped[int] = mapped_column(Integer)
    locale: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
