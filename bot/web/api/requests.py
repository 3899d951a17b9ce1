"""The residents' requests: file one, say "me too", list one's own, read one, give feedback."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.domain.errors import InvalidInput
from bot.domain.needs import photo_of_url
from bot.services import api_clients, needs
from bot.web.api.core import (
    Answer,
    _b64,
    _body,
    _client,
    _cursor,
    _idempotent,
    _invalid,
    _need_id,
    _principal,
    _request_out,
    _respond,
    _time,
    config_key,
)
from bot.web.api.models import (
    EventOut,
    FeedbackIn,
    FiledOut,
    RequestDetailOut,
    RequestIn,
    RequestPage,
)


async def file_request(request: web.Request) -> web.Response:
    config = request.app[config_key]
    client = _client(request, "needs:write")
    given: RequestIn = await _body(request, RequestIn)

    async def run() -> Answer:
        principal = await _principal(request, client, given.person, given.community_id)
        if principal.home is None:
            raise InvalidInput("community_id", "required")
        filed = await needs.file_need(
            config.uow(),
            config.notifier(),
            principal,
            category=given.category,
            description=given.description,
            urgency=given.urgency,
            beneficiary=given.beneficiary,
            latitude=given.latitude,
            longitude=given.longitude,
            wants_visit=given.wants_visit,
            contact_phone=given.contact_phone,
            address=given.address,
            photo=photo_of_url(given.photo_url),
            tz=config.tz,
        )
        out = FiledOut(request=_request_out(filed.need, config.tz), emergency=filed.emergency)
        return 201, out.model_dump(mode="json")

    return await _idempotent(request, client, run)


async def support_request(request: web.Request) -> web.Response:
    client = _client(request, "needs:write")
    need_id = _need_id(request)
    config = request.app[config_key]

    async def run() -> Answer:
        principal = await _principal(request, client, None)
        await api_clients.require_need_in_area(config.uow(), client, need_id=need_id)
        brief = await needs.support_need(config.uow(), principal, need_id=need_id)
        return 200, _request_out(brief, config.tz).model_dump(mode="json")

    return await _idempotent(request, client, run)


async def list_requests(request: web.Request) -> web.Response:
    config = request.app[config_key]
    client = _client(request, "needs:read")
    unknown = set(request.query) - {"mine", "cursor"}
    if unknown:
        raise _invalid([(name, _("This field is not allowed.")) for name in sorted(unknown)])
    if request.query.get("mine", "true") not in ("true", ""):
        raise _invalid([("mine", _("This value is not valid."))])
    page_number = _cursor(request.query.get("cursor"))
    principal = await _principal(request, client, None)
    page = await needs.my_needs(config.uow(), principal, page=page_number)
    more = (page_number + 1) * page.per_page < page.total
    out = RequestPage(
        items=[_request_out(brief, config.tz) for brief in page.items],
        next_cursor=_b64(json.dumps({"p": page_number + 1}).encode()) if more else None,
    )
    return _respond(200, out.model_dump(mode="json"))


def _detail_out(detail: needs.NeedDetail, tz: ZoneInfo) -> RequestDetailOut:
    brief = _request_out(detail.brief, tz)
    return RequestDetailOut(
        **brief.model_dump(),
        beneficiary=detail.beneficiary,
        resolution=detail.resolution,
        closure_reason=detail.closure_reason,
        history=[
            EventOut(
                at=_time(e.at, tz),
                kind=e.kind,
                from_state=e.from_state,
                to_state=e.to_state,
                text=e.text,
            )
            for e in detail.events
            if e.public
        ],
    )


async def get_request(request: web.Request) -> web.Response:
    config = request.app[config_key]
    client = _client(request, "needs:read")
    need_id = _need_id(request)
    principal = await _principal(request, client, None)
    await api_clients.require_need_in_area(config.uow(), client, need_id=need_id)
    detail = await needs.need_detail(config.uow(), principal, need_id=need_id)
    return _respond(200, _detail_out(detail, config.tz).model_dump(mode="json"))


async def feedback(request: web.Request) -> web.Response:
    config = request.app[config_key]
    client = _client(request, "needs:write")
    need_id = _need_id(request)
    given: FeedbackIn = await _body(request, FeedbackIn)

    async def run() -> Answer:
        principal = await _principal(request, client, given.person)
        await api_clients.require_need_in_area(config.uow(), client, need_id=need_id)
        brief = await needs.give_feedback(
            config.uow(),
            config.notifier(),
            principal,
            need_id=need_id,
            solved=given.solved,
            rating=given.rating,
            comment=given.comment,
        )
        return 200, _request_out(brief, config.tz).model_dump(mode="json")

    return await _idempotent(request, client, run)


ROUTES = [
    ("POST", "/requests", file_request),
    ("GET", "/requests", list_requests),
    ("GET", "/requests/{id}", get_request),
    ("POST", "/requests/{id}/support", support_request),
    ("POST", "/requests/{id}/feedback", feedback),
]
