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
import contextlib
import gc
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
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
from tests.support.factories import Map, make_map, make_person

IN_FLIGHT = 100
SHIFTS = 5  # each volunteer signs up for each once
FIRST_USER = 50_000_000
VARIANTS = {"help": "/help", "mine": "/mine", "text": "我想问一下这个怎么用"}


class NullSession(BaseSession):
    """Answers every Bot API call at once with a plausible result: no network, no work, so
    both Dispatchers pay the same for their replies."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self._ids = itertools.count(1)
        # chat → the buttons of the newest message that had any: (message id, label, data).
        self.buttons: dict[int, list[tuple[int, str, str]]] = {}
        self.texts: dict[int, str] = {}

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
            message_id = next(self._ids)
            self._remember(chat_id, message_id, method)
            result: Any = {
                "message_id": message_id,
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

    def _remember(self, chat_id: Any, message_id: int, method: Any) -> None:
        if not isinstance(chat_id, int):
            return
        self.texts[chat_id] = str(getattr(method, "text", "") or "")
        markup = getattr(method, "reply_markup", None)
        rows = getattr(markup, "inline_keyboard", None)
        if rows:
            self.buttons[chat_id] = [
                (message_id, b.text, b.callback_data)
                for row in rows
                for b in row
                if b.callback_data
            ]

    def has_button(self, chat_id: int, label: str) -> bool:
        return any(label in text for _, text, _ in self.buttons.get(chat_id, ()))

    def button(self, chat_id: int, label: str) -> tuple[int, str]:
        for message_id, text, data in self.buttons.get(chat_id, ()):
            if label in text:
                return message_id, data
        shown = [text for _, text, _ in self.buttons.get(chat_id, ())]
        raise LookupError(
            f"no button {label!r} for {chat_id}: {shown}; said {self.texts.get(chat_id)!r}"
        )


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

    def tap(self, user: int, message_id: int, data: str) -> Update:
        return Update.model_validate(
            {
                "update_id": next(self.ids),
                "callback_query": {
                    "id": str(next(self.ids)),
                    "from": {
                        "id": user,
                        "is_bot": False,
                        "first_name": "居民",
                        "language_code": "zh",
                    },
                    "chat_instance": str(user),
                    "data": data,
                    "message": {
                        "message_id": message_id,
                        "date": int(time.time()),
                        "chat": {"id": user, "type": "private"},
                        "text": "…",
                    },
                },
            },
            context={"bot": self.bot},
        )


Feed = Callable[[Update], Awaitable[Any]]
# A flow: what a person types ("send") or taps (a button whose label contains the text).
Flow = list[tuple[str, str]]
FILING: Flow = [
    ("send", "/need"),
    ("tap", "养老服务"),
    ("send", "楼道灯坏了，老人晚上看不见，第{n}次"),
    ("tap", "跳过"),
    ("tap", "一般"),
    ("tap", "本人"),
    ("tap", "不用上门"),
    ("maybe", "不，我的情况不同"),  # asked when a neighbour filed a similar one
    ("tap", "确认"),
]
SHIFT_SIGN_UP: Flow = [("send", "/shifts"), ("tap", "报名")]
VOTE: Flow = [("send", "/consult"), ("tap", "加装电梯"), ("tap", "投票"), ("tap", "{option}")]
FLOWS = {"file": (FILING, "已登记"), "shift": (SHIFT_SIGN_UP, "已报名"), "vote": (VOTE, "")}


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


async def run_flow(
    feed: Feed, make: Updates, session: NullSession, user: int, flow: Flow, **words: Any
) -> list[float]:
    """One person through a flow; the latency of each step (ms)."""
    latencies = []
    for kind, text in flow:
        text = text.format(**words)
        if kind == "send":
            update = make.text(user, text)
        elif kind == "maybe" and not session.has_button(user, text):
            continue
        else:
            update = make.tap(user, *session.button(user, text))
        start = time.perf_counter()
        await feed(update)
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


async def closed_loop_flows(
    feed: Feed,
    make: Updates,
    session: NullSession,
    people: list[int],
    flow: Flow,
    rounds: int,
    words: Callable[[int, int], dict[str, Any]],
    done: str,
) -> tuple[float, float, float]:
    """Steps per second with one flow per person in flight (up to IN_FLIGHT people), each
    person going through the flow `rounds` times; p50/p99 of a step. Each flow's last answer
    must say `done`, or the figures would time something else."""
    latencies: list[float] = []

    failed: list[str] = []

    async def person(user: int) -> None:
        for round_ in range(rounds):
            try:
                steps = await run_flow(feed, make, session, user, flow, **words(user, round_))
            except LookupError:  # an update failed (logged), so the next button is missing
                failed.append(session.texts.get(user, ""))
                return
            latencies.extend(steps)
            if done not in session.texts.get(user, ""):
                raise AssertionError(f"{user}: {session.texts.get(user)!r} does not say {done!r}")

    start = time.perf_counter()
    for first in range(0, len(people), IN_FLIGHT):
        await asyncio.gather(*(person(u) for u in people[first : first + IN_FLIGHT]))
    elapsed = time.perf_counter() - start
    if failed:
        print(f"{len(failed)} flows broke off: {failed[0]!r}", file=sys.stderr)
    latencies.sort()
    return (
        len(latencies) / elapsed,
        statistics.median(latencies),
        latencies[int(len(latencies) * 0.99) - 1],
    )


async def volunteers_and_a_vote(
    url: str, w: Map, count: int, shifts: int
) -> tuple[list[int], list[str]]:
    """`count` verified volunteers of community A1, `shifts` shifts next week with room for
    all, and a consultation of A1 in its voting days; its option labels."""
    from datetime import timedelta

    from bot.domain.principal import Grant, Place, Principal
    from bot.domain.volunteers import Skill, check_character
    from bot.services import consultations, volunteers
    from bot.services import shifts as shift_service
    from bot.services.crypto import PersonalDataCipher
    from bot.services.ports import RecordingNotifier
    from storage.types import utcnow

    engine = make_engine(url)
    uow = UnitOfWork(make_session_factory(engine))
    grant = (Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, w.district)
    admin_id = await make_person(uow, "区管理员", community=w.community_a1, grants=(grant,))
    admin = Principal(admin_id, "zh", grants=(Grant(*grant),))
    home = Place(w.community_a1, w.street_a, w.district)
    users = [FIRST_USER + 100_000 + n for n in range(count)]
    for n, user in enumerate(users):
        person = await make_person(uow, f"志愿者{n}", community=w.community_a1, web_id=user)
        first17 = f"50010619850612{n:03d}"
        view = await volunteers.register(
            uow,
            PersonalDataCipher(b"bench"),
            RecordingNotifier(),
            Principal(person, "zh", home=home),
            real_name=f"志愿者{n}",
            id_number=first17 + check_character(first17),
            phone="13800138000",
            skills=[next(iter(Skill))],
            tags=[],
            availability=[],
            community_ids=[],
        )
        await volunteers.verify(uow, RecordingNotifier(), admin, volunteer_id=view.id, approve=True)
    start = utcnow() + timedelta(days=7)
    for n in range(shifts):
        await shift_service.create_shift(
            uow,
            admin,
            community_id=w.community_a1,
            title=f"陪伴老人 {n}",
            place="社区活动室",
            starts_at=start + timedelta(hours=n),
            ends_at=start + timedelta(hours=n + 1),
            capacity=shift_service.MAX_CAPACITY,
        )
    spec = consultations.NewConsultation(
        title="加装电梯方案",
        background="三号楼居民提出加装电梯，费用分摊方案需要商议。",
        options=["按楼层分摊", "平均分摊"],
        community_ids=[w.community_a1],
        discussion_days=3,
        voting_days=5,
        anonymous=True,
        major=False,
    )
    opened = await consultations.open_consultation(
        uow,
        admin,
        spec,
        texts=("议事", "A consultation"),
        reminder=None,
        now=utcnow() - timedelta(days=4),
    )
    await engine.dispose()
    return users, [o.text for o in opened.options]


async def residents(url: str, count: int) -> tuple[list[int], Map]:
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
    return users, w


async def measure(
    url: str,
    label: str,
    updates_per_run: int,
    rate: float,
    people: int,
    profile: str = "",
    **overrides: Any,
) -> dict[str, Any]:
    await migrate.upgrade(url)
    users, w = await residents(url, people)
    volunteers, options = await volunteers_and_a_vote(url, w, IN_FLIGHT, SHIFTS)
    settings = load_settings(database_url=url, secret_key="bench", **overrides)
    # The Dispatcher exactly as the bot composes it (notifier, photos, cipher …).
    application = build(settings)
    # With Redis: announcing and hearing identity changes, as `python -m bot run` does.
    application.start_identity_sync()
    project = application.dispatcher
    echo = echo_dispatcher()
    session = NullSession()
    # A bot id of its own: with Redis, the conversation state and locks of one run are apart.
    bot = Bot(f"{uuid.uuid4().int % 10**9 + 1}:bench", session=session)
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
    if profile == "statements":
        await statements_per_update(application, feed_project, make, session, users)
        await stop(application)
        return {"database": label}
    results: dict[str, Any] = {
        "database": label,
        "redis": bool(settings.redis_url),
        "identity_cache_seconds": settings.identity_seconds,
        "load_average": round(os.getloadavg()[0], 2),
    }
    if profile in VARIANTS:
        batch = [
            make.text(users[i % len(users)], VARIANTS[profile]) for i in range(updates_per_run)
        ]
        await profiled(closed_loop(feed_project, batch))
        await stop(application)
        return results
    echoes: list[float] = []

    async def echo_now() -> float:
        """The echo measured again right before each variant: on a shared machine the load
        changes within a run, and the ratio is to the framework at that moment."""
        batch = [make.text(users[i % len(users)], "echo") for i in range(updates_per_run)]
        echoes.append(await closed_loop(feed_echo, batch))
        return echoes[-1]

    for name, text in VARIANTS.items() if not profile else ():
        echo_rate = await echo_now()
        batch = [make.text(users[i % len(users)], text) for i in range(updates_per_run)]
        throughput = await closed_loop(feed_project, batch)
        offered = [make.text(users[i % len(users)], text) for i in range(int(rate * 5))]
        p50, p99 = await open_loop(feed_project, offered, rate)
        results[name] = {
            "per_second": round(throughput),
            "echo": round(echo_rate),
            "of_echo": round(throughput / echo_rate, 3),
            f"p50_ms_at_{int(rate)}": round(p50, 1),
            f"p99_ms_at_{int(rate)}": round(p99, 1),
        }
    flows: dict[str, tuple[list[int], int, Callable[[int, int], dict[str, Any]]]] = {
        "file": (
            users,
            max(1, updates_per_run // (len(FILING) * len(users))),
            lambda u, r: {"n": r},
        ),
        "shift": (volunteers, SHIFTS, lambda u, r: {}),
        "vote": (
            users,
            max(1, updates_per_run // (len(VOTE) * len(users))),
            lambda u, r: {"option": options[(u + r) % 2]},
        ),
    }
    for name, (who, rounds, words) in flows.items():
        flow, done = FLOWS[name]
        run = closed_loop_flows(feed_project, make, session, who, flow, rounds, words, done)
        if profile:
            if profile == name:
                await profiled(run)
            else:
                run.close()
            continue
        echo_rate = await echo_now()
        per_second, p50, p99 = await run
        results[name] = {
            "steps_per_second": round(per_second),
            "echo": round(echo_rate),
            "of_echo": round(per_second / echo_rate, 3),
            "step_p50_ms": round(p50, 1),
            "step_p99_ms": round(p99, 1),
        }
    results["echo"] = [round(e) for e in echoes]
    results["load_average_after"] = round(os.getloadavg()[0], 2)
    await stop(application)
    return results


async def stop(application: Any) -> None:
    application.stopping.set()
    await asyncio.gather(*application.tasks)
    await application.close()


async def statements_per_update(
    application: Any, feed: Feed, make: Updates, session: NullSession, users: list[int]
) -> None:
    """The SQL each variant and each filing step sends, one update at a time (identity
    cached as in the closed loop), to stderr."""
    from collections import Counter

    from sqlalchemy import event

    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split())[:90])

    event.listen(application.engine.sync_engine, "before_cursor_execute", count)
    try:
        for name, text in VARIANTS.items():
            seen.clear()
            for user in users[:20]:
                await feed(make.text(user, text))
            _print_statements(name, Counter(seen), 20)
        for user in users[:20]:
            await feed(make.text(user, "/help"))  # identities cached again
        by_step: list[Counter[str]] = [Counter() for _ in FILING]
        for user in users[:20]:
            step = iter(range(len(FILING)))

            async def counted(update: Update, step: Any = step) -> Any:
                before = len(seen)
                await feed(update)
                by_step[next(step)].update(seen[before:])

            await run_flow(counted, make, session, user, FILING, n=0)
        for (kind, text), counted_step in zip(FILING, by_step, strict=True):
            _print_statements(f"filing, {kind} {text!r}", counted_step, 20)
    finally:
        event.remove(application.engine.sync_engine, "before_cursor_execute", count)


def _print_statements(name: str, seen: Any, updates: int) -> None:
    print(f"--- {name}: {sum(seen.values()) / updates:.1f} statements per run", file=sys.stderr)
    for statement, times in seen.most_common():
        print(f"{times / updates:6.2f}  {statement}", file=sys.stderr)


async def profiled(run: Awaitable[Any], top: int = 30) -> None:
    """A run under cProfile; the top entries by own time to stderr."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    await run
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(top)


@contextlib.contextmanager
def postgres_database(server: str, prefix: str = "bench_conv") -> Iterator[str]:
    """A fresh database on the server for one benchmark run, dropped after it."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_on_server(server, f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(_on_server(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _on_server(server: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(server.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def medians_of_processes(count: int) -> dict[str, Any]:
    """This benchmark run `count` times, each in a fresh process (its own database, caches
    and heap); every figure's median over the runs, per database."""
    import subprocess

    argv = list(sys.argv[1:])
    index = argv.index("--processes")
    del argv[index : index + 2]
    runs: dict[str, list[dict[str, Any]]] = {}
    for n in range(count):
        done = subprocess.run(
            [sys.executable, "-m", "bench.conversation", *argv],
            check=True,
            capture_output=True,
            text=True,
        )
        for line in done.stdout.splitlines():
            result = json.loads(line)
            print(f"run {n + 1}: {line}", file=sys.stderr)
            runs.setdefault(result["database"], []).append(result)
    return {database: _medians(results) for database, results in runs.items()}


def _medians(results: list[dict[str, Any]]) -> dict[str, Any]:
    first = results[0]
    merged: dict[str, Any] = {"database": first["database"], "processes": len(results)}
    for name, value in first.items():
        if isinstance(value, dict):
            merged[name] = {
                field: statistics.median(r[name][field] for r in results) for field in value
            }
        elif isinstance(value, int | float) and not isinstance(value, bool):
            merged[name] = statistics.median(r[name] for r in results)
        elif name not in merged:
            merged[name] = value
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a database is created)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--updates", type=int, default=2000, help="updates per closed-loop run")
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop updates/s")
    parser.add_argument("--people", type=int, default=200, help="onboarded residents")
    parser.add_argument(
        "--redis", help="REDIS_URL, as a deployment of several processes (FSM, locks, identity)"
    )
    parser.add_argument(
        "--identity-cache", type=float, help="IDENTITY_CACHE_SECONDS (default: the bot's)"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="run the whole measurement in this many fresh processes, one after another, "
        "and print each run and the medians (the issue's figures: 5)",
    )
    parser.add_argument(
        "--profile",
        choices=sorted([*VARIANTS, *FLOWS, "statements"]),
        help="profile one variant instead (statements: the SQL of each, one at a time)",
    )
    args = parser.parse_args()
    if args.processes > 1:
        print(json.dumps(medians_of_processes(args.processes), ensure_ascii=False))
        return
    overrides: dict[str, Any] = {"redis_url": args.redis}
    if args.identity_cache is not None:
        overrides["identity_cache_seconds"] = args.identity_cache
    with contextlib.ExitStack() as databases:
        runs = []
        if args.postgres:
            runs.append(("postgresql", databases.enter_context(postgres_database(args.postgres))))
        if not args.no_sqlite:
            folder = Path(tempfile.mkdtemp(prefix="bench-conv-"))
            runs.append(("sqlite", f"sqlite+aiosqlite:///{folder / 'bench.db'}"))
        for label, url in runs:
            result = asyncio.run(
                measure(
                    url,
                    label,
                    args.updates,
                    args.rate,
                    args.people,
                    args.profile or "",
                    **overrides,
                )
            )
            print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
