"""End-to-end fixtures: the real `python -m bot run` process, a fake Bot API server, a browser."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.databases import IN_CI, PostgresDatabases
from tests.support.fake_telegram import FakeTelegram

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# How long the bot process may take to start (a loaded shared machine needs more than 30 s).
START_SECONDS = float(os.environ.get("E2E_START_SECONDS", "90"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgres"])
def e2e_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: the bot process applies the migrations itself, as `make run` does."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    yield databases.empty()


class BotProcess:
    """`python -m bot …` as a user runs it, with its own working directory and log file."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = {**os.environ, **env}
        self.port = int(env["WEB_PORT"])
        self.log_path = workdir / "bot.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    async def start(self) -> None:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        async with aiohttp.ClientSession() as session:
            for _ in range(int(START_SECONDS * 10)):
                if self.process.poll() is not None:
                    raise AssertionError(f"the bot exited early:\n{self.log()}")
                try:
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"the bot did not come up in {START_SECONDS:g} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def stop(self) -> int:
        """SIGTERM, as a service manager does; the bot must shut down cleanly."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        for _ in range(150):
            if self.process.poll() is not None:
                return self.process.returncode
            await asyncio.sleep(0.1)
        self.process.kill()
        self.process.wait()
        raise AssertionError(f"the bot ignored SIGTERM for 15 s:\n{self.log()}")


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def start_bot(tmp_path: Path, e2e_database_url: str) -> AsyncIterator[Callable[..., Any]]:
    started: list[BotProcess] = []

    async def start(*, demo: bool = True, **env: str) -> BotProcess:
        bot = BotProcess(
            tmp_path,
            {
                "DATABASE_URL": e2e_database_url,
                "WEB_HOST": "127.0.0.1",
                "WEB_PORT": str(free_port()),
                "SECRET_KEY": "e2e-secret",
                "BOT_TOKEN": "",
                "REDIS_URL": "",
                **env,
            },
        )
        if demo:
            bot.cli("demo-data", "--places-only")
        await bot.start()
        started.append(bot)
        return bot

    yield start
    for bot in started:
        code = await bot.stop()
        assert code == 0, f"exit code {code}:\n{bot.log()}"
        assert "Traceback" not in bot.log(), bot.log()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        await instance.close()
