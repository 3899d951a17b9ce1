"""Needs surveys: workers open one to chosen communities; each resident answers once;
workers see the aggregated answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.policy import TRIAGE_ROLES
from bot.domain.principal import Principal
from bot.domain.surveys import MULTI, SINGLE, TEXT, SurveySpec
from storage.models import (
    Survey,
    SurveyAnswer,
    SurveyCommunity,
    SurveyOption,
    SurveyQuestion,
    SurveyResponse,
)
from storage.types import utcnow
from storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class OptionView:
    id: int
    text: str
    count: int = 0


@dataclass(frozen=True, slots=True)
class QuestionView:
    id: int
    kind: str
    text: str
    options: tuple[OptionView, ...]
    texts: tuple[str, ...] = ()  # free-text answers, in results only


@dataclass(frozen=True, slots=True)
class SurveyView:
    id: int
    title: str
    questions: tuple[QuestionView, ...]
    responses: int
    closed: bool


@dataclass(frozen=True, slots=True)
class SurveyBrief:
    id: int
    title: str


async def create_survey(
    uow: UnitOfWork, principal: Principal, *, spec: SurveySpec, community_ids: Sequence[int]
) -> SurveyBrief:
    if not community_ids:
        raise InvalidInput("communities", "none")
    async with uow:
        allowed = set(await uow.places.communities_covered(principal, TRIAGE_ROLES))
        if not set(community_ids) <= allowed:
            raise PermissionDenied()
        survey = Survey(title=spec.title, created_by=principal.person_id)
        uow.surveys.add(survey)
        await uow.surveys.flush()
        for community_id in sorted(set(community_ids)):
            uow.surveys.add(SurveyCommunity(survey_id=survey.id, community_id=community_id))
        for position, spec_question in enumerate(spec.questions):
            question = SurveyQuestion(
                survey_id=survey.id,
                position=position,
                kind=spec_question.kind,
                text=spec_question.text,
            )
            uow.surveys.add(question)
            await uow.surveys.flush()
            for option_position, text in enumerate(spec_question.options):
                uow.surveys.add(
                    SurveyOption(question_id=question.id, position=option_position, text=text)
                )
        uow.audit.record(
            actor_id=principal.person_id,
            action="survey.open",
            entity="survey",
            entity_id=survey.id,
            details={"communities": sorted(set(community_ids))},
        )
        await uow.commit()
        return SurveyBrief(survey.id, survey.title)


async def open_for_me(uow: UnitOfWork, principal: Principal) -> tuple[SurveyBrief, ...]:
    """Open surveys of the resident's community that they have not answered yet."""
    if principal.home is None:
        return ()
    async with uow:
        result = []
        for survey in await uow.surveys.open_in_community(principal.home.community_id):
            if not await uow.surveys.has_answered(survey.id, principal.person_id):
                result.append(SurveyBrief(survey.id, survey.title))
        return tuple(result)


async def _view(uow: UnitOfWork, survey: Survey, *, results_for: Sequence[int] = ()) -> SurveyView:
    """The survey; with `results_for`, the answers of residents of those communities."""
    questions = await uow.surveys.questions(survey.id)
    options = await uow.surveys.options([q.id for q in questions])
    counts = await uow.surveys.option_counts(survey.id, results_for) if results_for else {}
    texts = await uow.surveys.text_answers(survey.id, results_for, 200) if results_for else []
    views = []
    for question in questions:
        views.append(
            QuestionView(
                id=question.id,
                kind=question.kind,
                text=question.text,
                options=tuple(
                    OptionView(o.id, o.text, counts.get(o.id, 0))
                    for o in options
                    if o.question_id == question.id
                ),
                texts=tuple(t for q, t in texts if q == question.id),
            )
        )
    return SurveyView(
        id=survey.id,
        title=survey.title,
        questions=tuple(views),
        responses=(await uow.surveys.response_count(survey.id, results_for) if results_for else 0),
        closed=survey.closed_at is not None,
    )


async def survey_for_answering(
    uow: UnitOfWork, principal: Principal, *, survey_id: int
) -> SurveyView:
    async with uow:
        survey = await _eligible(uow, principal, survey_id)
        return await _view(uow, survey)


async def _eligible(uow: UnitOfWork, principal: Principal, survey_id: int) -> Survey:
    survey = await uow.surveys.get(survey_id)
    if survey is None:
        raise NotFound("survey", survey_id)
    home = principal.home.community_id if principal.home else None
    if home not in await uow.surveys.communities(survey_id):
        raise PermissionDenied()
    if survey.closed_at is not None:
        raise Conflict("survey_closed")
    if await uow.surveys.has_answered(survey_id, principal.person_id):
        raise Conflict("already_answered")
    return survey


async def submit(
    uow: UnitOfWork,
    principal: Principal,
    *,
    survey_id: int,
    choices: Mapping[int, Sequence[int]],
    text: str | None = None,
) -> None:
    """Record one resident's answers; a second submission is refused."""
    async with uow:
        survey = await _eligible(uow, principal, survey_id)
        view = await _view(uow, survey)
        assert principal.home is not None, "_eligible checked the home community"
        response = SurveyResponse(
            survey_id=survey.id,
            person_id=principal.person_id,
            community_id=principal.home.community_id,
            at=utcnow(),
        )
        if not await uow.surveys.add_response(response):
            raise Conflict("already_answered")
        for question in view.questions:
            if question.kind == TEXT:
                _answer_text(uow, response, question, text)
            else:
                _answer_choice(uow, response, question, choices.get(question.id, ()))
        uow.audit.record(
            actor_id=principal.person_id,
            action="survey.answer",
            entity="survey",
            entity_id=survey.id,
        )
        await uow.commit()


def _answer_text(
    uow: UnitOfWork, response: SurveyResponse, question: QuestionView, text: str | None
) -> None:
    """The free text, if any (a text question may stay blank)."""
    if text and text.strip():
        uow.surveys.add(
            SurveyAnswer(response_id=response.id, question_id=question.id, text=text.strip()[:2000])
        )


def _answer_choice(
    uow: UnitOfWork, response: SurveyResponse, question: QuestionView, chosen: Sequence[int]
) -> None:
    """At least one of the question's options (exactly one for a single choice)."""
    valid = {o.id for o in question.options}
    if not set(chosen) <= valid or not chosen:
        raise InvalidInput("answer", f"question {question.id}")
    if question.kind == SINGLE and len(chosen) != 1:
        raise InvalidInput("answer", f"question {question.id}")
    for option_id in sorted(set(chosen)):
        uow.surveys.add(
            SurveyAnswer(response_id=response.id, question_id=question.id, option_id=option_id)
        )


async def my_surveys(uow: UnitOfWork, principal: Principal) -> tuple[SurveyBrief, ...]:
    """Surveys a worker may read results of: those of the communities they cover."""
    async with uow:
        communities = await uow.places.communities_covered(principal, TRIAGE_ROLES)
        if not communities:
            raise PermissionDenied()
        rows = await uow.surveys.in_communities(communities)
        return tuple(SurveyBrief(s.id, s.title) for s in rows)


async def results(uow: UnitOfWork, principal: Principal, *, survey_id: int) -> SurveyView:
    """Aggregated answers of the residents of the communities this worker covers now."""
    async with uow:
        survey = await uow.surveys.get(survey_id)
        if survey is None:
            raise NotFound("survey", survey_id)
        covered = set(await uow.places.communities_covered(principal, TRIAGE_ROLES))
        visible = sorted(covered & set(await uow.surveys.communities(survey_id)))
        if not visible:
            raise PermissionDenied()
        return await _view(uow, survey, results_for=visible)


__all__ = ["MULTI", "SINGLE", "TEXT"]
