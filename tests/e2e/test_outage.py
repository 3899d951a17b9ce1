"""A database outage, as it happens: the test starts its own PostgreSQL cluster (never the
shared one), runs the real bot process against it, stops the cluster and starts it again.
Health answers tell the truth, pages say "temporarily unavailable" in the reader's language,
the log stays short, and what the person typed meanwhile is answered once the database is
back."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.e2e.conftest import BotProcess, free_port
from tests.support.databases import IN_CI

PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
OUTAGE_SECONDS = 12


class PrivateCluster:
    """initdb into a temporary directory, pg_ctl on a free port, owned by the postgres user
    when the tests run as root (initdb refuses root)."""

    def __init__(self, bindir: str) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="wushe-outage-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.port = free_port()
        self.logfile = self.root / "postgres.log"
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [f"{self.bindir}/{args[0]}", *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        if self.as_root:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.logfile), "-w", "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    if not PG_BINS or (os.geteuid() == 0 and shutil.which("runuser") is None):
        message = "PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are needed"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    cluster = PrivateCluster(PG_BINS[-1])
    cluster.init()
    cluster.start()
    yield cluster
    cluster.remove()


async def start_patiently(bot: BotProcess, seconds: float = 120) -> None:
    """`BotProcess.start`, with more patience: on a busy machine importing aiogram alone can
    take half a minute."""
    log = bot.log_path.open("wb")
    bot.process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=bot.workdir,
        env=bot.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    async with aiohttp.ClientSession() as session:
        for _ in range(int(seconds * 10)):
            if bot.process.poll() is not None:
                raise AssertionError(f"the bot exited early:\n{bot.log()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{bot.url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError(f"the bot did not come up in {seconds} s:\n{bot.log()}")


async def bot_texts(session: aiohttp.ClientSession, url: str) -> list[str]:
    async with session.get(f"{url}/chat/api/events?after=0&timeout=0") as response:
        body = await response.json()
    return [e.get("html") or "" for e in body["events"] if e.get("from") == "bot"]


async def eventually(check: Any, seconds: float = 30, what: str = "", log: Any = lambda: "") -> Any:
    for _ in range(int(seconds * 10)):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"not in {seconds} s: {what}\n{log()[-5000:]}")


async def test_the_bot_rides_out_a_database_outage(cluster: PrivateCluster, tmp_path: Path) -> None:
    admin = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres")
    await admin.execute("CREATE DATABASE wushe")
    await admin.close()
    bot = BotProcess(
        tmp_path,
        {
            "DATABASE_URL": cluster.url("wushe"),
            "WEB_HOST": "127.0.0.1",
            "WEB_PORT": str(free_port()),
            "SECRET_KEY": "e2e-secret",
            "BOT_TOKEN": "",
            "REDIS_URL": "",
            # The knocking below is not an attack: the outage is what is tested here.
            "RATE_VERIFY_ADDRESS": "0/1",
        },
    )
    await start_patiently(bot)
    jar = aiohttp.CookieJar(unsafe=True)
    try:
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            url = bot.url
            async with session.get(f"{url}/", headers={"Accept-Language": "zh-CN"}) as page:
                assert page.status == 200
            async with session.get(f"{url}/healthz") as health:
                assert health.status == 200
            lines_before = len(bot.log().splitlines())

            cluster.stop()
            async with session.get(f"{url}/healthz") as health:
                assert health.status == 503
                assert (await health.json())["database"] is False
            async with session.get(f"{url}/livez") as live:
                assert live.status == 200
            verify = f"{url}/verify/ABCDEFGH2345"
            async with session.get(verify, headers={"Accept-Language": "zh-CN"}) as down:
                assert down.status == 503
                assert down.headers["Retry-After"].isdigit()
                assert "服务暂时不可用，请过几分钟再试。" in await down.text()
            async with session.get(verify, headers={"Accept-Language": "en"}) as down:
                assert "temporarily unavailable" in await down.text()
            # The chat page still opens. A message typed there cannot be stored while the
            # transcript's database is down: the page is told so in words and keeps the
            # message with a resend button (the same client id: never handled twice).
            async with session.get(f"{url}/", headers={"Accept-Language": "zh-CN"}) as page:
                assert page.status == 200
            typed = {"text": "/start", "client_id": "typed-during-the-outage"}
            async with session.post(
                f"{url}/chat/api/send", json=typed, headers={"Accept-Language": "zh-CN"}
            ) as sent:
                assert sent.status == 503
                assert sent.headers["Retry-After"].isdigit()
                assert "服务暂时不可用" in (await sent.json())["message"]
            # The outage goes on, with people knocking: the log must stay short.
            for _ in range(OUTAGE_SECONDS * 4):
                async with session.get(verify) as down:
                    assert down.status == 503
                async with session.get(f"{url}/healthz") as health:
                    assert health.status == 503
                await asyncio.sleep(0.25)
            outage_log = bot.log().splitlines()[lines_before:]
            assert len(outage_log) < 120, "\n".join(outage_log)
            assert not any("Traceback" in line for line in outage_log), "\n".join(outage_log)
            assert "ABCDEFGH2345" not in "\n".join(outage_log)

            cluster.start()

            async def healthy() -> bool:
                async with session.get(f"{url}/healthz") as health:
                    return health.status == 200

            await eventually(healthy, what="healthy again", log=bot.log)

            async with session.post(f"{url}/chat/api/send", json=typed) as resent:
                assert resent.status == 200  # the page's resend button, after the outage

            async def answered() -> list[str]:
                texts = await bot_texts(session, url)
                return texts if any("请选择语言" in t for t in texts) else []

            await eventually(answered, what="the resent message answered", log=bot.log)
            async with session.get(verify, headers={"Accept-Language": "zh-CN"}) as page:
                assert page.status == 404  # an unknown code again, not an outage
    finally:
        code = await bot.stop()
        assert code == 0, bot.log()
