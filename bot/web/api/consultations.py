"""Consultations (议事协商) for city apps: the open ones of the app's area with their options,
and a resident's vote through the same service as in chat — one ballot per person, changed
(not added to) by a second vote while voting is open, as in chat."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiohttp import web
from pydantic import BaseModel

from bot.domain.consultations import Phase
from bot.services import consultations
from bot.services.consultations import ConsultationView
from bot.web.api import common
from bot.web.api import core as api
from bot.web.api.models import DbInt, PersonId, Strict
from bot.web.api.openapi import IDEMPOTENCY, PERSON


class OptionOut(BaseModel):
    id: int
    text: str


class ConsultationOut(BaseModel):
    id: int
    title: str
    background: str
    phase: Phase
    discussion_ends_at: datetime
    voting_ends_at: datetime
    options: list[OptionOut]
    anonymous: bool
    major: bool
    meeting_at: datetime | None
    meeting_place: str | None
    community_ids: list[int]


class ConsultationList(BaseModel):
    items: list[ConsultationOut]


class VoteIn(Strict):
    option_id: DbInt
    person: PersonId | None = None


class VoteOut(BaseModel):
    consultation_id: int
    option_id: int


def consultation_out(view: ConsultationView, tz: ZoneInfo) -> ConsultationOut:
    return ConsultationOut(
        id=view.id,
        title=view.title,
        background=view.background,
        phase=view.phase,
        discussion_ends_at=view.schedule.discussion_ends_at.astimezone(tz),
        voting_ends_at=view.schedule.voting_ends_at.astimezone(tz),
        options=[OptionOut(id=o.id, text=o.text) for o in view.options],
        anonymous=view.anonymous,
        major=view.major,
        meeting_at=view.meeting_at.astimezone(tz) if view.meeting_at else None,
        meeting_place=view.meeting_place,
        community_ids=list(view.community_ids),
    )


async def open_consultations(request: web.Request) -> web.Response:
    config, _client, principal = common.area(request, "needs:read")
    common.only(request, "community_id")
    community = common.id_query(request, "community_id")
    found = await consultations.area_open(config.uow(), principal, community_id=community)
    items = [consultation_out(view, config.tz) for view in found]
    return common.ok(ConsultationList(items=items))


async def one_consultation(request: web.Request) -> web.Response:
    config, _client, principal = common.area(request, "needs:read")
    common.only(request)
    view = await consultations.area_view(
        config.uow(), principal, consultation_id=common.path_id(request)
    )
    return common.ok(consultation_out(view, config.tz))


async def vote(request: web.Request) -> web.Response:
    config, client, area = common.area(request, "needs:write")
    consultation_id = common.path_id(request)
    given: VoteIn = await api._body(request, VoteIn)
    cipher = config.cipher
    if cipher is None:  # only an ApiConfig built without one (the app always gives it)
        raise api.ApiProblem(404, "not_found", _("Not found."))

    async def run() -> api.Answer:
        person = await api._principal(request, client, given.person)
        await consultations.area_view(config.uow(), area, consultation_id=consultation_id)
        await consultations.vote(
            config.uow(),
            cipher,
            person,
            consultation_id=consultation_id,
            option_id=given.option_id,
        )
        out = VoteOut(consultation_id=consultation_id, option_id=given.option_id)
        return 200, out.model_dump(mode="json")

    return await api._idempotent(request, client, run)


ROUTES = [
    ("GET", "/consultations", open_consultations),
    ("GET", "/consultations/{id}", one_consultation),
    ("POST", "/consultations/{id}/vote", vote),
]
MODELS = [ConsultationList, ConsultationOut, VoteIn, VoteOut]
CONSULTATION_ID = common.id_parameter("id", "path")
PATHS: dict[str, Any] = {
    "/consultations": {
        "get": common.operation(
            "openConsultations",
            "Consultations of the app's area in discussion or voting, with their options",
            "needs:read",
            [common.id_parameter("community_id", description="One community of the area.")],
            common.answer(ConsultationList, "The consultations"),
        )
    },
    "/consultations/{id}": {
        "get": common.operation(
            "getConsultation",
            "One consultation of the app's area with its options",
            "needs:read",
            [CONSULTATION_ID],
            common.answer(ConsultationOut, "The consultation"),
        )
    },
    "/consultations/{id}/vote": {
        "post": common.operation(
            "vote",
            "The person's vote (a resident of a community taking part, while voting is "
            "open); one ballot per person: a second vote changes it, as in chat",
            "needs:write",
            [CONSULTATION_ID, PERSON, IDEMPOTENCY],
            common.answer(VoteOut, "Counted", read=False),
            body=VoteIn,
        )
    },
}
