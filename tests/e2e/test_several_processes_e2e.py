"""Two real bot processes against one PostgreSQL and one Redis, as a deployment runs them:
Telegram's webhook through a round-robin front, one chat's updates split between the two and
answered in order; a broadcast sent by both at the one shared rate; a web chat page polling
one process that sees what the other answered; the scheduler taken over when its holder dies."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.domain.broadcasts import Audience, AudienceKind, DeliveryState
from bot.domain.enums import Role, ScopeLevel
from bot.domain.principal import Grant, Principal
from bot.services import broadcasts
from storage.db import make_engine, make_session_factory
from storage.models import Community, OutboxMessage
from storage.uow import UnitOfWork
from tests.e2e.conftest import BotProcess, free_port
from tests.e2e.test_broadcasts_e2e import many_residents
from tests.support.databases import PostgresDatabases, require_env
from tests.support.fake_telegram import FakeTelegram
from tests.support.round_robin import RoundRobin

SECRET = "two-processes"
RATE = 10.0  # the outbox's configured Telegram rate, shared by both processes


@dataclass
class Cluster:
    database_url: str
    fake: FakeTelegram
    front: RoundRobin
    bots: list[BotProcess]


@pytest.fixture
def shared_database(postgres_databases: PostgresDatabases) -> str:
    """An empty PostgreSQL database: the first process applies the migrations."""
    return postgres_databases.empty()


@pytest.fixture
async def cluster(tmp_path: Path, shared_database: str) -> AsyncIterator[Callable[..., Any]]:
    """Start two bot processes (one database, one Redis, one fake Telegram) behind a front."""
    redis_url = require_env("TEST_REDIS_URL", "Redis")
    # A bot id of its own: the Redis keys (state, seen updates, pace) are per bot.
    fake = FakeTelegram(token=f"{random.randrange(10**8, 10**9)}:TEST-TOKEN")
    await fake.start()
    made: list[Cluster] = []

    async def start(*, webhook: bool = False, **env: str) -> Cluster:
        url = shared_database
        ports = [free_port(), free_port()]
        front = RoundRobin([f"http://127.0.0.1:{port}" for port in ports])
        await front.start()
        if webhook:
            env.update(WEBHOOK_BASE_URL=front.url, WEBHOOK_SECRET=SECRET)
        common = {
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "WEB_HOST": "127.0.0.1",
            "SECRET_KEY": "e2e-secret",
            "OUTBOX_RATE_TELEGRAM": str(RATE),
            **env,
        }
        bots = []
        for n, port in enumerate(ports):
            workdir = tmp_path / f"process-{n}"
            workdir.mkdir()
            bot = BotProcess(workdir, {**common, "WEB_PORT": str(port)})
            if n == 0:
                bot.cli("demo-data", "--places-only")
            await bot.start()  # one after the other: the first applies the migrations
            bots.append(bot)
        made.append(Cluster(url, fake, front, bots))
        return made[-1]

    yield start
    for each in made:
        for bot in each.bots:
            code = await bot.stop()
            assert code in (0, -signal.SIGKILL), f"exit code {code}:\n{bot.log()}"
            assert "Traceback" not in bot.log(), bot.log()
        await each.front.stop()
    await fake.stop()


def replies_of(fake: FakeTelegram, user: int) -> list[str]:
    return [str(m.get("text", "")) for m in fake.bot_messages(user)]


async def test_one_chats_updates_split_between_two_processes_are_answered_in_order(
    cluster: Any,
) -> None:
    # Telegram posts to the front, which hands the updates to the two processes in turn.
    running: Cluster = await cluster(webhook=True)
    fake = running.fake
    assert fake.webhook["url"] == f"{running.front.url}/webhook/telegram"
    users = await many_residents(running.database_url, fake, 3)
    # A slow answer (/mine reads the requests) followed by a fast one (/help): handled in the
    # background, the fast one would overtake it in the other process.
    commands = ["/mine", "/help"] * 5
    for command in commands:
        for user in users:
            fake.user_sends(user, command)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(  # noqa: ASYNC110 - polls the fake's record
        len(fake.bot_messages(user)) < len(commands) for user in users
    ):
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # anything doubled would have arrived by now
    for user in users:
        replies = replies_of(fake, user)
        assert len(replies) == len(commands), replies  # nothing lost or doubled
        kinds = ["/help" if "— /help" in reply else "/mine" for reply in replies]
        assert kinds == commands, replies
    # Both processes did the work.
    assert all(count >= 10 for count in running.front.served.values()), running.front.served


async def test_a_broadcast_sent_from_two_processes_keeps_the_one_shared_rate(
    cluster: Any,
) -> None:
    running: Cluster = await cluster()
    fake = running.fake
    fake.rate_limit(int(RATE) + 2, 1)  # a send above the shared rate would be refused (429)
    users = await many_residents(running.database_url, fake, 40)
    sent_at: list[float] = []
    watching = asyncio.create_task(_watch_sends(fake, sent_at, len(users)))
    await _broadcast_to_the_community(running.database_url, "停水通知：明天停水。")
    await asyncio.wait_for(watching, timeout=60)
    got = Counter(
        sum(1 for m in fake.bot_messages(user) if "停水通知" in str(m.get("text")))
        for user in users
    )
    assert got == Counter({1: len(users)})  # everyone once
    assert not [e for e in fake.errors if e.error_code == 429], fake.errors
    peak = max(sum(1 for t in sent_at if start <= t < start + 1.0) for start in sent_at)
    assert peak <= RATE + 1, peak
    span = sent_at[-1] - sent_at[0]
    assert span >= (len(users) - 1) / RATE * 0.9  # at the rate, not twice it
    owners = await _senders(running.database_url)
    assert len(owners) == 2, owners  # both processes sent part of it


async def _watch_sends(fake: FakeTelegram, sent_at: list[float], expected: int) -> None:
    seen = 0
    while len(sent_at) < expected:
        await asyncio.sleep(0.01)
        calls = fake.calls[seen:]
        seen += len(calls)
        now = time.monotonic()
        sent_at.extend(now for c in calls if "停水通知" in str(c.params.get("text", "")))


async def _broadcast_to_the_community(database_url: str, text: str) -> None:
    engine = make_engine(database_url)
    try:
        uow = UnitOfWork(make_session_factory(engine))
        async with uow:
            community = (
                await uow.session.scalars(
                    select(Community.id).where(Community.name == "磁器口社区")
                )
            ).one()
        worker = Principal(
            1, "zh", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, community),)
        )
        draft = broadcasts.Draft(Audience(AudienceKind.RESIDENTS, (community,)), text_zh=text)
        await broadcasts.create(UnitOfWork(make_session_factory(engine)), worker, draft)
    finally:
        await engine.dispose()


async def _senders(database_url: str) -> set[str | None]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(OutboxMessage.claimed_by).where(OutboxMessage.state == DeliveryState.SENT)
            )
            return {owner for (owner,) in rows}
    finally:
        await engine.dispose()


async def test_a_page_polling_one_process_sees_the_answer_of_the_other_and_the_scheduler_moves(
    cluster: Any,
) -> None:
    running: Cluster = await cluster(NEEDS_CHECK_SECONDS="0.5")
    first, second = running.bots
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as page:
        async with page.get(f"{first.url}/") as opened:
            assert opened.status == 200
        async with page.get(f"{first.url}/chat/api/events", params={"timeout": "0"}) as loaded:
            last = (await loaded.json())["last"]
        # The page waits on the first process; the person's message goes to the second.
        poll = asyncio.create_task(_poll(page, first.url, last))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        async with page.post(
            f"{second.url}/chat/api/send", json={"text": "你好"}, headers={"Origin": second.url}
        ) as sent:
            assert sent.status == 200, await sent.text()
        events = await poll
        # Woken through Redis at once, not at its next look at the database (5 s).
        assert time.monotonic() - started < 2.5
        assert any(e.get("from") == "user" for e in events), events
        answers = _answers(events)
        last = max(e["seq"] for e in events)
        while not answers:
            more = await _poll(page, first.url, last)
            last = max([last, *(e["seq"] for e in more)])
            answers = _answers(more)
        assert answers[0]["html"]  # the second process's answer, served by the first

    # One scheduler: exactly one process took the lock; kill it and the other takes over.
    taken = "this process runs the deadline and profile checks"
    holders = [bot for bot in running.bots if taken in bot.log()]
    assert len(holders) == 1, [bot.log()[-2000:] for bot in running.bots]
    (holder,) = holders
    (other,) = [bot for bot in running.bots if bot is not holder]
    assert holder.process is not None
    holder.process.send_signal(signal.SIGKILL)
    holder.process.wait()
    rebuilt = "volunteer profiles rebuilt"  # the new holder runs the checks
    for _ in range(300):  # the lock within NEEDS_CHECK_SECONDS, its first round after it
        if taken in other.log() and rebuilt in other.log():
            break
        await asyncio.sleep(0.1)
    assert taken in other.log(), other.log()[-2000:]
    assert rebuilt in other.log(), other.log()[-2000:]


def _answers(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("type") == "message" and e.get("from") != "user"]


async def _poll(page: aiohttp.ClientSession, url: str, after: int) -> list[dict[str, Any]]:
    async with page.get(
        f"{url}/chat/api/events", params={"after": str(after), "timeout": "20"}
    ) as answer:
        assert answer.status == 200
        events: list[dict[str, Any]] = (await answer.json())["events"]
        return events
