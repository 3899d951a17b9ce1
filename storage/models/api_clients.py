"""HTTP API clients and their idempotency keys — migration 0020_api_clients."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.enums import ScopeLevel
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class ApiClient(Base):
    """A city app allowed to call the HTTP API: its secret hashed with a per-app salt
    (scrypt), its scopes and the area (district, street or community) it may act in."""

    __tablename__ = "api_clients"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(64))
    scopes: Mapped[str] = mapped_column(String(400))
    area_level: Mapped[ScopeLevel] = mapped_column(enum_column(ScopeLevel, "scope_level"))
    area_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ApiIdempotency(Base):
    """The first answer to a POST with an Idempotency-Key, per app: a retry gets it again.
    `status` is NULL while the first request is still being handled."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("client_pk", "key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
