"""One scheduler at a time across processes: a PostgreSQL session-level advisory lock.

The lock lives on a connection of its own, held open while this process is the scheduler.
When the process dies its connection closes and PostgreSQL releases the lock; another process,
trying again each round, takes it over. SQLite means one process: the lock is always held."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# Any fixed 64-bit number names the lock; this one spells "wushe" + 1.
SCHEDULER_LOCK = 0x77757368_65000001


class SchedulerLock:
    def __init__(self, engine: AsyncEngine, key: int = SCHEDULER_LOCK) -> None:
        self.engine = engine
        self.key = key
        self._connection: AsyncConnection | None = None

    @property
    def shared(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def held(self) -> bool:
        """True while this process is the scheduler: the lock is taken if it is free, and a
        lock whose connection was lost is given up (and tried for again)."""
        if not self.shared:
            return True
        if self._connection is not None:
            try:
                await self._connection.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("scheduler: the lock's connection was lost")
                await self.release()
        return await self._try()

    async def _try(self) -> bool:
        connection = await self.engine.connect()
        try:
            # AUTOCOMMIT: no transaction stays open on the lock's connection.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            taken = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
        except Exception:
            await connection.close()
            raise
        if not taken:
            await connection.close()
            return False
        self._connection = connection
        log.info("scheduler: this process runs the deadline and profile checks")
        return True

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        except Exception:
            log.debug("scheduler: unlock on a lost connection (already released)")
        finally:
            await connection.invalidate()
