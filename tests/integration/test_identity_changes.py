"""Who is behind a chat is cached in each process; with Redis, a change committed by one process
(another bot process, the CLI) is announced and the others forget that person at once.

Both "processes" live in this test: process B's cache is cut off from this process's own
session events (`close()`), so what it learns it learns through Redis."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from bot.app import Application, build
from bot.config import load_settings
from bot.domain.enums import Channel, Role, ScopeLevel
from bot.services import people
from bot.services.identity_cache import IdentityCache, Key
from storage import changes
from storage.changes import RedisChanges
from storage.models import RoleGrant
from storage.uow import UnitOfWork
from tests.support.databases import require_env
from tests.support.factories import make_map, make_person

USER = 7001
KEY: Key = (Channel.WEB.value, str(USER), "zh", False)


@pytest.fixture
def redis_url() -> str:
    return require_env("TEST_REDIS_URL", "Redis")


@pytest.fixture
def channel() -> str:
    # A channel of this test's own: parallel runs on one Redis do not hear each other.
    return f"test:identity-changes:{uuid.uuid4().hex}"


async def started(database_url: str, redis_url: str, channel: str) -> Application:
    settings = load_settings(database_url=database_url, redis_url=redis_url, secret_key="t")
    application = build(settings)
    assert application.redis is not None
    application.identity_changes = RedisChanges(application.redis, channel)
    return application


async def stopped(application: Application) -> None:
    application.stopping.set()
    await asyncio.gather(*application.tasks)
    await application.close()


async def listening(*applications: Application) -> None:
    for application in applications:
        assert application.identity_changes is not None
        await asyncio.wait_for(application.identity_changes.subscribed.wait(), 10)


async def forgotten(cache: IdentityCache, key: Key) -> None:
    deadline = time.monotonic() + 5
    while cache.get(key) is not None:
        assert time.monotonic() < deadline, "the other process's cache kept the old identity"
        await asyncio.sleep(0.01)


async def who(application: Application) -> people.Identity:
    assert application.identities is not None
    return await people.identify(
        UnitOfWork(application.session_factory),
        channel=Channel.WEB,
        external_id=str(USER),
        chat_id=str(USER),
        display_name="",
        fallback_locale="zh",
        cache=application.identities,
    )


async def grant_volunteer(uow: UnitOfWork, person: int, community: int) -> None:
    async with uow:
        await uow.grants.add(
            RoleGrant(
                person_id=person,
                role=Role.VOLUNTEER,
                scope_level=ScopeLevel.COMMUNITY,
                community_id=community,
            )
        )
        await uow.commit()


async def test_a_role_granted_by_one_process_is_forgotten_by_the_others_cache(
    database_url: str, redis_url: str, channel: str, uow: UnitOfWork
) -> None:
    w = await make_map(uow)
    person = await make_person(uow, "王阿姨", community=w.community_a1, web_id=USER)
    first = await started(database_url, redis_url, channel)
    second = await started(database_url, redis_url, channel)
    try:
        assert first.identities is not None and second.identities is not None
        assert second.identities.seconds == 60.0, "with Redis the cache is long by default"
        second.identities.close()  # another process: it does not see this one's sessions
        first.start_identity_sync()
        second.start_identity_sync()
        await listening(first, second)
        assert not (await who(second)).principal.has_role(Role.VOLUNTEER)
        assert second.identities.get(KEY) is not None

        await grant_volunteer(UnitOfWork(first.session_factory), person, w.community_a1)
        await forgotten(second.identities, KEY)
        assert (await who(second)).principal.has_role(Role.VOLUNTEER)
    finally:
        await stopped(first)
        await stopped(second)


async def test_the_clis_changes_are_announced_too(
    database_url: str, redis_url: str, channel: str, uow: UnitOfWork
) -> None:
    w = await make_map(uow)
    person = await make_person(uow, "王阿姨", community=w.community_a1, web_id=USER)
    bot = await started(database_url, redis_url, channel)
    try:
        assert bot.identities is not None
        bot.identities.close()
        bot.start_identity_sync()
        await listening(bot)
        await who(bot)
        assert bot.identities.get(KEY) is not None
        # As `python -m bot admin grant` does it: its own engine, announcing while it runs.
        async with changes.announced(redis_url, channel):
            await grant_volunteer(uow, person, w.community_a1)
        await forgotten(bot.identities, KEY)
        assert (await who(bot)).principal.has_role(Role.VOLUNTEER)
    finally:
        await stopped(bot)
