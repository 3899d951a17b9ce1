"""Shared fixtures: every storage-backed test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services import emergencies, kpis, match_cache
from storage.db import make_engine, make_session_factory
from storage.uow import UnitOfWork
from tests.support.databases import PostgresDatabases, migrate_sync, require_env

# TEST_BACKENDS=sqlite (the fast lane) leaves PostgreSQL out; CI runs both.
BACKENDS = os.environ.get("TEST_BACKENDS", "sqlite,postgres").split(",")
TESTS = Path(__file__).resolve().parent
LANES = {"unit": "unit", "integration": "integration", "regressions": "integration", "e2e": "e2e"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test carries its lane's marker, from the folder it lives in; a test outside the
    lane folders is an error, so none escapes `make test-fast` or the full run unnoticed."""
    for item in items:
        folder = Path(str(item.path)).resolve().relative_to(TESTS).parts[0]
        lane = LANES.get(folder)
        if lane is None:
            raise pytest.UsageError(f"{item.nodeid}: tests live in {sorted(LANES)} (lane marker)")
        item.add_marker(getattr(pytest.mark, lane))


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> Iterator[None]:
    """Every test starts on a fresh database whose ids repeat those of the test before: the
    process-wide caches (indicators, matching candidates) must not carry a report over."""
    kpis.forget()
    match_cache.invalidate()
    emergencies.forget_active()
    yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate_sync(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    server = require_env("TEST_DATABASE_URL", "PostgreSQL")
    if server.startswith("postgresql://"):
        server = "postgresql+asyncpg://" + server.removeprefix("postgresql://")
    databases = PostgresDatabases(server)
    yield databases
    databases.drop_all()


@pytest.fixture
def postgres_url(postgres_databases: PostgresDatabases) -> str:
    """A fresh migrated PostgreSQL database, for what only PostgreSQL has (several processes,
    LISTEN/NOTIFY, its pool and transactions)."""
    return postgres_databases.migrated()


@pytest.fixture
async def postgres_uow(postgres_url: str) -> AsyncIterator[UnitOfWork]:
    engine = make_engine(postgres_url)
    yield UnitOfWork(make_session_factory(engine))
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh database with the schema built by the Alembic migrations."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    return databases.migrated()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def uow(engine: AsyncEngine) -> UnitOfWork:
    return UnitOfWork(make_session_factory(engine))
