"""Web chat transcripts: chats, events, messages and files — migration 0013_webchat_store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id
from storage.types import UtcDateTime, utcnow


class WebChatChat(Base):
    """One web chat's counters (never pruned, so ids are never reused) and its own menu."""

    __tablename__ = "webchat_chats"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_message_id: Mapped[int] = mapped_column(Integer, default=0)
    commands: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WebChatEvent(Base):
    """A page event of one web chat (a message, an edit, a tap's answer…), in order (seq)."""

    __tablename__ = "webchat_events"
    __table_args__ = (
        UniqueConstraint("chat_id", "seq"),
        # A retried POST (same client id) is handled once.
        UniqueConstraint("chat_id", "client_id", name="uq_webchat_events_client"),
        Index("ix_webchat_events_message", "chat_id", "message_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[int | None] = mapped_column(Integer)
    client_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class WebChatMessage(Base):
    """A bot message as the web channel keeps it (text, buttons): taps are checked against it."""

    __tablename__ = "webchat_messages"
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class WebChatFile(Base):
    """A file in a web chat: a photo a person uploaded, or a document or photo the bot sent."""

    __tablename__ = "webchat_files"
    token: Mapped[str] = mapped_column(String(43), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
