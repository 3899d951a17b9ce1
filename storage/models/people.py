"""People, their channel accounts, their role grants and the codes that link a second account
to a person — migration 0001."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.domain.enums import Channel, Role, ScopeLevel
from storage.models.base import Base, Id, Timestamped, enum_column
from storage.types import UtcDateTime


class Person(Timestamped, Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # None until the person has chosen; the first conversation asks.
    locale: Mapped[str | None] = mapped_column(String(8))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    # Set when the person had their data erased (/deleteme): the row stays, anonymous, so the
    # records the rules keep still point somewhere (docs/privacy.md).
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Large text on the web chat page (kept on the person: every device and reload has it).
    large_text: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The contact phone and address last given with a request (offered again next time).
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(200))
    accounts: Mapped[list[ChannelAccount]] = relationship(back_populates="person")


class ChannelAccount(Timestamped, Base):
    """One chat identity (a Telegram user, a web chat browser...) of one person."""

    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    external_id: Mapped[str] = mapped_column(String(128))
    # Where to send messages on this channel (Telegram chat id, web client id...).
    chat_id: Mapped[str] = mapped_column(String(128))
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Set when the platform says the person blocked the bot; cleared when they write again.
    blocked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    person: Mapped[Person] = relationship(back_populates="accounts")


class RoleGrant(Timestamped, Base):
    """A role over one district, street or community. Revoked grants stay, for the record."""

    __tablename__ = "role_grants"
    __table_args__ = (Index("ix_role_grants_active", "person_id", "revoked_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    scope_level: Mapped[ScopeLevel] = mapped_column(enum_column(ScopeLevel, "scope_level"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    # Social workers: holds the national social-work certificate (持社工证).
    certified: Mapped[bool] = mapped_column(Boolean, default=False)
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    @property
    def scope_id(self) -> int:
        ids = {
            ScopeLevel.DISTRICT: self.district_id,
            ScopeLevel.STREET: self.street_id,
            ScopeLevel.COMMUNITY: self.community_id,
        }
        value = ids[self.scope_level]
        assert value is not None, "a grant always names its scope"
        return value


class LinkCode(Timestamped, Base):
    """A short-lived code that joins a second channel account to an existing person."""

    __tablename__ = "link_codes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
