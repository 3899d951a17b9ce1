"""Scale benchmark: one or two real bot processes (webhook mode, one PostgreSQL, one Redis) behind
a small round-robin front, fed by the fake Bot API server as Telegram feeds a webhook (up to 40
requests at once, one chat's updates one at a time and in order).

    python -m bench.scale --postgres postgresql+asyncpg://root@127.0.0.1:5432/postgres \\
        --redis redis://127.0.0.1:6379/15 --chats 200 --updates-per-chat 10 \\
        --recipients 10000 --rate 25

1. Throughput: `chats` onboarded residents each send `/mine` and `/help` in turn; all queued at
   once, the time until the last answer. Reported for one process and for two, their ratio, the
   CPU seconds each bot process used (from /proc) and so the updates per bot CPU-second, and the
   answers lost, doubled and out of order per chat.
2. Broadcast: `recipients` residents, two processes sharing one Redis pace at `rate`/s; the
   fake server refuses above Telegram's 30/s. Reported: the sustained rate as a fraction of the
   configured one, the busiest second, lost and doubled messages, each process's share.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select, text

from bench.outbox import FIRST_USER, TEXT, prepare, residents
from bot.domain.broadcasts import DeliveryState
from storage.db import make_engine
from storage.models import OutboxMessage
from tests.support.fake_telegram import JSON, FakeTelegram
from tests.support.round_robin import RoundRobin

COMMANDS = ("/mine", "/help")
SECRET = "bench-secret-token"
TICKS = os.sysconf("SC_CLK_TCK")


class TimedFake(FakeTelegram):
    """The fake Bot API server noting when each message was accepted."""

    def __init__(self) -> None:
        super().__init__(token=f"{random.randrange(10**8, 10**9)}:BENCH")
        self.sent_at: list[float] = []

    def _sendMessage(self, params: JSON) -> JSON:
        sent = super()._sendMessage(params)
        self.sent_at.append(time.monotonic())
        return sent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_bot(env: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    log = (workdir / f"bot-{env['WEB_PORT']}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=workdir,
        env={**os.environ, **env},
        stdout=log,
        stderr=log,
    )


async def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(1200):
            if process.poll() is not None:
                raise SystemExit(f"a bot process exited early ({process.returncode})")
            try:
                async with session.get(f"{url}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("a bot process did not come up")


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


async def start_processes(
    count: int, url: str, redis: str, fake: FakeTelegram, workdir: Path, **extra: str
) -> tuple[list[subprocess.Popen[bytes]], RoundRobin]:
    ports = [free_port() for _ in range(count)]
    front = RoundRobin([f"http://127.0.0.1:{port}" for port in ports])
    await front.start()
    if "WEBHOOK_SECRET" in extra:
        extra["WEBHOOK_BASE_URL"] = front.url  # Telegram posts to the front
    processes = []
    for port in ports:
        env = {
            "DATABASE_URL": url,
            "REDIS_URL": redis,
            "BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "WEB_HOST": "127.0.0.1",
            "WEB_PORT": str(port),
            "SECRET_KEY": "bench-secret",
            "LOG_LEVEL": "WARNING",
            **extra,
        }
        process = start_bot(env, workdir)
        await wait_healthy(f"http://127.0.0.1:{port}", process)
        processes.append(process)
    return processes, front


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=60)


async def throughput(
    url: str, redis: str, processes_count: int, chats: int, per_chat: int
) -> dict[str, Any]:
    fake = TimedFake()
    await fake.start()
    workdir = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    await residents(url, fake, chats)
    processes, front = await start_processes(
        processes_count, url, redis, fake, workdir, WEBHOOK_SECRET=SECRET
    )
    try:
        users = [FIRST_USER + n for n in range(chats)]
        sent = [COMMANDS[k % 2] for k in range(per_chat)]
        cpu_before = [cpu_seconds(p) for p in processes]
        started = time.monotonic()
        for command in sent:
            for user in users:
                fake.user_sends(user, command)
        total = chats * per_chat
        while sum(len(fake.bot_messages(u)) for u in users) < total:
            if time.monotonic() - started > 600:
                break
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - started
        cpu = [cpu_seconds(p) - before for p, before in zip(processes, cpu_before, strict=True)]
        await asyncio.sleep(1.0)  # a doubled answer would arrive by now
        lost = doubled = disorder = 0
        for user in users:
            replies = [str(m.get("text", "")) for m in fake.bot_messages(user)]
            kinds = ["/help" if "— /help" in r else "/mine" for r in replies]
            lost += max(0, per_chat - len(replies))
            doubled += max(0, len(replies) - per_chat)
            disorder += kinds != sent[: len(kinds)]
        return {
            "processes": processes_count,
            "updates": total,
            "seconds": elapsed,
            "rate": total / elapsed,
            "cpu": cpu,
            "per_cpu_second": total / sum(cpu),
            "lost": lost,
            "doubled": doubled,
            "chats_out_of_order": disorder,
            "served": dict(front.served),
        }
    finally:
        stop_processes(processes)
        await front.stop()
        await fake.stop()


async def broadcast(url: str, redis: str, recipients: int, rate: float) -> list[str]:
    fake = TimedFake()
    await fake.start()
    fake.rate_limit(30, 1)  # Telegram's: a send above it is refused with a 429
    workdir = Path(tempfile.mkdtemp(prefix="bench_scale_broadcast_"))
    await prepare(url, fake, recipients)
    extra = {"OUTBOX_RATE_TELEGRAM": str(rate), "OUTBOX_LEASE_SECONDS": "10"}
    processes, front = await start_processes(2, url, redis, fake, workdir, **extra)
    try:
        started = time.monotonic()
        patience = recipients / rate * 3
        while len(fake.sent_at) < recipients and time.monotonic() - started < patience:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        times = sorted(fake.sent_at)
        span = times[-1] - times[0] if len(times) > 1 else 1.0
        busiest = _busiest_second(times)
        got = Counter(
            sum(1 for m in fake.bot_messages(FIRST_USER + n) if m.get("text") == TEXT)
            for n in range(recipients)
        )
        shares = await _shares(url)
        limited = len([e for e in fake.errors if e.error_code == 429])
        return [
            f"  broadcast to {recipients:,} from 2 processes, configured {rate:g}/s (shared)",
            f"    sustained {len(times) / span:.2f}/s = {len(times) / span / rate:.3f} of the rate;"
            f" busiest second {busiest} messages; 429s from the 30/s limit {limited}",
            f"    lost {got[0]}, sent twice {sum(v for k, v in got.items() if k > 1)}, "
            f"rows sent by each process {sorted(shares.values())}",
        ]
    finally:
        stop_processes(processes)
        await front.stop()
        await fake.stop()


def _busiest_second(times: list[float]) -> int:
    """The most messages accepted in any one second (a sliding window over every send)."""
    best, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def _shares(url: str) -> Counter[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(OutboxMessage.claimed_by).where(OutboxMessage.state == DeliveryState.SENT)
            )
            return Counter(str(owner) for (owner,) in rows)
    finally:
        await engine.dispose()


CREATED: list[str] = []


async def _admin(server: str, statement: str) -> None:
    admin = make_engine(server)
    try:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await admin.dispose()


async def fresh_database(server: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    CREATED.append(name)
    return server.rsplit("/", 1)[0] + f"/{name}"


def describe(run: dict[str, Any]) -> str:
    cpu = " + ".join(f"{c:.1f}" for c in run["cpu"])
    return (
        f"  {run['processes']} process(es): {run['updates']:,} updates in {run['seconds']:.1f} s"
        f" = {run['rate']:.0f}/s; bot CPU {cpu} s = {run['per_cpu_second']:.0f} updates per bot"
        f" CPU-second; lost {run['lost']}, doubled {run['doubled']}, chats out of order"
        f" {run['chats_out_of_order']}; per backend {sorted(run['served'].values())}"
    )


async def main_async(args: argparse.Namespace) -> None:
    try:
        await _runs(args)
    finally:
        for name in CREATED:
            await _admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _runs(args: argparse.Namespace) -> None:
    if not args.no_throughput:
        runs = []
        for count in (1, 2):
            url = await fresh_database(args.postgres)
            runs.append(await throughput(url, args.redis, count, args.chats, args.updates_per_chat))
            print(describe(runs[-1]), flush=True)
        print(f"  throughput ratio two/one: {runs[1]['rate'] / runs[0]['rate']:.2f}", flush=True)
    if args.recipients:
        url = await fresh_database(args.postgres)
        for line in await broadcast(url, args.redis, args.recipients, args.rate):
            print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", required=True, help="a server URL that may create databases")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--updates-per-chat", type=int, default=10)
    parser.add_argument("--recipients", type=int, default=10_000, help="0 skips the broadcast")
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--no-throughput", action="store_true")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
