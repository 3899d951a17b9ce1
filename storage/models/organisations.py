"""Organisations (migration 0001), the communities they serve and their invites (0007)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.enums import OrganisationType, RegistrationStatus
from storage.models.base import Base, Id, Timestamped, enum_column
from storage.types import UtcDateTime


class Organisation(Timestamped, Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[OrganisationType] = mapped_column(enum_column(OrganisationType, "org_type"))
    registration: Mapped[RegistrationStatus] = mapped_column(
        enum_column(RegistrationStatus, "registration_status")
    )
    registration_number: Mapped[str | None] = mapped_column(String(64))
    contact: Mapped[str | None] = mapped_column(String(200))
    # Its home community (or street); service areas arrive with the organisations issue.
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"), index=True)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)


class OrganisationCommunity(Base):
    __tablename__ = "organisation_communities"
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)


class OrganisationInvite(Base):
    __tablename__ = "organisation_invites"
    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
