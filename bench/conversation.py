"""The conversation hot path: the project's whole Dispatcher (every middleware, router and
service, a real database) against a bare aiogram echo Dispatcher, in one process, through the
same network-free Bot session.

    python -m bench.conversation --postgres postgresql+asyncpg://root@127.0.0.1:5432/postgres \\
        --updates 2000 --rate 200

Onboarded residents send `/help`, `/mine` and a free text (the fallback answers it); each
variant is timed closed-loop (100 updates in flight: throughput, updates/s, and its ratio to
the echo) and open-loop at a fixed rate (p50/p99 latency of each update from its due time, so
a backlog shows). As the bot does, the process calls `gc.freeze()` after set-up."""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.base import BaseSession
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Message, Update

from bot.app import build
from bot.config import load_settings
from bot.domain.enums import Channel, Role, ScopeLevel
from storage import migrate
from storage.db import make_engine, make_session_factory
from storage.uow import UnitOfWork
from tests.support.factories import make_map, make_person

IN_FLIGHT = 100
FIRST_USER = 50_000_000
VARIANTS = {"help": "/help", "mine": "/mine", "text": "我想问一下这个怎么用"}


class NullSession(BaseSession):
    """Answers every Bot API call at once with a plausible result: no network, no work, so
    both Dispatchers pay the same for their replies."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self._ids = itertools.count(1)

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError
        yield b""  # pragma: no cover - makes this an async generator

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        self.calls += 1
        name = method.__api_method__
        if name in {"sendMessage", "editMessageText", "sendDocument", "sendPhoto"}:
            chat_id = getattr(method, "chat_id", 0)
            result: Any = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": "ok",
            }
        elif name == "getMe":
            result = {"id": 1, "is_bot": True, "first_name": "bench"}
        else:
            result = True
        response = self.check_response(bot, method, 200, json.dumps({"ok": True, "result": result}))
        return response.result  # type: ignore[return-value]


def echo_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher(storage=MemoryStorage())
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dispatcher.include_router(router)
    return dispatcher


class Updates:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.ids = itertools.count(1)

    def text(self, user: int, text: str) -> Update:
        message: dict[str, Any] = {
            "message_id": next(self.ids),
            "date": int(time.time()),
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "居民", "language_code": "zh"},
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        return Update.model_validate(
            {"update_id": next(self.ids), "message": message}, context={"bot": self.bot}
        )


Feed = Callable[[Update], Awaitable[Any]]


async def closed_loop(feed: Feed, updates: list[Update]) -> float:
    """Updates per second with IN_FLIGHT updates always in flight."""
    queue = iter(updates)

    async def worker() -> None:
        for update in queue:
            await feed(update)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return len(updates) / (time.perf_counter() - start)


async def open_loop(feed: Feed, updates: list[Update], rate: float) -> tuple[float, float]:
    """p50 and p99 latency (ms) of updates offered at `rate` a second, each measured from the
    moment it was due, so a backlog counts."""
    latencies: list[float] = []
    start = time.perf_counter()

    async def one(index: int, update: Update) -> None:
        due = start + index / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await feed(update)
        latencies.append((time.perf_counter() - due) * 1000)

    await asyncio.gather(*(one(i, u) for i, u in enumerate(updates)))
    latencies.sort()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]


async def residents(url: str, count: int) -> list[int]:
    engine = make_engine(url)
    uow = UnitOfWork(make_session_factory(engine))
    w = await make_map(uow)
    await make_person(
        uow,
        "韩主任",
        community=w.community_a1,
        grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),),
    )
    users = [FIRST_USER + n for n in range(count)]
    for user in users:
        await make_person(
            uow,
            f"居民{user}",
            community=w.community_a1,
            grants=((Role.RESIDENT, ScopeLevel.COMMUNITY, w.community_a1),),
            web_id=user,
        )
    await engine.dispose()
    return users


async def measure(
    url: str, label: str, updates_per_run: int, rate: float, people: int, profile: str = ""
) -> dict[str, Any]:
    await migrate.upgrade(url)
    users = await residents(url, people)
    settings = load_settings(database_url=url, secret_key="bench")
    # The Dispatcher exactly as the bot composes it (notifier, photos, cipher …).
    application = build(settings)
    project = application.dispatcher
    echo = echo_dispatcher()
    session = NullSession()
    bot = Bot("1:bench", session=session)
    make = Updates(bot)

    async def feed_project(update: Update) -> Any:
        return await project.feed_update(bot, update, channel=Channel.WEB)

    async def feed_echo(update: Update) -> Any:
        return await echo.feed_update(bot, update)

    # Warm-up: every resident once (identity, caches, statements prepared).
    for user in users:
        await feed_project(make.text(user, "/help"))
    gc.collect()
    gc.freeze()
    results: dict[str, Any] = {"database": label}
    if profile:
        batch = [
            make.text(users[i % len(users)], VARIANTS[profile]) for i in range(updates_per_run)
        ]
        await profiled(feed_project, batch)
        await application.close()
        return results
    batch = [make.text(users[i % len(users)], "echo") for i in range(updates_per_run)]
    results["echo"] = await closed_loop(feed_echo, batch)
    for name, text in VARIANTS.items():
        batch = [make.text(users[i % len(users)], text) for i in range(updates_per_run)]
        throughput = await closed_loop(feed_project, batch)
        offered = [make.text(users[i % len(users)], text) for i in range(int(rate * 5))]
        p50, p99 = await open_loop(feed_project, offered, rate)
        results[name] = {
            "per_second": round(throughput),
            "of_echo": round(throughput / results["echo"], 3),
            f"p50_ms_at_{int(rate)}": round(p50, 1),
            f"p99_ms_at_{int(rate)}": round(p99, 1),
        }
    results["echo"] = round(results["echo"])
    await application.close()
    return results


async def profiled(feed: Feed, updates: list[Update], top: int = 30) -> None:
    """The closed loop under cProfile; the top entries by own time to stderr."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    await closed_loop(feed, updates)
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(top)


def postgres_database(server: str, prefix: str = "bench_conv") -> str:
    """A fresh database on the server (dropped by hand; the name says it is a bench's)."""
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        dsn = server.replace("postgresql+asyncpg://", "postgresql://", 1)
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    base = server.rsplit("/", 1)[0]
    return f"{base}/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a database is created)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--updates", type=int, default=2000, help="updates per closed-loop run")
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop updates/s")
    parser.add_argument("--people", type=int, default=200, help="onboarded residents")
    parser.add_argument("--profile", choices=sorted(VARIANTS), help="profile one variant instead")
    args = parser.parse_args()
    runs = []
    if args.postgres:
        runs.append(("postgresql", postgres_database(args.postgres)))
    if not args.no_sqlite:
        folder = Path(tempfile.mkdtemp(prefix="bench-conv-"))
        runs.append(("sqlite", f"sqlite+aiosqlite:///{folder / 'bench.db'}"))
    for label, url in runs:
        result = asyncio.run(
            measure(url, label, args.updates, args.rate, args.people, args.profile or "")
        )
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
