"""Outbox benchmark: a broadcast to 10,000 recipients through the fake Bot API server (30/s
over all chats, 1/s into one chat, and injected 429s), sent by the real bot process.

    python -m bench.outbox --postgres postgresql+asyncpg://root@127.0.0.1:5432/postgres \\
        --recipients 10000 --injected-429 5

Two runs on a fresh database each: one uninterrupted; one where the bot is killed with SIGKILL
half-way and started again. Reported: the sustained rate as a fraction of the configured rate
(raw, and without the seconds the injected 429s asked to wait), messages lost (recipients who
never got it) and sent twice, the 429s the server's own limit had to give, and the rows the
outbox reports as uncertain (in flight at the kill).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import insert, select, text

from bot.domain.broadcasts import Audience, AudienceKind, DeliveryState
from bot.domain.enums import Channel, CommunityKind, Role, ScopeLevel
from bot.domain.principal import Grant, Principal
from bot.services import broadcasts
from storage import migrate
from storage.db import make_engine, make_session_factory
from storage.models import (
    ChannelAccount,
    Community,
    District,
    OutboxMessage,
    Person,
    Street,
)
from storage.uow import UnitOfWork
from tests.support.fake_telegram import FakeTelegram

FIRST_USER = 10_000_000
TEXT = "停水通知：明天 9 点到 12 点停水。"
RETRY_AFTER = 1


async def prepare(url: str, fake: FakeTelegram, recipients: int) -> None:
    """Schema, one community with `recipients` residents on Telegram, and the broadcast."""
    community = await residents(url, fake, recipients)
    engine = make_engine(url)
    try:
        worker = Principal(
            1, "zh", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, community),)
        )
        draft = broadcasts.Draft(Audience(AudienceKind.RESIDENTS, (community,)), text_zh=TEXT)
        await broadcasts.create(UnitOfWork(make_session_factory(engine)), worker, draft)
    finally:
        await engine.dispose()


async def residents(url: str, fake: FakeTelegram, recipients: int) -> int:
    """Schema and one community with `recipients` residents on Telegram; its id."""
    await migrate.upgrade(url)
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            district = (
                await connection.execute(
                    insert(District).values(name="渝北区").returning(District.id)
                )
            ).scalar_one()
            street = (
                await connection.execute(
                    insert(Street).values(district_id=district, name="甲街道").returning(Street.id)
                )
            ).scalar_one()
            community = (
                await connection.execute(
                    insert(Community)
                    .values(
                        street_id=street,
                        name="甲一社区",
                        code="A1",
                        kind=CommunityKind.URBAN,
                        resident_population=recipients,
                    )
                    .returning(Community.id)
                )
            ).scalar_one()
            people = [
                {"id": n + 1, "display_name": f"R{n}", "community_id": community, "locale": "zh"}
                for n in range(recipients)
            ]
            await connection.execute(insert(Person), people)
            accounts = [
                {
                    "person_id": n + 1,
                    "channel": Channel.TELEGRAM,
                    "external_id": str(FIRST_USER + n),
                    "chat_id": str(FIRST_USER + n),
                }
                for n in range(recipients)
            ]
            await connection.execute(insert(ChannelAccount), accounts)
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT setval('people_id_seq', (SELECT max(id) FROM people))")
                )
        for n in range(recipients):
            fake.add_user(FIRST_USER + n, f"R{n}")
        return int(community)
    finally:
        await engine.dispose()


def start_bot(url: str, fake: FakeTelegram, workdir: Path, rate: float) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": "0",
        "SECRET_KEY": "bench-secret",
        "REDIS_URL": "",
        "OUTBOX_RATE_TELEGRAM": str(rate),
        "OUTBOX_LEASE_SECONDS": "5",
        "LOG_LEVEL": "WARNING",
    }
    log = (workdir / "bot.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=workdir, env=env, stdout=log, stderr=log
    )


def delivered(fake: FakeTelegram, recipients: int) -> Counter[int]:
    """Messages each recipient really has (refused calls leave none)."""
    return Counter(
        {
            FIRST_USER + n: sum(
                1 for m in fake.bot_messages(FIRST_USER + n) if m.get("text") == TEXT
            )
            for n in range(recipients)
        }
    )


def _is_ours(params: dict[str, object]) -> bool:
    return params.get("text") == TEXT


async def outbox(url: str) -> Counter[DeliveryState]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(OutboxMessage.state))
            return Counter(DeliveryState(s) for (s,) in rows)
    finally:
        await engine.dispose()


async def run_once(
    url: str, recipients: int, rate: float, injected: int, kill_at: float | None
) -> list[str]:
    fake = FakeTelegram()
    await fake.start()
    fake.rate_limit(30, 1)
    workdir = Path(tempfile.mkdtemp(prefix="bench_outbox_"))
    try:
        await prepare(url, fake, recipients)
        inject_at = [int(recipients * (k + 1) / (injected + 1)) for k in range(injected)]
        sends: list[float] = []  # when each of our messages was accepted by the server
        seen = refused = 0
        process = start_bot(url, fake, workdir, rate)
        killed = False
        started = time.monotonic()
        while True:
            await asyncio.sleep(0.05)
            calls, errors = fake.calls[seen:], fake.errors[refused:]
            seen, refused = seen + len(calls), refused + len(errors)
            now = time.monotonic()
            accepted = sum(map(_is_ours, (c.params for c in calls)))
            accepted -= sum(map(_is_ours, (e.params for e in errors)))
            sends.extend(now for _ in range(accepted))
            while inject_at and len(sends) >= inject_at[0]:
                inject_at.pop(0)
                fake.fail_next("sendMessage", 429, retry_after=RETRY_AFTER)
            if kill_at is not None and not killed and len(sends) >= recipients * kill_at:
                process.send_signal(signal.SIGKILL)
                process.wait()
                killed = True
                process = start_bot(url, fake, workdir, rate)
            if len(sends) >= recipients or now - started > recipients / rate * 3 + 120:
                states = await outbox(url)
                if not states[DeliveryState.QUEUED] and not states[DeliveryState.SENDING]:
                    break
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        counts = delivered(fake, recipients)
        states = await outbox(url)
        span = (sends[-1] - sends[0]) if len(sends) > 1 else 1.0
        limit_429 = len([f for f in fake.errors if f.error_code == 429]) - injected
        held = injected * RETRY_AFTER
        lost = sum(1 for n in range(recipients) if counts[FIRST_USER + n] == 0)
        twice = sum(1 for n in counts.values() if n > 1)
        label = "killed half-way and restarted" if kill_at is not None else "uninterrupted"
        lines = [
            f"  {label}: {recipients:,} recipients, configured {rate:g}/s",
            f"    sustained rate {len(sends) / span:.2f}/s = {len(sends) / span / rate:.3f} of "
            f"configured; without the {held} s of injected retry_after "
            f"{len(sends) / max(0.001, span - held) / rate:.3f}",
            f"    lost {lost}, sent twice {twice}, uncertain rows {states[DeliveryState.UNCERTAIN]}"
            f", 429s from the server's own limit {limit_429} (plus {injected} injected)",
        ]
        return lines
    finally:
        await fake.stop()


async def main_async(postgres: str | None, recipients: int, rate: float, injected: int) -> None:
    for kill_at in (None, 0.5):
        if postgres:
            name = f"bench_{uuid.uuid4().hex[:8]}"
            admin = make_engine(postgres)
            async with admin.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
            url = postgres.rsplit("/", 1)[0] + f"/{name}"
            label = "PostgreSQL"
        else:
            url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
            label = "SQLite"
        try:
            print(label, flush=True)
            for line in await run_once(url, recipients, rate, injected, kill_at):
                print(line, flush=True)
        finally:
            if postgres:
                async with admin.connect() as connection:
                    await connection.execution_options(isolation_level="AUTOCOMMIT")
                    await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL whose server may create databases")
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--injected-429", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main_async(args.postgres, args.recipients, args.rate, args.injected_429))


if __name__ == "__main__":
    main()
