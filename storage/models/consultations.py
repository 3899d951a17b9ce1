"""Consultations (协商议事): communities, options, seats, opinions and their support, votes
and participants — migration 0011."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.consultations import Actor
from storage.models.base import Base, Id, enum_column
from storage.types import UtcDateTime, utcnow


class Consultation(Base):
    __tablename__ = "consultations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # The community whose workers run it; consultation_communities lists whose residents join.
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    title: Mapped[str] = mapped_column(String(200))
    background: Mapped[str] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    major: Mapped[bool] = mapped_column(Boolean, default=False)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    discussion_ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    voting_ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    meeting_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    meeting_place: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decision: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_on: Mapped[date | None] = mapped_column(Date)  # the party organisation's meeting
    minutes: Mapped[str | None] = mapped_column(Text)
    # Votes recorded on paper by a worker (counted here so no ballot is marked as one).
    paper_votes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Who was entitled, per actor group, when it was closed: the results stay as they were.
    entitled_at_close: Mapped[dict[str, int] | None] = mapped_column(JSON)


class ConsultationCommunity(Base):
    __tablename__ = "consultation_communities"
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id"), primary_key=True, index=True
    )


class ConsultationOption(Base):
    __tablename__ = "consultation_options"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(200))


class ConsultationSeat(Base):
    """An invited participant and the actor they represent."""

    __tablename__ = "consultation_seats"
    __table_args__ = (UniqueConstraint("consultation_id", "person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    actor: Mapped[Actor] = mapped_column(enum_column(Actor, "consultation_actor"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ConsultationOpinion(Base):
    __tablename__ = "consultation_opinions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    actor: Mapped[Actor] = mapped_column(enum_column(Actor, "consultation_actor"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    hidden_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    hidden_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    hidden_reason: Mapped[str | None] = mapped_column(String(300))


class OpinionSupport(Base):
    __tablename__ = "opinion_supports"
    opinion_id: Mapped[int] = mapped_column(
        ForeignKey("consultation_opinions.id"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)


class ConsultationVote(Base):
    """One ballot per voter key (see domain.consultations.voter_key). An anonymous ballot has
    no person, no sequence number and no time: a keyed hash, its option and the actor group
    (its paper votes are counted on the consultation, not marked on the ballot)."""

    __tablename__ = "consultation_votes"
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), primary_key=True)
    voter_key: Mapped[str] = mapped_column(String(48), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # named votes only
    option_id: Mapped[int] = mapped_column(ForeignKey("consultation_options.id"))
    actor: Mapped[Actor] = mapped_column(enum_column(Actor, "consultation_actor"))
    assisted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Changed votes keep no history of their earlier choice (that would trace a voter).
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ConsultationParticipant(Base):
    """Who took part (voted, gave an opinion, attended): the outcome goes to them. For an
    anonymous vote this says that someone voted, never how."""

    __tablename__ = "consultation_participants"
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    voted: Mapped[bool] = mapped_column(Boolean, default=False)
    attended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
