"""Telegram redelivers an update when the webhook's answer is slow: a replayed update id is
dropped — no second request filed, no second answer — through the Dispatcher and through the
webhook. The ids are kept per bot, bounded (the database, or Redis when configured)."""

import asyncio
import contextlib
import time
from typing import Any

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Update
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build
from bot.config import load_settings
from bot.domain.enums import Channel
from bot.replays import RedisSeenUpdates
from storage.db import make_session_factory
from storage.models import Need, ProcessedUpdate
from storage.repositories import replays
from storage.repositories.replays import DatabaseSeenUpdates
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.databases import require_env
from tests.support.factories import make_map
from tests.support.fake_telegram import FakeTelegram

RESIDENT = 8201
PATH = ("渝北区", "甲街道", "甲一社区")


async def count(engine: AsyncEngine, model: Any) -> int:
    async with make_session_factory(engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def up_to_confirmation(chat: ChatHarness) -> Update:
    """A request from Telegram up to its last screen; returns the tap on 确认 (not sent)."""
    await chat.onboard(RESIDENT, path=PATH)
    await chat.send(RESIDENT, "/need")
    await chat.tap(RESIDENT, "养老服务")
    await chat.send(RESIDENT, "楼道灯坏了")
    for label in ("跳过", "一般", "本人", "不用上门"):
        await chat.tap(RESIDENT, label)
    message_id, data = chat.find_button(RESIDENT, "确认")
    message = chat.hub.conversation(RESIDENT).messages[message_id]
    return Update.model_validate(
        {
            "update_id": 424242,
            "callback_query": {
                "id": "tap-confirm",
                "from": chat.webchat.user(RESIDENT, "zh"),
                "chat_instance": "1",
                "message": {k: v for k, v in message.items() if not k.startswith("_")},
                "data": data,
            },
        }
    )


async def deliver_twice_at_once(engine: AsyncEngine) -> None:
    """Telegram resends the tap while the first delivery is still being handled — by another
    bot process behind the webhook's load balancer (the same store, the same FSM state)."""
    first = ChatHarness(engine, channel=Channel.TELEGRAM)
    second = ChatHarness(
        engine, channel=Channel.TELEGRAM, storage=first.dispatcher.storage, hub=first.hub
    )
    try:
        tap = await up_to_confirmation(first)

        async def deliver(chat: ChatHarness) -> None:
            chat.hub.remember_query("tap-confirm", RESIDENT)
            with contextlib.suppress(TelegramBadRequest):  # the tap is answered once
                await chat.dispatcher.feed_update(chat.bot, tap, channel=Channel.TELEGRAM)

        await asyncio.gather(deliver(first), deliver(second))
        await first.webchat.drain()
    finally:
        await first.close()


async def test_a_tap_delivered_twice_files_one_request(
    engine: AsyncEngine, uow: UnitOfWork
) -> None:
    await make_map(uow)
    await deliver_twice_at_once(engine)
    assert await count(engine, Need) == 1


async def test_a_replayed_message_gets_no_second_answer(
    engine: AsyncEngine, uow: UnitOfWork
) -> None:
    await make_map(uow)
    chat = ChatHarness(engine, channel=Channel.TELEGRAM)
    try:
        update = Update.model_validate(
            {
                "update_id": 5151,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": RESIDENT, "type": "private"},
                    "from": chat.webchat.user(RESIDENT, "zh"),
                    "text": "/start",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                },
            }
        )
        for _ in range(3):
            await chat.dispatcher.feed_update(chat.bot, update, channel=Channel.TELEGRAM)
        answers = [e for e in chat.hub.conversation(RESIDENT).events if e["type"] == "message"]
        assert len(answers) == 1
    finally:
        await chat.close()


async def test_web_chat_updates_are_not_checked_by_update_id(
    engine: AsyncEngine, uow: UnitOfWork
) -> None:
    """The web page numbers its own updates (and de-duplicates by client id)."""
    await make_map(uow)
    chat = ChatHarness(engine)
    try:
        await chat.send(RESIDENT, "/help")
        await chat.send(RESIDENT, "/help")
        assert await count(engine, ProcessedUpdate) == 0
    finally:
        await chat.close()


async def test_kept_update_ids_are_per_bot_and_pruned(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    seen = DatabaseSeenUpdates(make_session_factory(engine), keep=timedelta(hours=24))
    assert await seen.first_time(1, 10)
    assert not await seen.first_time(1, 10)
    assert await seen.first_time(2, 10)  # another bot's update 10
    # Rows older than the keep window go at the next prune.
    old = replays.utcnow() - timedelta(hours=25)
    monkeypatch.setattr(replays, "utcnow", lambda: old)
    for update_id in range(11, 11 + replays.PRUNE_EVERY):
        await seen.first_time(1, update_id)
    monkeypatch.undo()
    seen._inserted = replays.PRUNE_EVERY - 1
    assert await seen.first_time(1, 99_999)
    assert await count(engine, ProcessedUpdate) == 3  # 1/10, 2/10 and 1/99999


async def test_redis_keeps_update_ids_with_an_expiry() -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(require_env("TEST_REDIS_URL", "Redis"))
    prefix = f"test:update:{time.time_ns()}"
    try:
        seen = RedisSeenUpdates(redis, keep_seconds=60, prefix=prefix)
        assert await seen.first_time(5, 1)
        assert not await seen.first_time(5, 1)
        assert await seen.first_time(6, 1)
        assert 0 < await redis.ttl(f"{prefix}:5:1") <= 60
        # Arriving together (asked in one round trip): one update taken in once, twice at once.
        sent_before = seen.batch.batches_sent
        firsts = await asyncio.gather(*(seen.first_time(7, n % 10) for n in range(20)))
        assert firsts.count(True) == 10
        assert [firsts[n] for n in range(10)] == [True] * 10  # the first of each pair
        assert seen.batch.batches_sent - sent_before <= 2
    finally:
        await redis.delete(
            f"{prefix}:5:1", f"{prefix}:6:1", *(f"{prefix}:7:{n}" for n in range(10))
        )
        await redis.aclose()


async def test_a_webhook_update_delivered_twice_is_answered_once(
    database_url: str, uow: UnitOfWork, aiohttp_client: Any
) -> None:
    await make_map(uow)
    fake = FakeTelegram()
    await fake.start()
    app = build(
        load_settings(
            database_url=database_url,
            secret_key="test-secret",
            bot_token="123456:TEST-TOKEN",
            telegram_api_url=fake.base_url,
            webhook_base_url="https://bot.example.cn",
            webhook_secret="hook-secret",
        )
    )
    try:
        client: TestClient = await aiohttp_client(app.web_app)
        update = fake.user_sends(8301, "/start", language_code="zh-hans")
        headers = {"X-Telegram-Bot-Api-Secret-Token": "hook-secret"}
        for _ in range(2):
            response = await client.post("/webhook/telegram", json=update, headers=headers)
            assert response.status == 200
        for _ in range(100):
            if fake.bot_messages(8301):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        assert len(fake.bot_messages(8301)) == 1
    finally:
        await app.close()
        await fake.stop()
