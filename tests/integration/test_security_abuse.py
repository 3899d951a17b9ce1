"""Abuse of the web endpoints: floods are refused with a translated "wait N seconds" (429 with
Retry-After), nobody gets a person row for opening the page, odd numbers and malformed JSON
are a 400 — never a hang, a 500, or a silent drop."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram.types import Update
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Application, build
from bot.config import ConfigError, load_settings
from bot.domain.enums import Channel
from bot.limits import Limit, MemoryRateStore, RateLimiter, RedisRateStore
from bot.web import guard
from storage.db import make_session_factory
from storage.models import Person
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.databases import require_env
from tests.support.factories import make_map


async def people_count(engine: AsyncEngine) -> int:
    async with make_session_factory(engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(Person)) or 0)


@pytest.fixture
async def application(database_url: str, uow: UnitOfWork) -> AsyncIterator[Application]:
    await make_map(uow)
    app = build(load_settings(database_url=database_url, secret_key="test-secret"))
    yield app
    await app.close()


@pytest.fixture
async def client(application: Application, aiohttp_client: Any) -> TestClient:
    # One instant: every request falls in the same window of each limit.
    application.web_app[guard.limiter_key].clock = lambda: 1_000_000.5
    return await aiohttp_client(application.web_app)


async def test_a_flood_of_sends_is_refused_with_a_translated_wait(
    client: TestClient, application: Application
) -> None:
    await client.get("/", headers={"Accept-Language": "zh-CN"})
    statuses = []
    refusal: dict[str, Any] = {}
    retry_after = ""
    for n in range(300):
        response = await client.post(
            "/chat/api/send", json={"text": f"/help {n}"}, headers={"Accept-Language": "zh-CN"}
        )
        statuses.append(response.status)
        if response.status == 429 and not refusal:
            refusal = await response.json()
            retry_after = response.headers["Retry-After"]
    await application.webchat.drain()
    assert statuses.count(200) == 20
    assert statuses.count(429) == 280
    assert refusal["error"] == "too_fast"
    assert retry_after == "10" and refusal["retry_after"] == 10
    assert refusal["message"] == f"您操作太快了，请等 {retry_after} 秒后再试。"


async def test_too_many_verify_guesses_get_a_translated_429_page(client: TestClient) -> None:
    statuses = []
    page = ""
    for n in range(300):
        response = await client.get(f"/verify/GUESS{n:05d}", headers={"Accept-Language": "en-US"})
        statuses.append(response.status)
        if response.status == 429 and not page:
            page = await response.text()
            assert response.headers["Retry-After"].isdigit()
    assert statuses.count(404) == 30
    assert statuses.count(429) == 270
    assert "Too many requests. Please wait" in page and '<html lang="en">' in page


async def test_new_sessions_from_one_address_are_limited(client: TestClient) -> None:
    statuses = []
    for _ in range(200):
        client.session.cookie_jar.clear()
        statuses.append((await client.get("/")).status)
    assert statuses.count(200) == 20
    assert statuses.count(429) == 180
    # A browser that already has its cookie keeps working.
    await asyncio.sleep(0)
    assert (await client.get("/static/chat.css")).status == 200


async def test_the_dashboard_is_limited_per_address(client: TestClient) -> None:
    statuses = [(await client.get("/dashboard?t=guess")).status for _ in range(40)]
    assert statuses.count(429) == 10


async def test_opening_the_page_and_polling_create_nobody_a_message_creates_one(
    client: TestClient, application: Application, engine: AsyncEngine
) -> None:
    before = await people_count(engine)
    for _ in range(5):
        client.session.cookie_jar.clear()
        await client.get("/")
        await client.get("/chat/api/events?after=0&timeout=0")
    assert await people_count(engine) == before
    await client.post("/chat/api/send", json={"text": "你好"})
    await application.webchat.drain()
    assert await people_count(engine) == before + 1


async def test_a_tap_from_someone_unknown_creates_nobody_and_points_to_start(
    engine: AsyncEngine,
) -> None:
    chat = ChatHarness(engine, channel=Channel.TELEGRAM)
    try:
        chat.hub.remember_query("q1", 9301)
        update = Update.model_validate(
            {
                "update_id": 77,
                "callback_query": {
                    "id": "q1",
                    "from": chat.webchat.user(9301, "zh"),
                    "chat_instance": "1",
                    "data": "lang:zh",
                },
            }
        )
        chat.hub.conversation(9301)
        await chat.dispatcher.feed_update(chat.bot, update, channel=Channel.TELEGRAM)
        membership = Update.model_validate(
            {
                "update_id": 78,
                "my_chat_member": {
                    "chat": {"id": 9302, "type": "private"},
                    "from": chat.webchat.user(9302, "zh"),
                    "date": int(time.time()),
                    "old_chat_member": {"status": "member", "user": chat.webchat.user(1, "zh")},
                    "new_chat_member": {
                        "status": "kicked",
                        "user": chat.webchat.user(1, "zh"),
                        "until_date": 0,
                    },
                },
            }
        )
        await chat.dispatcher.feed_update(chat.bot, membership, channel=Channel.TELEGRAM)
        assert chat.alerts(9301) == ["此按钮已失效，请发送 /start 重新开始。"]
        assert await people_count(engine) == 0
        await chat.send(9301, "/start")
        assert await people_count(engine) == 1
    finally:
        await chat.close()


@pytest.mark.parametrize(
    "query",
    [
        "timeout=nan",
        "timeout=inf",
        "timeout=-inf",
        "timeout=-1",
        "timeout=31",
        "timeout=1e999",
        "timeout=abc",
        "after=-1",
        "after=1e3",
        "after=" + "9" * 30,
    ],
)
async def test_odd_numbers_in_the_query_are_a_400_at_once(client: TestClient, query: str) -> None:
    await client.get("/")
    response = await asyncio.wait_for(client.get(f"/chat/api/events?{query}"), timeout=5)
    assert response.status == 400
    assert (await response.json())["error"] == "bad_query"


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000,
        "{" * 100_000,
        '{"a":' * 50_000,
        '{"text": NaN}',
        '{"text": "x"',
        "\ufeff{}",
        "",
        "null",
        '"text"',
        "[1, 2]",
    ],
)
async def test_malformed_json_of_any_shape_is_a_400(client: TestClient, body: str) -> None:
    await client.get("/")
    for path in ("/chat/api/send", "/chat/api/callback", "/chat/api/location"):
        response = await client.post(
            path, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        assert response.status == 400, (path, body[:20])
        assert (await response.json())["error"] == "bad_json"


def test_limits_are_settings() -> None:
    settings = load_settings(rate_chat_session="5/2", rate_verify_address="0/1")
    assert settings.limit("chat_session") == Limit(5, 2.0)
    assert not settings.limit("verify_address").enabled
    with pytest.raises(ConfigError, match="RATE_CHAT_ADDRESS"):
        load_settings(rate_chat_address="fast")


async def test_a_limit_opens_again_after_its_window() -> None:
    now = [1000.0]
    limiter = RateLimiter(MemoryRateStore(), clock=lambda: now[0])
    limit = Limit(2, 10)
    assert [await limiter.check("k", limit) for _ in range(3)] == [None, None, 10]
    now[0] += 4
    assert await limiter.check("k", limit) == 6
    now[0] += 6
    assert await limiter.check("k", limit) is None


async def test_the_redis_store_is_shared_by_processes() -> None:
    from redis.asyncio import Redis

    url = require_env("TEST_REDIS_URL", "Redis")
    first, second = Redis.from_url(url), Redis.from_url(url)
    key = f"test-{time.time_ns()}"
    try:
        one = RateLimiter(RedisRateStore(first, prefix="test:rate"))
        two = RateLimiter(RedisRateStore(second, prefix="test:rate"))
        limit = Limit(3, 60)
        answers = [await (one if n % 2 else two).check(key, limit) for n in range(5)]
        assert answers[:3] == [None, None, None]
        assert answers[3] is not None and answers[4] is not None
        # Thirty requests at once (one round trip or two): each counted once, with the expiry.
        store = RedisRateStore(first, prefix="test:rate")
        counts = await asyncio.gather(*(store.hit(f"{key}-b", 60, 0.0) for _ in range(30)))
        assert sorted(counts) == list(range(1, 31))
        assert store.batch.batches_sent <= 2
        assert 0 < await first.ttl(f"test:rate:{key}-b:0") <= 61
    finally:
        await first.aclose()
        await second.aclose()
