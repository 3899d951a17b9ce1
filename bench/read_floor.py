"""What one read costs the bot's process, by the way it is sent: `/mine`'s query (a resident's
own and supported requests, newest first) with 100 reads in flight, CPU milliseconds per read.

    python -m bench.read_floor --postgres postgresql+asyncpg://root@127.0.0.1:5432/postgres

From asyncpg alone to the ORM session as the bot used it before (statement composed each time,
pool pre-ping, a transaction): the floor under any screen that reads the database, against which
the conversation benchmark's ratios are read (docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy import BigInteger, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.conversation import postgres_database
from bot.config import load_settings
from storage import migrate
from storage.db import make_engine, make_session_factory
from storage.models import Need, NeedSupporter

IN_FLIGHT = 100
PERSON = bindparam("person_id", type_=BigInteger)


def composed(person_id: Any) -> Any:
    supported = select(NeedSupporter.need_id).where(NeedSupporter.person_id == person_id)
    return (
        select(Need)
        .where(or_(Need.resident_id == person_id, Need.id.in_(supported)))
        .order_by(Need.created_at.desc(), Need.id.desc())
        .limit(6)
    )


PREBUILT = composed(PERSON)
SQL = (
    "SELECT * FROM needs WHERE resident_id = $1 OR id IN (SELECT need_id FROM need_supporters"
    " WHERE person_id = $1) ORDER BY created_at DESC, id DESC LIMIT 6"
)


async def cpu_ms_per_read(read: Callable[[int], Awaitable[Any]], reads: int) -> float:
    async def worker(queue: Any) -> None:
        for n in queue:
            await read(n)

    best = float("inf")
    for _ in range(2):  # the first round warms statements and connections
        queue = iter(range(reads))
        start = time.process_time()
        await asyncio.gather(*(worker(queue) for _ in range(IN_FLIGHT)))
        best = min(best, (time.process_time() - start) * 1000 / reads)
    return round(best, 3)


async def measure(url: str, reads: int) -> dict[str, float]:
    await migrate.upgrade(url)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    pool = await asyncpg.create_pool(dsn, min_size=15, max_size=15)
    settings = load_settings(database_url=url, secret_key="bench")
    # The bot's engine: its pool kept (no overflow), pinged when idle only…
    engine = make_engine(
        url, pool_size=settings.database_pool_size, max_overflow=settings.database_pool_overflow
    )
    # …and as it was: 5 kept + 10 opened and closed again, pinged on every checkout.
    old: AsyncEngine = create_async_engine(url, pool_pre_ping=True)
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    sessions, old_sessions = make_session_factory(engine), make_session_factory(old)
    reading_sessions = make_session_factory(autocommit)

    async def driver(n: int) -> None:
        async with pool.acquire() as connection:
            await connection.fetch(SQL, n)

    async def core(n: int) -> None:
        async with autocommit.connect() as connection:
            (await connection.execute(PREBUILT, {"person_id": n})).all()

    async def orm_reading(n: int) -> None:
        async with reading_sessions() as session:
            (await session.scalars(PREBUILT, {"person_id": n})).all()

    async def orm_before(n: int) -> None:
        async with old_sessions() as session:
            (await session.scalars(composed(n))).all()
            await session.rollback()

    async def orm_transaction(n: int) -> None:
        async with sessions() as session:
            (await session.scalars(PREBUILT, {"person_id": n})).all()
            await session.rollback()

    results = {
        "asyncpg, pool acquire + fetch": await cpu_ms_per_read(driver, reads),
        "Core, prebuilt, autocommit": await cpu_ms_per_read(core, reads),
        "ORM session, prebuilt, autocommit (uow.reading)": await cpu_ms_per_read(
            orm_reading, reads
        ),
        "ORM session, prebuilt, transaction": await cpu_ms_per_read(orm_transaction, reads),
        "ORM as before: composed, pre-ping, transaction": await cpu_ms_per_read(orm_before, reads),
    }
    await pool.close()
    await engine.dispose()
    await old.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="a PostgreSQL server URL")
    parser.add_argument("--reads", type=int, default=3000)
    args = parser.parse_args()
    with postgres_database(args.postgres, prefix="bench_read") as url:
        print(json.dumps(asyncio.run(measure(url, args.reads)), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
