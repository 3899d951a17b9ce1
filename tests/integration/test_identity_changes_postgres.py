"""Without Redis, on PostgreSQL, processes tell each other who changed through LISTEN/NOTIFY:
a grant committed by one process (or the CLI) makes the others forget that person at once; a
rolled-back change is never heard; the cache is long by default because of it.

As in test_identity_changes.py, both "processes" live in this test and process B is cut off
from this process's own session events (`close()`)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bot.app import Application, build
from bot.config import load_settings
from bot.domain.enums import Role, ScopeLevel
from storage import changes
from storage.changes import LISTEN_APPLICATION_NAME, PostgresChanges
from storage.models import RoleGrant
from storage.uow import UnitOfWork
from tests.integration.test_identity_changes import (
    KEY,
    USER,
    forgotten,
    grant_volunteer,
    stopped,
    who,
)
from tests.support.factories import make_map, make_person


@pytest.fixture
def channel() -> str:
    return f"test_identity_{uuid.uuid4().hex}"


@pytest.fixture
def uow(postgres_uow: UnitOfWork) -> UnitOfWork:
    # PostgreSQL only (SQLite runs one process; nothing to hear there).
    return postgres_uow


def started(database_url: str, channel: str) -> Application:
    settings = load_settings(database_url=database_url, redis_url=None, secret_key="t")
    application = build(settings)
    assert isinstance(application.identity_changes, PostgresChanges)
    application.identity_changes = PostgresChanges(database_url, channel)
    return application


async def listening(application: Application) -> None:
    assert application.identity_changes is not None
    await asyncio.wait_for(application.identity_changes.subscribed.wait(), 10)


async def test_a_grant_by_one_process_is_heard_by_the_other_through_postgresql(
    postgres_url: str, channel: str, uow: UnitOfWork
) -> None:
    w = await make_map(uow)
    person = await make_person(uow, "王阿姨", community=w.community_a1, web_id=USER)
    first, second = started(postgres_url, channel), started(postgres_url, channel)
    try:
        assert second.identities is not None
        assert second.identities.seconds == 60.0, "heard through PostgreSQL: long by default"
        second.identities.close()
        first.start_identity_sync()
        second.start_identity_sync()
        await listening(first)
        await listening(second)
        assert not (await who(second)).principal.has_role(Role.VOLUNTEER)

        # Rolled back: nothing said, the entry stays.
        rolled_back = UnitOfWork(first.session_factory)
        async with rolled_back:
            grant = RoleGrant(
                person_id=person,
                role=Role.VOLUNTEER,
                scope_level=ScopeLevel.COMMUNITY,
                community_id=w.community_a1,
            )
            await rolled_back.grants.add(grant)
            await rolled_back.session.flush()
        await asyncio.sleep(0.5)
        assert second.identities.get(KEY) is not None

        await grant_volunteer(UnitOfWork(first.session_factory), person, w.community_a1)
        await forgotten(second.identities, KEY)
        assert (await who(second)).principal.has_role(Role.VOLUNTEER)
    finally:
        await stopped(first)
        await stopped(second)


async def test_the_clis_changes_reach_the_bot_through_postgresql(
    postgres_url: str, channel: str, uow: UnitOfWork
) -> None:
    w = await make_map(uow)
    person = await make_person(uow, "王阿姨", community=w.community_a1, web_id=USER)
    bot = started(postgres_url, channel)
    try:
        assert bot.identities is not None
        bot.identities.close()
        bot.start_identity_sync()
        await listening(bot)
        await who(bot)
        assert bot.identities.get(KEY) is not None
        # As `python -m bot admin grant` does without Redis.
        async with changes.announced(None, channel, database_url=postgres_url):
            await grant_volunteer(uow, person, w.community_a1)
        await forgotten(bot.identities, KEY)
    finally:
        await stopped(bot)


async def test_a_lost_listening_connection_forgets_everyone_and_listens_again(
    postgres_url: str, channel: str
) -> None:
    heard: list[object] = []
    listener = PostgresChanges(postgres_url, channel)
    stopping = asyncio.Event()
    task = asyncio.create_task(listener.listen(heard.append, stopping))
    try:
        await asyncio.wait_for(listener.subscribed.wait(), 10)
        assert heard == [None]
        import asyncpg

        admin = await asyncpg.connect(listener.dsn)
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = $1 AND datname = current_database()",
                LISTEN_APPLICATION_NAME,
            )
        finally:
            await admin.close()
        deadline = asyncio.get_running_loop().time() + 10
        while len(heard) < 2:
            assert asyncio.get_running_loop().time() < deadline, "never listened again"
            await asyncio.sleep(0.05)
        assert heard == [None, None]
    finally:
        stopping.set()
        await task
