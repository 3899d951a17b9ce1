"""Fresh, migrated databases for tests: SQLite files copied from a migrated template, and
PostgreSQL databases cloned from a migrated template database (CREATE DATABASE … TEMPLATE)."""

from __future__ import annotations

import asyncio
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from alembic import command

from storage.migrate import alembic_config

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_env(name: str, what: str) -> str:
    """The value of a test service variable; missing: skip on a laptop, fail under CI=true."""
    value = os.environ.get(name)
    if value:
        return value
    message = f"{name} is not set: {what} tests need it"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing service fails the run)")
    pytest.skip(message)


def migrate_sync(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _admin(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(with_database(url, "postgres")))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


class PostgresDatabases:
    """Creates uniquely named databases on the test server and drops them at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []
        self.template: str | None = None

    def _new_name(self, prefix: str) -> str:
        return f"{prefix}_{uuid.uuid4().hex[:10]}"

    def empty(self) -> str:
        name = self._new_name("wushe_empty")
        asyncio.run(_admin(self.server_url, f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return with_database(self.server_url, name)

    def migrated(self) -> str:
        if self.template is None:
            url = self.empty()
            migrate_sync(url)
            self.template = urlsplit(url).path.lstrip("/")
        name = self._new_name("wushe_test")
        asyncio.run(_admin(self.server_url, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        self.created.append(name)
        return with_database(self.server_url, name)

    def drop_all(self) -> None:
        statements = [f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in reversed(self.created)]
        if statements:
            asyncio.run(_admin(self.server_url, *statements))
        self.created.clear()
