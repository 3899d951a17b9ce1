"""Personal-information rights: consents and the access log — migration 0013."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.privacy import Access, Purpose
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime


class PrivacyConsent(Base):
    """One consent given (to a notice of a version, in a language), kept after withdrawal."""

    __tablename__ = "privacy_consents"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    purpose: Mapped[Purpose] = mapped_column(enum_column(Purpose, "consent_purpose"))
    version: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(8))
    given_at: Mapped[datetime] = mapped_column(UtcDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # A guardian's consent is recorded by a worker: who, and the guardian's name and relation.
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    guardian: Mapped[str | None] = mapped_column(String(100))


class AccessLogEntry(Base):
    """Reads of unmasked ID numbers, exports of personal data, actions on someone's behalf.
    Kept ACCESS_LOG_RETENTION_DAYS (at least six months), then pruned."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    # The subject's district when it was written: who may read the entry.
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    kind: Mapped[Access] = mapped_column(enum_column(Access, "access_kind"))
    reason: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
