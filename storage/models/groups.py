"""The community group chats the bot is in — migration 0015."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.enums import Channel
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class CommunityGroup(Base):
    """A group chat (楼栋群, a building's or a grid's group) linked to a community by one of
    its workers who is an admin of the group; broadcasts to "the community's groups" are
    posted there. Unlinking keeps the row (the outbox refers to it) with `unlinked_at` set."""

    __tablename__ = "community_groups"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    chat_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(255), default="")
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    linked_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    unlinked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
