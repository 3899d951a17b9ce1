"""Engine and session factory; SQLite gets WAL and foreign keys on every connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from storage.files import private_sqlite_file


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, open transactions (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        if ":memory:" in url:
            # One shared connection, or every session would see its own empty database.
            kwargs.setdefault("poolclass", StaticPool)
        else:
            # Personal data inside: the file (and var/) owner-only from the start.
            private_sqlite_file(Path(url.split("///", 1)[1].split("?", 1)[0]))
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    else:
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(connection: Any) -> None:
    """The driver would start a transaction only at the first write, so a read-then-write was
    not atomic and SAVEPOINTs escaped the transaction. IMMEDIATE takes the write lock at once:
    concurrent writers wait (busy_timeout) instead of failing on a lock upgrade."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
