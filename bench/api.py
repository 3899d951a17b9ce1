"""Requests filed per second through the HTTP API against the same service called directly,
in one process and one run: the bot's aiohttp app served on a real local port (as `make run`
serves it), an app with a bearer token filing for its residents with a fresh Idempotency-Key
on every POST, and `needs.file_need` called with the same residents' principals.

    python -m bench.api --postgres postgresql+asyncpg://root@127.0.0.1:5432/postgres \\
        --filings 400 --runs 3

Each run times both sides closed-loop (`--in-flight` filings at once), alternately, after a
warm-up in which every resident files once (their person and channel account are made then).
Printed: filings/s of each side per run, their medians and the ratio. The rate limit is off
(`RATE_API_CLIENT=0/1`), so the figure is the API's own cost, not its limit."""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from bench.conversation import postgres_database
from bot.app import build
from bot.config import load_settings
from bot.domain.enums import ScopeLevel
from bot.domain.needs import Beneficiary, NeedCategory, Urgency
from bot.domain.principal import Principal
from bot.services import api_clients, needs
from storage import migrate
from storage.uow import UnitOfWork
from tests.support.factories import make_map

Filing = Callable[[int], Awaitable[None]]


async def closed_loop(file_one: Filing, count: int, in_flight: int) -> float:
    """Filings per second with `in_flight` at once."""
    numbers = iter(range(count))

    async def worker() -> None:
        for n in numbers:
            await file_one(n)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return count / (time.perf_counter() - started)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None and server.sockets  # type: ignore[attr-defined]
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    return runner, f"http://127.0.0.1:{port}/api/v1"


async def token(http: aiohttp.ClientSession, base: str, app: api_clients.Registered) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": app.client.client_id,
        "client_secret": app.secret,
    }
    async with http.post(f"{base}/token", data=form) as response:
        assert response.status == 200, await response.text()
        return str((await response.json())["access_token"])


def text(side: str, run: int, n: int) -> str:
    # Each text its own, so no filing is taken for another ("me too" suggestions).
    return f"{side} {run}-{n}: 楼道灯坏了，第{n}层晚上看不见"


async def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    await migrate.upgrade(url)
    settings = load_settings(database_url=url, secret_key="bench", rate_api_client="0/1")
    application = build(settings)
    uow = UnitOfWork(application.session_factory)
    world = await make_map(uow)
    app = await api_clients.register(
        uow,
        name="bench",
        scopes=["needs:write"],
        area_level=ScopeLevel.DISTRICT,
        area_id=world.district,
    )
    runner, base = await serve(application.web_app)
    notifier = application.notifier
    residents = [f"resident-{n}" for n in range(args.people)]
    results: dict[str, Any] = {"database": "postgresql", "api": [], "direct": []}
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {await token(http, base, app)}"}
        run_number = itertools.count()
        current = {"run": 0}

        async def through_api(n: int) -> None:
            body = {
                "category": "home_repair",
                "description": text("api", current["run"], n),
                "community_id": world.community_a1,
            }
            call = {**headers, "Person": residents[n % len(residents)]}
            call["Idempotency-Key"] = uuid.uuid4().hex
            async with http.post(f"{base}/requests", json=body, headers=call) as response:
                assert response.status == 201, await response.text()
                await response.read()

        principals: list[Principal] = []
        for n, resident in enumerate(residents):  # warm-up: every resident files once
            await through_api(n)
            principals.append(
                await api_clients.act_for(
                    uow, app.client, external_id=resident, community_id=None, locale="zh"
                )
            )

        async def direct(n: int) -> None:
            await needs.file_need(
                UnitOfWork(application.session_factory),
                notifier,
                principals[n % len(principals)],
                category=NeedCategory.HOME_REPAIR,
                description=text("direct", current["run"], n),
                urgency=Urgency.NORMAL,
                beneficiary=Beneficiary.SELF,
                tz=settings.tz,
            )

        gc.collect()
        gc.freeze()
        for _ in range(args.runs):
            current["run"] = next(run_number)
            for side, file_one in (("api", through_api), ("direct", direct)):
                rate = await closed_loop(file_one, args.filings, args.in_flight)
                results[side].append(round(rate, 1))
    for side in ("api", "direct"):
        results[f"{side}_median"] = round(statistics.median(results[side]), 1)
    results["api_of_direct"] = round(results["api_median"] / results["direct_median"], 3)
    await runner.cleanup()
    await application.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", required=True, help="a PostgreSQL server URL")
    parser.add_argument("--filings", type=int, default=400, help="filings per side and run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=20)
    parser.add_argument("--people", type=int, default=50, help="residents the app acts for")
    args = parser.parse_args()
    with postgres_database(args.postgres, prefix="bench_api") as url:
        print(json.dumps(asyncio.run(measure(url, args)), ensure_ascii=False))


if __name__ == "__main__":
    main()
