"""WeCom group robots (企业微信群机器人) and their alerts — migration 0019."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.enums import ScopeLevel
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class WecomRobot(Base):
    """The WeCom group robot of a community or a street: its webhook URL sealed (the key in
    it is a secret), the key's last four characters to show which robot it is."""

    __tablename__ = "wecom_robots"
    __table_args__ = (UniqueConstraint("level", "place_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    level: Mapped[ScopeLevel] = mapped_column(enum_column(ScopeLevel, "scope_level"))
    place_id: Mapped[int] = mapped_column(Integer)
    url_sealed: Mapped[str] = mapped_column(String(600))
    key_tail: Mapped[str] = mapped_column(String(8))
    set_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WecomAlert(Base):
    """An alert queued for a robot (the outbox of the robots): a message id and its
    parameters, rendered when sent; claimed with a lease, retried with backoff."""

    __tablename__ = "wecom_alerts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    robot_id: Mapped[int] = mapped_column(
        ForeignKey("wecom_robots.id", ondelete="CASCADE"), index=True
    )
    message: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str] = mapped_column(String(200), default="")
