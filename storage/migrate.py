"""Run Alembic migrations from code (the CLI, `make run` and the tests all come through here)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would choke on a % in a password.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _run(database_url: str, verb: str, revision: str) -> None:
    getattr(command, verb)(alembic_config(database_url), revision)


async def upgrade(database_url: str, revision: str = "head") -> None:
    # Alembic's env.py runs its own event loop, so it goes to a worker thread.
    await asyncio.to_thread(_run, database_url, "upgrade", revision)


async def downgrade(database_url: str, revision: str = "base") -> None:
    await asyncio.to_thread(_run, database_url, "downgrade", revision)


async def current(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from storage.db import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()
