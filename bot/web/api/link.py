"""Joining an app's user to the person they already are in chat: the resident asks for a
/link code in chat (WeChat, the web page, Telegram) and types it into the city app, which
sends it here — from then on the app acts for that one person, as a second chat account."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, Field

from bot.services import api_clients
from bot.web.api import common
from bot.web.api import core as api
from bot.web.api.models import PersonId, Strict, Text
from bot.web.api.openapi import IDEMPOTENCY, PERSON


class LinkIn(Strict):
    code: Annotated[Text, Field(min_length=1, max_length=20)] = Field(
        description="The /link code the person got in chat (10 letters and digits, 10 minutes)."
    )
    person: PersonId | None = None


class LinkOut(BaseModel):
    person: str = Field(description="The app's id of the person, now joined to their chats.")
    linked: bool


async def link(request: web.Request) -> web.Response:
    config = request.app[api.config_key]
    client = api._client(request, "needs:write")
    given: LinkIn = await api._body(request, LinkIn)
    external = given.person or request.headers.get("Person") or ""

    async def run() -> api.Answer:
        await api._principal(request, client, given.person)  # checks the Person id
        await api_clients.link_person(
            config.uow(),
            client,
            external_id=external,
            code=given.code,
            locale=api._locale(request, config),
        )
        return 200, LinkOut(person=external, linked=True).model_dump(mode="json")

    return await api._idempotent(request, client, run)


ROUTES = [("POST", "/link", link)]
MODELS = [LinkIn, LinkOut]
PATHS: dict[str, Any] = {
    "/link": {
        "post": common.operation(
            "linkPerson",
            "Join the app's user to the person who asked for this /link code in chat "
            "(a person of the app's area)",
            "needs:write",
            [PERSON, IDEMPOTENCY],
            common.answer(LinkOut, "Linked", read=False),
            body=LinkIn,
        )
    },
}
