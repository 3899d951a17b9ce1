"""Engine and session factory; SQLite gets WAL and foreign keys on every connection."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
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


def statement_cache(size: int) -> dict[str, Any]:
    """asyncpg's connect arguments for a statement cache of `size`. 0 is for PgBouncer in
    transaction mode: a prepared statement may land on another server connection, so none is
    kept, and each gets a unique name (two clients on one server connection never clash)."""
    if size:
        return {"statement_cache_size": size}
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4()}__",
    }


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # A failed statement's error (and so the log) must not carry its parameters: they are
    # names, phone numbers and messages people typed.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        if ":memory:" in url:
            # One shared connection, or every session would see its own empty database.
            kwargs.setdefault("poolclass", StaticPool)
        else:
            # Personal data inside: the file (and var/) owner-only from the start.
            private_sqlite_file(Path(url.split("///", 1)[1].split("?", 1)[0]))
            # Every transaction takes SQLite's one write lock (BEGIN IMMEDIATE), so a process
            # gains nothing from a second connection: with one, transactions queue in the pool
            # in order instead of polling the file lock (busy_timeout), which under a hundred
            # updates in flight ran out as "database is locked".
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_timeout", 60)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    elif not kwargs.get("pool_pre_ping"):
        event.listen(engine.sync_engine.pool, "connect", _note_in_use)
        event.listen(engine.sync_engine.pool, "checkin", _note_in_use)
        event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


# A connection back in the pool for longer than this is pinged before it is handed out (a
# restart, a firewall or PgBouncer may have closed it meanwhile). SQLAlchemy's pre-ping asks on
# every checkout, three round trips on asyncpg: half of what a one-statement update sent.
# A connection in steady use that a restart broke fails its statement instead, and that
# failure invalidates every older connection in the pool (SQLAlchemy's disconnect handling).
IDLE_SECONDS_BEFORE_PING = 5.0


def _note_in_use(_dbapi_connection: Any, record: Any) -> None:
    record.info["in_use_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    idle = time.monotonic() - record.info.get("in_use_at", 0.0)
    if idle < IDLE_SECONDS_BEFORE_PING:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:
        # The pool throws this connection and every older one away and connects anew.
        raise DisconnectionError(f"ping after {idle:.0f} s idle failed") from error


def _sqlite_begin(connection: Any) -> None:
    """The driver would start a transaction only at the first write, so a read-then-write was
    not atomic and SAVEPOINTs escaped the transaction. IMMEDIATE takes the write lock at once:
    concurrent writers wait (busy_timeout) instead of failing on a lock upgrade."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def is_outage(error: BaseException) -> bool:
    """True when the error means the database cannot be reached (stopped, restarting, network
    gone), not that a statement was wrong: worth a 503 and a retry later, not a bug report.
    The driver's own error is looked for along the chain of causes (SQLAlchemy wraps it)."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, OperationalError | InterfaceError):
            return True
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if type(seen).__name__ in _DRIVER_OUTAGES:
            return True
        if isinstance(seen, ConnectionError | TimeoutError | OSError):
            return True
        if isinstance(seen, DBAPIError) and seen.orig is not None:
            seen = seen.orig
        else:
            seen = seen.__cause__ or seen.__context__
    return False


_DRIVER_OUTAGES = frozenset(
    {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "InterfaceError",
        "AdminShutdownError",
        "CrashShutdownError",
        "TooManyConnectionsError",
    }
)


async def reachable(engine: AsyncEngine, timeout: float = 3.0) -> bool:
    """One `SELECT 1` within `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        return True
    except Exception as error:
        if is_outage(error) or isinstance(error, TimeoutError):
            return False
        raise
