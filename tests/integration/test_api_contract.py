"""The API's contract as a city app meets it, end to end on one served bot: it subscribes to
webhooks, files a request for a resident of its area, a worker triages it in chat (through the
Dispatcher), the app's endpoint (a local aiohttp receiver) gets the signed events in order,
and the resident's confirmation through the API closes it. Also: an app outside the area, a
replayed POST, an expired token, and a receiver that fails twice."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import cli
from bot.app import Application, build, outbox_tasks
from bot.channels.webhooks import WebhookSender
from bot.config import load_settings
from bot.domain.enums import Role, ScopeLevel
from bot.services import api_clients, webhooks
from bot.web.api import core as api
from storage.db import make_session_factory
from storage.models import WebhookDelivery
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person

pytestmark = pytest.mark.integration

WORKER, SOCIAL = 7101, 7102
ALL = ("needs:write", "needs:read", "webhooks")
FILING = {"category": "elderly_care", "description": "楼道灯坏了，老人晚上看不见"}


@dataclass
class Receiver:
    """An app's endpoint: answers `failures` times with 500, then 204; keeps every call."""

    failures: int = 0
    calls: list[tuple[dict[str, str], str, int]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        status = 500 if self.failures > 0 else 204
        self.failures -= 1
        self.calls.append((dict(request.headers), body, status))
        return web.Response(status=status)

    def delivered(self) -> list[tuple[dict[str, str], str]]:
        return [(h, b) for h, b, status in self.calls if status == 204]


@pytest.fixture
async def world(uow: UnitOfWork) -> Map:
    world = await make_map(uow)
    c = ScopeLevel.COMMUNITY
    await make_person(
        uow,
        "李社工",
        community=world.community_a1,
        web_id=WORKER,
        grants=((Role.COMMUNITY_WORKER, c, world.community_a1),),
    )
    await make_person(
        uow,
        "刘社工",
        community=world.community_a1,
        web_id=SOCIAL,
        grants=((Role.SOCIAL_WORKER, c, world.community_a1),),
    )
    return world


@pytest.fixture
async def application(database_url: str, world: Map) -> AsyncIterator[Application]:
    settings = load_settings(
        database_url=database_url,
        secret_key="test-secret",
        api_webhook_allow_http_localhost=True,
        api_webhook_backoff_seconds=0,
    )
    app = build(settings)
    yield app
    await app.close()


@pytest.fixture
async def client(application: Application, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(application.web_app)


@pytest.fixture
def sender(application: Application) -> WebhookSender:
    found = [t for t in outbox_tasks(application) if isinstance(t, WebhookSender)]
    assert len(found) == 1  # the bot starts it with the other outbox loops
    return found[0]


async def serve(receiver: Receiver, aiohttp_server: Any) -> str:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    server: TestServer = await aiohttp_server(app)
    return f"http://127.0.0.1:{server.port}/hook"


async def deliver_all(sender: WebhookSender) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(20):
            if not await sender.send_round(http):
                return
    raise AssertionError("the outbox did not drain")


async def bearer(client: TestClient, app: api_clients.Registered) -> dict[str, str]:
    response = await client.post(
        "/api/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app.client.client_id,
            "client_secret": app.secret,
        },
    )
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['access_token']}"}


async def register(uow: UnitOfWork, level: ScopeLevel, area: int) -> api_clients.Registered:
    return await api_clients.register(
        uow, name="渝快社区", scopes=list(ALL), area_level=level, area_id=area
    )


async def subscribe(client: TestClient, headers: dict[str, str], url: str) -> dict[str, Any]:
    made = await client.post(
        "/api/v1/webhooks",
        json={"url": url, "events": ["request.status_changed", "request.note_added"]},
        headers={**headers, "Idempotency-Key": f"sub-{url}"},
    )
    assert made.status == 201, await made.text()
    body: dict[str, Any] = await made.json()
    return body


def verified(secret: str, headers: dict[str, str], body: str) -> bool:
    expected = webhooks.sign(secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
    return expected in headers["webhook-signature"].split(" ")


async def test_an_app_hears_a_request_it_filed_handled_in_chat_in_order_and_closes_it(
    client: TestClient,
    sender: WebhookSender,
    engine: AsyncEngine,
    world: Map,
    uow: UnitOfWork,
    aiohttp_server: Any,
) -> None:
    receiver, elsewhere_receiver = Receiver(), Receiver()
    app = await register(uow, ScopeLevel.STREET, world.street_a)
    auth = await bearer(client, app)
    url = await serve(receiver, aiohttp_server)
    subscription = await subscribe(client, auth, url)
    assert subscription["secret"].startswith("whsec_")
    # A replayed POST with the same Idempotency-Key gets the first answer (one subscription).
    replay = await subscribe(client, auth, url)
    assert replay == subscription
    listed = await (await client.get("/api/v1/webhooks", headers=auth)).json()
    assert [s["id"] for s in listed["items"]] == [subscription["id"]]
    assert "secret" not in listed["items"][0]
    # An app of the other street subscribes too: it must hear nothing of street A.
    other = await register(uow, ScopeLevel.STREET, world.street_b)
    other_auth = await bearer(client, other)
    await subscribe(client, other_auth, await serve(elsewhere_receiver, aiohttp_server))

    headers = {**auth, "Person": "resident-42"}
    filed = await client.post(
        "/api/v1/requests", json={**FILING, "community_id": world.community_a1}, headers=headers
    )
    assert filed.status == 201, await filed.text()
    need = (await filed.json())["request"]
    chat = ChatHarness(engine)
    try:
        await chat.send(WORKER, "/queue")
        await chat.tap(WORKER, need["reference"])
        await chat.tap(WORKER, "受理")
        await chat.tap(WORKER, "分派")
        await chat.tap(WORKER, "刘社工")
        await chat.tap(SOCIAL, "开始办理")
        await chat.tap(SOCIAL, "办结")
        await chat.send(SOCIAL, "已联系物业更换灯泡")
        assert "已请居民确认" in chat.last_text(SOCIAL)
    finally:
        await chat.close()
    # The app outside the area may not read the request.
    refused = await client.get(
        f"/api/v1/requests/{need['id']}", headers={**other_auth, "Person": "resident-42"}
    )
    assert refused.status == 403
    done = await client.post(
        f"/api/v1/requests/{need['id']}/feedback",
        json={"solved": True, "rating": 5},
        headers={**headers, "Idempotency-Key": "feedback-1"},
    )
    assert (await done.json())["state"] == "closed"
    again = await client.post(
        f"/api/v1/requests/{need['id']}/feedback",
        json={"solved": True, "rating": 5},
        headers={**headers, "Idempotency-Key": "feedback-1"},
    )
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await again.json() == await done.json()

    await deliver_all(sender)
    events = [(h, json.loads(b)) for h, b in receiver.delivered()]
    assert all(verified(subscription["secret"], h, b) for h, b in receiver.delivered())
    assert [e["data"]["request"]["state"] for _, e in events] == [
        "new",
        "accepted",
        "assigned",
        "in_progress",
        "resolved",
        "closed",
    ]
    assert {e["type"] for _, e in events} == {"request.status_changed"}
    assert all(e["data"]["person"] == "resident-42" for _, e in events)
    assert len({h["webhook-id"] for h, _ in events}) == len(events)
    assert elsewhere_receiver.calls == []
    # An expired token gets 401 on the webhook routes as everywhere.
    expired = api.make_token(api.token_key(b"test-secret"), app.client.id, int(time.time()) - 1)
    late = await client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {expired}"})
    assert late.status == 401


async def test_a_receiver_that_fails_twice_gets_the_event_on_the_third_try_once(
    client: TestClient,
    sender: WebhookSender,
    engine: AsyncEngine,
    world: Map,
    uow: UnitOfWork,
    aiohttp_server: Any,
) -> None:
    receiver = Receiver(failures=2)
    app = await register(uow, ScopeLevel.DISTRICT, world.district)
    auth = await bearer(client, app)
    subscription = await subscribe(client, auth, await serve(receiver, aiohttp_server))
    filed = await client.post(
        "/api/v1/requests",
        json={**FILING, "community_id": world.community_a2},
        headers={**auth, "Person": "r-7"},
    )
    assert filed.status == 201
    await deliver_all(sender)
    assert [status for _, _, status in receiver.calls] == [500, 500, 204]
    # The same message id on every try, each signed; delivered once.
    assert len({h["webhook-id"] for h, _, _ in receiver.calls}) == 1
    assert all(verified(subscription["secret"], h, b) for h, b, _ in receiver.calls)
    await deliver_all(sender)
    assert len(receiver.calls) == 3
    log = await client.get(f"/api/v1/webhooks/{subscription['id']}/deliveries", headers=auth)
    assert log.status == 200
    (row,) = (await log.json())["items"]
    assert (row["state"], row["attempts"], row["last_status"]) == ("delivered", 3, 204)
    assert row["message_id"] == receiver.calls[0][0]["webhook-id"]
    # The admin reads the same log in the CLI: no URL, no secret, no body.
    out = io.StringIO()
    with redirect_stdout(out):
        assert await cli._deliveries(app.client.client_id, uow) == 0
    printed = out.getvalue()
    assert "delivered attempts=3 status=204" in printed
    assert "127.0.0.1" not in printed and subscription["secret"] not in printed
    assert "楼道灯" not in printed


async def test_a_receiver_that_never_answers_well_is_marked_failed_after_the_cap(
    client: TestClient,
    application: Application,
    engine: AsyncEngine,
    world: Map,
    uow: UnitOfWork,
    aiohttp_server: Any,
) -> None:
    receiver = Receiver(failures=100)
    app = await register(uow, ScopeLevel.DISTRICT, world.district)
    auth = await bearer(client, app)
    await subscribe(client, auth, await serve(receiver, aiohttp_server))
    for n in (1, 2):
        await client.post(
            "/api/v1/requests",
            json={**FILING, "description": f"第{n}件事", "community_id": world.community_a1},
            headers={**auth, "Person": "r-8"},
        )
    settings = application.settings.model_copy(update={"api_webhook_max_attempts": 3})
    sender = WebhookSender(
        lambda: UnitOfWork(application.session_factory),
        outbox_tasks(application)[-1].cipher,  # type: ignore[union-attr]
        settings,
    )
    await deliver_all(sender)
    # The first event is tried 3 times before the second is (order per subscription).
    ids = [h["webhook-id"] for h, _, _ in receiver.calls]
    assert len(ids) == 6 and ids[:3] == [ids[0]] * 3 and ids[3:] == [ids[3]] * 3
    async with make_session_factory(engine)() as session:
        states = (await session.scalars(select(WebhookDelivery.state))).all()
    assert list(states) == ["failed", "failed"]


async def test_webhooks_need_their_scope_and_an_https_endpoint(
    client: TestClient, world: Map, uow: UnitOfWork
) -> None:
    plain = await api_clients.register(
        uow,
        name="只读",
        scopes=["needs:read"],
        area_level=ScopeLevel.DISTRICT,
        area_id=world.district,
    )
    auth = await bearer(client, plain)
    refused = await client.get("/api/v1/webhooks", headers=auth)
    assert refused.status == 403
    assert (await refused.json())["code"] == "insufficient_scope"
    app = await register(uow, ScopeLevel.DISTRICT, world.district)
    auth = await bearer(client, app)
    bad = await client.post(
        "/api/v1/webhooks",
        json={"url": "http://app.example/hook", "events": ["request.status_changed"]},
        headers={**auth, "Accept-Language": "en"},
    )
    assert bad.status == 422
    assert (await bad.json())["errors"][0]["field"] == "url"
    unknown = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://app.example/hook", "events": ["request.eaten"]},
        headers=auth,
    )
    assert unknown.status == 422
    made = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://app.example/hook", "events": ["request.note_added"]},
        headers=auth,
    )
    assert made.status == 201
    sub = (await made.json())["id"]
    assert (await client.delete(f"/api/v1/webhooks/{sub}", headers=auth)).status == 204
    assert (await client.delete(f"/api/v1/webhooks/{sub}", headers=auth)).status == 404
    gone = await client.get(f"/api/v1/webhooks/{sub}/deliveries", headers=auth)
    assert gone.status == 404


async def test_the_sender_returns_after_its_round_when_the_bot_stops(
    sender: WebhookSender,
) -> None:
    sender.idle_seconds = 3600  # without the stopping event it would sleep an hour
    running = asyncio.create_task(sender.run())
    await asyncio.sleep(0.2)
    sender.stopping.set()
    await asyncio.wait_for(running, 5)
    assert running.exception() is None
