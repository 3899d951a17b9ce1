"""Needs surveys (需求调研): questions, responses and the counts of their answers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Survey,
    SurveyAnswer,
    SurveyCommunity,
    SurveyOption,
    SurveyQuestion,
    SurveyResponse,
)


class SurveysRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)

    async def flush(self) -> None:
        await self.session.flush()

    async def get(self, survey_id: int) -> Survey | None:
        return await self.session.get(Survey, survey_id)

    async def communities(self, survey_id: int) -> list[int]:
        query = select(SurveyCommunity.community_id).where(SurveyCommunity.survey_id == survey_id)
        return list((await self.session.scalars(query)).all())

    async def questions(self, survey_id: int) -> Sequence[SurveyQuestion]:
        query = (
            select(SurveyQuestion)
            .where(SurveyQuestion.survey_id == survey_id)
            .order_by(SurveyQuestion.position)
        )
        return (await self.session.scalars(query)).all()

    async def options(self, question_ids: Sequence[int]) -> Sequence[SurveyOption]:
        query = (
            select(SurveyOption)
            .where(SurveyOption.question_id.in_(question_ids))
            .order_by(SurveyOption.question_id, SurveyOption.position)
        )
        return (await self.session.scalars(query)).all()

    async def open_in_community(self, community_id: int) -> Sequence[Survey]:
        in_community = select(SurveyCommunity.survey_id).where(
            SurveyCommunity.community_id == community_id
        )
        query = (
            select(Survey)
            .where(Survey.id.in_(in_community), Survey.closed_at.is_(None))
            .order_by(Survey.id.desc())
        )
        return (await self.session.scalars(query)).all()

    async def in_communities(self, communities: Sequence[int]) -> Sequence[Survey]:
        in_scope = select(SurveyCommunity.survey_id).where(
            SurveyCommunity.community_id.in_(communities)
        )
        query = select(Survey).where(Survey.id.in_(in_scope)).order_by(Survey.id.desc()).limit(20)
        return (await self.session.scalars(query)).all()

    async def add_response(self, response: SurveyResponse) -> bool:
        """False when this person has answered already (a double tap, two devices)."""
        try:
            async with self.session.begin_nested():
                self.session.add(response)
        except IntegrityError:
            return False
        return True

    async def has_answered(self, survey_id: int, person_id: int) -> bool:
        query = select(SurveyResponse.id).where(
            SurveyResponse.survey_id == survey_id, SurveyResponse.person_id == person_id
        )
        return (await self.session.scalar(query)) is not None

    async def response_count(self, survey_id: int, communities: Sequence[int]) -> int:
        query = (
            select(func.count())
            .select_from(SurveyResponse)
            .where(
                SurveyResponse.survey_id == survey_id,
                SurveyResponse.community_id.in_(communities),
            )
        )
        return int(await self.session.scalar(query) or 0)

    async def option_counts(self, survey_id: int, communities: Sequence[int]) -> dict[int, int]:
        query = (
            select(SurveyAnswer.option_id, func.count())
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .where(
                SurveyResponse.survey_id == survey_id,
                SurveyResponse.community_id.in_(communities),
                SurveyAnswer.option_id.is_not(None),
            )
            .group_by(SurveyAnswer.option_id)
        )
        rows = (await self.session.execute(query)).all()
        return {int(o): int(c) for o, c in rows if o is not None}

    async def text_answers(
        self, survey_id: int, communities: Sequence[int], limit: int
    ) -> list[tuple[int, str]]:
        query = (
            select(SurveyAnswer.question_id, SurveyAnswer.text)
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .where(
                SurveyResponse.survey_id == survey_id,
                SurveyResponse.community_id.in_(communities),
                SurveyAnswer.text.is_not(None),
            )
            .order_by(SurveyAnswer.id)
            .limit(limit)
        )
        return [(int(q), str(t)) for q, t in (await self.session.execute(query)).all()]
