"""PostgreSQL connections are pinged only after lying idle in the pool: a connection in steady
use goes out as it is (a ping was three round trips on every checkout), one that sat idle and
was closed meanwhile is replaced without anyone noticing, and a connection a restart broke
while in use fails one statement, as an outage, after which the pool has thrown away every
connection from before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from bot.app import build
from bot.config import load_settings
from storage import db
from storage.db import is_outage, make_engine


@pytest.fixture
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    # PostgreSQL only: SQLite has no server to lose and no ping.
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each ping the pool sends, by the connection it went out on."""
    seen: list[int] = []
    ping = AsyncAdapt_asyncpg_connection.ping

    def counted(self: AsyncAdapt_asyncpg_connection) -> None:
        seen.append(id(self))
        ping(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted)
    return seen


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(engine: AsyncEngine, pid: int) -> None:
    other = make_engine(engine.url.render_as_string(hide_password=False), poolclass=NullPool)
    try:
        async with other.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await other.dispose()


async def test_a_connection_in_steady_use_is_not_pinged(
    engine: AsyncEngine, pings: list[int]
) -> None:
    first = await backend_pid(engine)
    for _ in range(5):
        assert await backend_pid(engine) == first  # the same connection, every time
    assert pings == []


async def test_an_idle_connection_is_pinged_and_replaced_if_it_was_closed(
    engine: AsyncEngine, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await backend_pid(engine)
    await terminate(engine, first)
    monkeypatch.setattr(db, "IDLE_SECONDS_BEFORE_PING", 0.0)  # as if it had lain idle
    second = await backend_pid(engine)  # no error: the ping found it dead
    assert second != first
    # The dead one's ping, then its replacement's (at 0 s every checkout pings).
    assert len(pings) == 2 and pings[0] != pings[1]


async def test_a_connection_broken_while_in_use_fails_once_as_an_outage(
    engine: AsyncEngine, pings: list[int]
) -> None:
    first = await backend_pid(engine)
    await terminate(engine, first)
    with pytest.raises(Exception) as failed:
        await backend_pid(engine)  # in steady use: not pinged, the statement meets the break
    assert is_outage(failed.value)
    assert await backend_pid(engine) != first  # the pool made a new one
    assert pings == []


async def test_the_bots_pool_keeps_its_connections_under_load(postgres_url: str) -> None:
    """A hundred reads in flight, many times over: the bot's engine opens its pool's
    connections once (5 + 10 overflow opened and closed one every few dozen reads)."""
    settings = load_settings(database_url=postgres_url, redis_url=None, secret_key="t")
    application = build(settings)
    opened: list[int] = []
    event.listen(application.engine.sync_engine.pool, "connect", lambda *_: opened.append(1))

    async def reads(count: int) -> None:
        for _ in range(count):
            async with application.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

    try:
        await asyncio.gather(*(reads(30) for _ in range(100)))
    finally:
        await application.close()
    assert 0 < len(opened) <= settings.database_pool_size == 15
