"""The HTTP API for city apps, as an app calls it: register, token, file a request for a
resident of its area, a worker triages it in chat, the app follows it and the resident's
feedback through the API closes it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import __main__ as entry
from bot import cli
from bot.app import Application, build
from bot.config import load_settings
from bot.domain.broadcasts import Audience, AudienceKind
from bot.domain.enums import Role, ScopeLevel
from bot.services import api_clients
from bot.web.api import core as api
from storage.db import make_session_factory
from storage.models import AuditEntry, Need
from storage.uow import UnitOfWork
from tests.support.api_app import bearer, register
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person

pytestmark = pytest.mark.integration

WORKER, SOCIAL = 7001, 7002


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
    app = build(load_settings(database_url=database_url, secret_key="test-secret"))
    yield app
    await app.close()


@pytest.fixture
async def client(application: Application, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(application.web_app)


FILING = {"category": "elderly_care", "description": "楼道灯坏了，老人晚上看不见"}


async def test_an_app_files_follows_and_closes_a_request_that_a_worker_handles_in_chat(
    client: TestClient, engine: AsyncEngine, world: Map, uow: UnitOfWork
) -> None:
    app = await register(uow, ScopeLevel.STREET, world.street_a)
    headers = {**await bearer(client, app), "Person": "resident-42"}
    filed = await client.post(
        "/api/v1/requests", json={**FILING, "community_id": world.community_a1}, headers=headers
    )
    assert filed.status == 201, await filed.text()
    body = await filed.json()
    need = body["request"]
    assert need["state"] == "new" and need["reference"].startswith("A1-")
    assert need["created_at"].endswith("+08:00")  # RFC 3339 with the offset
    assert filed.headers["RateLimit-Policy"] == '"app";q=120;w=60'
    # The worker sees it in chat and triages it there; the assignee resolves it.
    chat = ChatHarness(engine)
    try:
        await chat.send(WORKER, "/queue")
        assert need["reference"] in chat.last_text(WORKER)
        await chat.tap(WORKER, need["reference"])
        assert "楼道灯坏了" in chat.last_text(WORKER)
        await chat.tap(WORKER, "受理")
        await chat.tap(WORKER, "分派")
        await chat.tap(WORKER, "刘社工")
        await chat.tap(SOCIAL, "开始办理")
        await chat.tap(SOCIAL, "办结")
        await chat.send(SOCIAL, "已联系物业更换灯泡")
        assert "已请居民确认" in chat.last_text(SOCIAL)
    finally:
        await chat.close()
    # The app reads where it stands, with its public history.
    got = await client.get(f"/api/v1/requests/{need['id']}", headers=headers)
    assert got.status == 200
    detail = await got.json()
    assert detail["state"] == "resolved"
    assert detail["resolution"] == "已联系物业更换灯泡"
    assert [e["to_state"] for e in detail["history"] if e["to_state"]] == [
        "accepted",
        "assigned",
        "in_progress",
        "resolved",
    ]
    mine = await client.get("/api/v1/requests?mine", headers=headers)
    assert [r["id"] for r in (await mine.json())["items"]] == [need["id"]]
    # The resident confirms through the app: closed, rated.
    done = await client.post(
        f"/api/v1/requests/{need['id']}/feedback",
        json={"solved": True, "rating": 5},
        headers=headers,
    )
    assert done.status == 200, await done.text()
    assert (await done.json())["state"] == "closed"
    async with make_session_factory(engine)() as session:
        calls = (
            await session.scalars(
                select(AuditEntry.details["route"].as_string()).where(
                    AuditEntry.action == "api.call", AuditEntry.entity_id == app.client.id
                )
            )
        ).all()
    assert "POST /api/v1/requests" in calls and "POST /api/v1/requests/{id}/feedback" in calls


async def test_an_app_outside_the_area_is_refused(
    client: TestClient, world: Map, uow: UnitOfWork
) -> None:
    elsewhere = await register(uow, ScopeLevel.STREET, world.street_b)
    headers = {**await bearer(client, elsewhere), "Person": "r1"}
    refused = await client.post(
        "/api/v1/requests", json={**FILING, "community_id": world.community_a1}, headers=headers
    )
    assert refused.status == 403
    assert refused.content_type == "application/problem+json"
    # A request of street A filed by an app of street A is not readable by the street B app.
    ours = await register(uow, ScopeLevel.STREET, world.street_a)
    mine = {**await bearer(client, ours), "Person": "r2"}
    filed = await client.post(
        "/api/v1/requests", json={**FILING, "community_id": world.community_a1}, headers=mine
    )
    need_id = (await filed.json())["request"]["id"]
    other = await client.get(f"/api/v1/requests/{need_id}", headers={**headers, "Person": "r2"})
    assert other.status == 403
    # Another resident of the same app cannot read it either (the service's own check).
    stranger = await client.get(f"/api/v1/requests/{need_id}", headers={**mine, "Person": "r3"})
    assert stranger.status == 403


async def test_a_retried_post_with_the_same_idempotency_key_files_once(
    client: TestClient, world: Map, uow: UnitOfWork, engine: AsyncEngine
) -> None:
    app = await register(uow, ScopeLevel.DISTRICT, world.district)
    headers = {**await bearer(client, app), "Person": "r1", "Idempotency-Key": "k-1"}
    payload = {**FILING, "community_id": world.community_a1}
    first = await client.post("/api/v1/requests", json=payload, headers=headers)
    again = await client.post("/api/v1/requests", json=payload, headers=headers)
    assert (first.status, again.status) == (201, 201)
    assert await first.json() == await again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    async with make_session_factory(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Need)) == 1
    other = await client.post(
        "/api/v1/requests", json={**payload, "description": "另一件事"}, headers=headers
    )
    assert other.status == 422
    assert (await other.json())["code"] == "idempotency_key_reused"


async def test_two_concurrent_posts_with_one_key_file_one_request(
    client: TestClient, world: Map, uow: UnitOfWork, engine: AsyncEngine
) -> None:
    app = await register(uow, ScopeLevel.DISTRICT, world.district)
    headers = {**await bearer(client, app), "Person": "r1", "Idempotency-Key": "same"}
    payload = {**FILING, "community_id": world.community_a1}
    answers = await asyncio.gather(
        *(client.post("/api/v1/requests", json=payload, headers=headers) for _ in range(4))
    )
    statuses = sorted(r.status for r in answers)
    # Each answer is the first one (201) or "the first is still running" (409), never a
    # second filing.
    assert set(statuses) <= {201, 409} and 201 in statuses
    async with make_session_factory(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Need)) == 1


async def test_expired_forged_and_revoked_tokens_get_401(
    client: TestClient, world: Map, uow: UnitOfWork
) -> None:
    app = await register(uow, ScopeLevel.DISTRICT, world.district)
    key = api.token_key(b"test-secret")
    expired = api.make_token(key, app.client.id, int(time.time()) - 1)
    forged = api.make_token(b"another key", app.client.id, int(time.time()) + 3600)
    for token in (expired, forged, "nonsense", ""):
        response = await client.get(
            "/api/v1/requests", headers={"Authorization": f"Bearer {token}", "Person": "r1"}
        )
        assert response.status == 401, token
        assert response.content_type == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    headers = {**await bearer(client, app), "Person": "r1"}
    assert (await client.get("/api/v1/requests", headers=headers)).status == 200
    await api_clients.revoke(uow, client_id=app.client.client_id)
    assert (await client.get("/api/v1/requests", headers=headers)).status == 401
    wrong = await client.post(
        "/api/v1/token",
        json={
            "grant_type": "client_credentials",
            "client_id": app.client.client_id,
            "client_secret": app.secret,
        },
    )
    assert wrong.status == 401


async def test_a_bad_field_is_a_problem_naming_it_in_chinese_and_english(
    client: TestClient, world: Map, uow: UnitOfWork
) -> None:
    app = await register(uow, ScopeLevel.DISTRICT, world.district)
    headers = {**await bearer(client, app), "Person": "r1"}
    bad = {"category": "elderly_care", "description": "x", "urgency": "soon", "colour": 1}
    zh = await client.post("/api/v1/requests", json=bad, headers=headers)
    en = await client.post(
        "/api/v1/requests", json=bad, headers={**headers, "Accept-Language": "en-GB,en;q=0.8"}
    )
    assert (zh.status, en.status) == (422, 422)
    assert zh.content_type == "application/problem+json"
    zh_body, en_body = await zh.json(), await en.json()
    assert {e["field"] for e in zh_body["errors"]} == {"urgency", "colour"}
    assert zh_body["title"] == "有些字段不正确。"
    assert en_body["title"] == "Some fields are not valid."
    messages = {e["field"]: e["message"] for e in en_body["errors"]}
    assert messages["colour"] == "This field is not allowed."
    assert messages["urgency"].startswith("Must be one of:")
    assert {e["field"]: e["message"] for e in zh_body["errors"]}["colour"] == "不允许这个字段。"


async def test_errors_are_json_and_the_document_is_served(client: TestClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status == 404
    assert missing.content_type == "application/problem+json"
    cross_site = await client.post(
        "/api/v1/token",
        json={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert cross_site.status == 401  # no CSRF refusal for the API: the credentials decide
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    assert "/requests/{id}/feedback" in document["paths"]
    page = await client.get("/api/v1/docs")
    assert "POST /api/v1/requests" in await page.text()


async def test_an_app_over_its_rate_limit_gets_429_with_retry_after(
    database_url: str, world: Map, uow: UnitOfWork, aiohttp_client: Any
) -> None:
    application = build(
        load_settings(database_url=database_url, secret_key="test-secret", rate_api_client="2/60")
    )
    try:
        client = await aiohttp_client(application.web_app)
        app = await register(uow, ScopeLevel.DISTRICT, world.district)
        headers = {**await bearer(client, app), "Person": "r1"}
        statuses = [(await client.get("/api/v1/requests", headers=headers)) for _ in range(3)]
        assert [r.status for r in statuses] == [200, 200, 429]
        assert statuses[0].headers["RateLimit"].startswith('"app";r=1;t=')
        assert int(statuses[2].headers["Retry-After"]) >= 1
        assert statuses[2].content_type == "application/problem+json"
    finally:
        await application.close()


async def run_cli(database_url: str, *argv: str) -> int:
    return await cli.dispatch(
        entry._parser().parse_args(argv), load_settings(database_url=database_url)
    )


async def test_the_cli_registers_lists_and_revokes_an_app(
    database_url: str, world: Map, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await run_cli(
        database_url,
        "api",
        "register-app",
        "--name",
        "渝快社区",
        "--scopes",
        "needs:write,needs:read",
        "--street",
        str(world.street_a),
    )
    assert code == 0
    out = capsys.readouterr().out
    client_id = out.split("client_id:")[1].split()[0]
    secret = out.split("client_secret:")[1].split()[0]
    assert secret not in client_id and len(secret) > 30
    assert await run_cli(database_url, "api", "list-apps") == 0
    listed = capsys.readouterr().out
    assert client_id in listed and "active" in listed and secret not in listed
    assert await run_cli(database_url, "api", "revoke-app", client_id) == 0
    assert await run_cli(database_url, "api", "list-apps") == 0
    assert "revoked" in capsys.readouterr().out


async def test_a_nul_or_a_lone_surrogate_in_the_credentials_is_refused_not_a_500(
    client: TestClient,
) -> None:
    # Found by schemathesis on PostgreSQL, which refuses NUL in text.
    nul = await client.post(
        "/api/v1/token",
        json={"grant_type": "client_credentials", "client_id": "app_\0", "client_secret": "x\0"},
    )
    assert nul.status == 401
    surrogate = await client.post(
        "/api/v1/token",
        data='{"grant_type": "client_credentials", "client_id": "\\ud800", "client_secret": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.status == 422
    assert (await surrogate.json())["errors"][0]["field"] == "body"


async def test_a_broadcast_to_residents_leaves_out_accounts_no_chat_can_reach(
    client: TestClient, world: Map, uow: UnitOfWork
) -> None:
    app = await register(uow, ScopeLevel.STREET, world.street_a)
    headers = {**await bearer(client, app), "Person": "r1"}
    filed = await client.post(
        "/api/v1/requests", json={**FILING, "community_id": world.community_a1}, headers=headers
    )
    assert filed.status == 201
    audience = Audience(AudienceKind.RESIDENTS, (world.community_a1,))
    async with uow:
        accounts = await uow.broadcasts.audience_accounts(audience, 0)
    # The two workers' web chats are there; the app's resident (channel app) is not, so no
    # outbox row waits for a sender that does not exist.
    assert sorted(str(a[1]) for a in accounts) == ["web", "web"]


async def test_first_answers_are_forgotten_after_a_day(
    client: TestClient, world: Map, uow: UnitOfWork
) -> None:
    app = await register(uow, ScopeLevel.DISTRICT, world.district)
    headers = {**await bearer(client, app), "Person": "r1", "Idempotency-Key": "old"}
    payload = {**FILING, "community_id": world.community_a1}
    assert (await client.post("/api/v1/requests", json=payload, headers=headers)).status == 201
    assert await api_clients.prune_keys(uow) == 0
    later = datetime.now(UTC) + timedelta(days=1, minutes=1)
    assert await api_clients.prune_keys(uow, now=later) == 1


async def test_me_too_is_counted_once_and_lets_the_neighbour_follow_the_request(
    client: TestClient, world: Map, uow: UnitOfWork
) -> None:
    app = await register(uow, ScopeLevel.STREET, world.street_a)
    auth = await bearer(client, app)
    payload = {**FILING, "community_id": world.community_a1}
    first = await client.post("/api/v1/requests", json=payload, headers={**auth, "Person": "r1"})
    need_id = (await first.json())["request"]["id"]
    neighbour = {**auth, "Person": "r2"}
    # Not a resident anywhere yet: the service refuses; once living in A1 it counts.
    assert (
        await client.post(f"/api/v1/requests/{need_id}/support", headers=neighbour)
    ).status == 403
    own = {**payload, "description": "我家门口的灯也坏了"}
    assert (await client.post("/api/v1/requests", json=own, headers=neighbour)).status == 201
    counted = await client.post(f"/api/v1/requests/{need_id}/support", headers=neighbour)
    assert counted.status == 200 and (await counted.json())["supporters"] == 1
    twice = await client.post(f"/api/v1/requests/{need_id}/support", headers=neighbour)
    assert twice.status == 409 and (await twice.json())["code"] == "already_supporting"
    followed = await client.get(f"/api/v1/requests/{need_id}", headers=neighbour)
    assert followed.status == 200 and (await followed.json())["supporters"] == 1


async def test_a_photo_given_by_its_https_address_reaches_the_worker_as_a_link(
    client: TestClient, engine: AsyncEngine, world: Map, uow: UnitOfWork
) -> None:
    app = await register(uow, ScopeLevel.STREET, world.street_a)
    headers = {**await bearer(client, app), "Person": "resident-43"}
    filing = {**FILING, "community_id": world.community_a1}
    for bad in ("http://photos.example.org/a.jpg", "https://user:pw@photos.example.org/a.jpg"):
        refused = await client.post(
            "/api/v1/requests", json={**filing, "photo_url": bad}, headers=headers
        )
        assert refused.status == 422, bad
        assert (await refused.json())["errors"][0]["field"] == "photo_url"
    address = "https://photos.example.org/corridor/lamp.jpg?size=large"
    filed = await client.post(
        "/api/v1/requests", json={**filing, "photo_url": address}, headers=headers
    )
    assert filed.status == 201, await filed.text()
    reference = (await filed.json())["request"]["reference"]
    chat = ChatHarness(engine)
    try:
        await chat.send(WORKER, "/queue")
        await chat.tap(WORKER, reference)
        # The address, as a link (the page shows the text; Telegram would show the photo).
        assert "照片：https://photos.example.org/corridor/lamp.jpg" in chat.last_text(WORKER)
    finally:
        await chat.close()
