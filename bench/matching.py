"""Matching benchmark: top 5 volunteers for one need, for 1,000 open needs, for all open needs,
on PostgreSQL and SQLite, at several scales of the generated district (bench/generate.py).

    python -m bench.matching --postgres postgresql+asyncpg://root@127.0.0.1:5432/postgres \\
        --scales 0.1,0.3,1.0

For each scale a fresh database is created (PostgreSQL: a new database on that server; SQLite:
a file in /tmp), filled, analysed, and timed. "One need" is the worker's full view
(`matching.suggest`: volunteers, resources and projects, permission checked), timed over 200
random open needs after 20 warm-up calls. Batches are `matching.rank_needs`, each including its
database reads.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from bench.generate import NOW, generate
from bot.domain.matching import Weights
from bot.domain.principal import Principal
from bot.services import match_cache, matching
from storage.db import make_engine, make_session_factory
from storage.models import Need
from storage.uow import UnitOfWork

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Principal(0, "zh", is_superadmin=True)


async def _timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):8.1f} ms   p95 {p95:8.1f} ms   (n={len(ordered)})"


async def run(database_url: str, label: str, scale: float) -> list[str]:
    counts = await generate(database_url, scale)
    # As the bot does after start-up (bot/app.py): what exists now is frozen, so garbage
    # collections while ranking skip the generator's leftovers.
    gc.collect()
    gc.freeze()
    engine = make_engine(database_url)
    lines = [f"{label} scale {scale}: {counts}"]
    try:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
        uow = UnitOfWork(make_session_factory(engine))
        async with uow:
            query = select(Need.id).where(Need.state.in_(("new", "accepted")))
            ids = list((await uow.session.scalars(query)).all())
        rng = random.Random(1)
        weights = Weights()

        async def top5(need_id: int, cache: float) -> None:
            await matching.rank_needs(
                uow, need_ids=[need_id], weights=weights, tz=TZ, now=NOW, cache_seconds=cache
            )

        async def suggest(need_id: int, cache: float) -> None:
            await matching.suggest(
                uow, ROOT, need_id=need_id, weights=weights, tz=TZ, now=NOW, cache_seconds=cache
            )

        async def batch(chosen: list[int] | None, cache: float) -> None:
            await matching.rank_needs(
                uow, need_ids=chosen, weights=weights, tz=TZ, now=NOW, cache_seconds=cache
            )

        # The batch path scores a matrix, the single path one need: same answers.
        sample = rng.sample(ids, 50)
        together = await matching.rank_needs(uow, need_ids=sample, weights=weights, tz=TZ, now=NOW)
        for need_id in sample:
            alone = await matching.rank_needs(
                uow, need_ids=[need_id], weights=weights, tz=TZ, now=NOW
            )
            assert [s.id for s in alone[need_id]] == [s.id for s in together[need_id]], need_id
        lines.append("  batch and single ranking agree on 50 sampled needs")
        for cache, label in ((0.0, "cold"), (600.0, "warm")):
            match_cache.invalidate()
            for need_id in rng.sample(ids, 40):  # warm-up (and, warm, fill the street cache)
                await top5(need_id, cache)
            sample = rng.sample(ids, 200)
            timings = [await _timed(partial(top5, n, cache)) for n in sample]
            lines.append(f"  {label} one need, top 5     {_summary(timings)}")
            timings = [await _timed(partial(suggest, n, cache)) for n in sample]
            lines.append(f"  {label} one need, all kinds {_summary(timings)}")
            timings = [await _timed(partial(batch, rng.sample(ids, 1000), cache)) for _ in range(7)]
            lines.append(f"  {label} 1,000 open needs    {_summary(timings)}")
            timings = [await _timed(partial(batch, None, cache)) for _ in range(3)]
            lines.append(f"  {label} all {len(ids):,} open  {_summary(timings)}")
    finally:
        await engine.dispose()
        gc.unfreeze()
    return lines


async def main_async(postgres: str | None, sqlite: bool, scales: list[float]) -> None:
    for scale in scales:
        if postgres:
            name = f"bench_{uuid.uuid4().hex[:8]}"
            admin = make_engine(postgres)
            async with admin.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
            url = postgres.rsplit("/", 1)[0] + f"/{name}"
            try:
                for line in await run(url, "PostgreSQL", scale):
                    print(line, flush=True)
            finally:
                async with admin.connect() as connection:
                    await connection.execution_options(isolation_level="AUTOCOMMIT")
                    await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                await admin.dispose()
        if sqlite:
            path = Path(f"/tmp/bench_{uuid.uuid4().hex[:8]}.db")
            try:
                for line in await run(f"sqlite+aiosqlite:///{path}", "SQLite", scale):
                    print(line, flush=True)
            finally:
                for suffix in ("", "-wal", "-shm"):
                    await asyncio.to_thread(Path(f"{path}{suffix}").unlink, missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL whose server may create databases")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--scales", default="1.0")
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    asyncio.run(main_async(args.postgres, not args.no_sqlite, scales))


if __name__ == "__main__":
    main()
