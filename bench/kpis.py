"""Indicator benchmark: the full indicator set (and twelve months of operations) for a district
of 200 communities, 100,000 residents, 20,000 volunteers, 50,000 needs and 1,000,000 confirmed
service records spread over the last year.

    python -m bench.kpis --postgres postgresql+asyncpg://root@127.0.0.1:5432/postgres

Reports the time of `kpis.report` for the district (cold: no cache), for one street and one
community, median and p95 over 7 runs, on PostgreSQL (and SQLite unless --no-sqlite).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from bench.generate import NOW, generate
from bot.domain.attendance import CheckMethod, RecordStatus
from bot.domain.enums import ScopeLevel
from bot.domain.kpis import Targets
from bot.domain.principal import Principal
from bot.domain.volunteers import VolunteerStatus
from bot.services import kpis
from storage.db import make_engine, make_session_factory
from storage.models import Community, Shift, Volunteer
from storage.uow import UnitOfWork

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Principal(0, "zh", is_superadmin=True)
RECORDS = 1_000_000
SHIFTS_PER_COMMUNITY = 60  # five a month for a year
BATCH = 50_000


async def add_records(url: str, total: int) -> int:
    """Top the generated records up to `total`, spread over the last twelve months."""
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            communities = list((await connection.scalars(select(Community.id))).all())
            volunteers = list(
                (
                    await connection.scalars(
                        select(Volunteer.person_id).where(
                            Volunteer.status == VolunteerStatus.VERIFIED
                        )
                    )
                ).all()
            )
            have = int(await connection.scalar(text("SELECT count(*) FROM service_records")) or 0)
            first_shift = int(await connection.scalar(select(func.max(Shift.id))) or 0) + 1
            first_record = (
                int(
                    await connection.scalar(
                        text("SELECT coalesce(max(id), 0) FROM service_records")
                    )
                    or 0
                )
                + 1
            )
        shifts = []
        for n in range(len(communities) * SHIFTS_PER_COMMUNITY):
            start = NOW - timedelta(days=(n // len(communities)) * 6 + 1, hours=n % 9)
            shifts.append(
                (first_shift + n, communities[n % len(communities)], 1, "基准服务", "活动室",
                 300, start, start + timedelta(hours=2), 100, "[]", 12, start)
            )  # fmt: skip
        records = []
        for n in range(total - have):
            shift = shifts[n % len(shifts)]
            person = volunteers[(n // len(shifts)) % len(volunteers)]
            records.append(
                (first_record + n, shift[0], person, 1, shift[1], "基准服务", "活动室",
                 RecordStatus.CONFIRMED.value, shift[6], CheckMethod.LOCATION.value,
                 shift[7], 60 + n % 120)
            )  # fmt: skip
        await _copy(engine, shifts, records)
        return have + len(records)
    finally:
        await engine.dispose()


SHIFT_COLUMNS = (
    "id", "community_id", "created_by", "title", "place", "radius_m", "starts_at", "ends_at",
    "capacity", "skills", "cancel_hours", "created_at",
)  # fmt: skip
RECORD_COLUMNS = (
    "id", "shift_id", "person_id", "volunteer_id", "community_id", "content", "place", "status",
    "checked_in_at", "check_in_method", "checked_out_at", "minutes",
)  # fmt: skip


async def _copy(engine: Any, shifts: list[tuple[Any, ...]], records: list[tuple[Any, ...]]) -> None:
    async with engine.begin() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        if connection.dialect.name == "postgresql":
            await raw.copy_records_to_table("shifts", records=shifts, columns=SHIFT_COLUMNS)
            await raw.copy_records_to_table(
                "service_records", records=records, columns=RECORD_COLUMNS
            )
            return
        for table, columns, rows in (
            ("shifts", SHIFT_COLUMNS, shifts),
            ("service_records", RECORD_COLUMNS, records),
        ):
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            for start in range(0, len(rows), BATCH):
                chunk = [tuple(_sqlite(v) for v in row) for row in rows[start : start + BATCH]]
                await raw.executemany(sql, chunk)


def _sqlite(value: Any) -> Any:
    """The stored form on SQLite (UtcDateTime keeps ISO text)."""
    if hasattr(value, "isoformat"):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    return value


async def run(url: str, label: str) -> list[str]:
    started = time.perf_counter()
    counts = await generate(url, 1.0)
    records = await add_records(url, RECORDS)
    lines = [
        f"{label}: generated in {time.perf_counter() - started:.0f} s: "
        f"{counts['communities']} communities, {counts['residents']:,} residents, "
        f"{counts['volunteers']:,} volunteers, "
        f"{counts['open_needs'] + counts['assigned_needs']:,} needs, {records:,} service records"
    ]
    gc.collect()
    gc.freeze()
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
        uow = UnitOfWork(make_session_factory(engine))
        async with uow:
            street = int(await uow.session.scalar(select(func.min(Community.street_id))) or 0)
            community = int(await uow.session.scalar(select(func.min(Community.id))) or 0)
        for level, scope in ((ScopeLevel.DISTRICT, 1), (ScopeLevel.STREET, street),
                             (ScopeLevel.COMMUNITY, community)):  # fmt: skip
            timings = []
            for _ in range(8):
                t = time.perf_counter()
                found = await kpis.report(
                    uow, ROOT, level=level, scope_id=scope, targets=Targets(), tz=TZ, now=NOW,
                    cache_seconds=0,
                )  # fmt: skip
                timings.append((time.perf_counter() - t) * 1000)
            timings = sorted(timings[1:])  # the first run warms the connection pool
            p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
            hours = sum(m.volunteer_hours for m in found.months)
            lines.append(
                f"  {level.value:<9} full indicator set: "
                f"median {statistics.median(timings):7.1f} ms"
                f"   p95 {p95:7.1f} ms   (n={len(timings)}; {hours:,.0f} confirmed hours in the "
                f"year)"
            )
    finally:
        await engine.dispose()
        gc.unfreeze()
    return lines


async def main_async(postgres: str | None, sqlite: bool) -> None:
    if postgres:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(postgres)
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            for line in await run(postgres.rsplit("/", 1)[0] + f"/{name}", "PostgreSQL"):
                print(line, flush=True)
        finally:
            async with admin.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()
    if sqlite:
        path = f"{tempfile.mkdtemp()}/bench.db"
        for line in await run(f"sqlite+aiosqlite:///{path}", "SQLite"):
            print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL whose server may create databases")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    asyncio.run(main_async(args.postgres, not args.no_sqlite))


if __name__ == "__main__":
    main()
