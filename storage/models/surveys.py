"""Needs surveys (需求调研): communities, questions, options, responses and answers —
migration 0003."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id
from storage.types import UtcDateTime, utcnow


class Survey(Base):
    __tablename__ = "surveys"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SurveyCommunity(Base):
    __tablename__ = "survey_communities"
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)


class SurveyQuestion(Base):
    __tablename__ = "survey_questions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))  # single | multi | text
    text: Mapped[str] = mapped_column(Text)


class SurveyOption(Base):
    __tablename__ = "survey_options"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(200))


class SurveyResponse(Base):
    """One per person and survey: the unique constraint holds it even under a double tap."""

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("survey_id", "person_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # Where the person lived when answering: results are shown per worker's scope.
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SurveyAnswer(Base):
    __tablename__ = "survey_answers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id"))
    option_id: Mapped[int | None] = mapped_column(ForeignKey("survey_options.id"))
    text: Mapped[str | None] = mapped_column(Text)
