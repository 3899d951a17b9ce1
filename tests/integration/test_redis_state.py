"""Conversation state lives in Redis when REDIS_URL is set, so a restart keeps it."""

import uuid
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Role, ScopeLevel
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
