"""Conversation state lives in Redis when REDIS_URL is set, so a restart keeps it."""

import uuid
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Role, ScopeLevel
from handlers.common.drafts import DestinyKeyBuilder
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.databases import require_env
from tests.support.factories import make_map, make_person


@pytest.fixture
async def redis_prefix() -> AsyncIterator[tuple[str, str]]:
    url = require_env("TEST_REDIS_URL", "Redis")
    prefix = f"wushe-test-{uuid.uuid4().hex[:8]}"
    yield url, prefix
    client = Redis.from_url(url)
    keys = [key async for key in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def redis_storage(url: str, prefix: str) -> RedisStorage:
    return RedisStorage.from_url(
        url, key_builder=DefaultKeyBuilder(prefix=prefix, with_bot_id=True)
    )


async def test_a_flow_survives_a_restart_with_redis_state(
    engine: AsyncEngine, uow: UnitOfWork, redis_prefix: tuple[str, str]
) -> None:
    url, prefix = redis_prefix
    world = await make_map(uow)
    admin = 6001
    await make_person(
        uow,
        "管理员",
        community=world.community_a1,
        web_id=admin,
        grants=((Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),),
    )
    worker = await make_person(uow, "王五", community=world.community_a2)

    before = ChatHarness(engine, storage=redis_storage(url, prefix))
    await before.send(admin, "/grant")
    await before.send(admin, str(worker))
    message_id, data = before.find_button(admin, "社区工作者")
    await before.close()

    # A new process: new Dispatcher, new storage object, same Redis.
    after = ChatHarness(engine, storage=redis_storage(url, prefix), hub=before.hub)
    await after.tap_data(admin, message_id, data)
    assert "该角色适用于哪里？" in after.last_text(admin)
    await after.close()

    client = Redis.from_url(url)
    assert [key async for key in client.scan_iter(f"{prefix}:*")], "state was written to Redis"
    await client.aclose()


async def test_without_redis_state_the_same_tap_is_a_stale_button(
    engine: AsyncEngine, uow: UnitOfWork
) -> None:
    world = await make_map(uow)
    admin = 6001
    await make_person(
        uow,
        "管理员",
        community=world.community_a1,
        web_id=admin,
        grants=((Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),),
    )
    worker = await make_person(uow, "王五", community=world.community_a2)
    before = ChatHarness(engine)
    await before.send(admin, "/grant")
    await before.send(admin, str(worker))
    message_id, data = before.find_button(admin, "社区工作者")
    await before.close()
    after = ChatHarness(engine, hub=before.hub)
    await after.tap_data(admin, message_id, data)
    assert after.alerts(admin)[-1] == "此按钮已失效，请发送 /start 重新开始。"
    await after.close()


async def test_a_first_message_is_kept_in_redis_across_start_and_a_restart(
    engine: AsyncEngine, uow: UnitOfWork, redis_prefix: tuple[str, str]
) -> None:
    url, prefix = redis_prefix
    await make_map(uow)
    newcomer = 6101

    def storage() -> RedisStorage:
        return RedisStorage.from_url(
            url, key_builder=DestinyKeyBuilder(prefix=prefix, with_bot_id=True)
        )

    before = ChatHarness(engine, storage=storage())
    await before.send(newcomer, "我家水管坏了")
    await before.send(newcomer, "/start")  # clears the conversation state, not the draft
    await before.close()
    after = ChatHarness(engine, storage=storage(), hub=before.hub)
    await after.tap(newcomer, "中文")
    for label in ("渝北区", "甲街道", "甲一社区"):
        await after.tap(newcomer, label)
    await after.tap(newcomer, "跳过")  # the name (称呼) step
    assert "我家水管坏了" in after.last_text(newcomer)
    await after.close()

    client = Redis.from_url(url)
    keys = {key.decode() async for key in client.scan_iter(f"{prefix}:*")}
    await client.aclose()
    # The drafts have keys of their own; the conversation keys keep their old form.
    assert any(key.endswith(f"{newcomer}:{newcomer}:drafts:data") for key in keys)
    assert not any(":default" in key for key in keys)
    assert not any("我家水管坏了" in key for key in keys)
