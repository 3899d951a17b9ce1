"""Update ids already taken in, kept in the database (when no Redis is configured)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import ProcessedUpdate
from storage.types import utcnow

PRUNE_EVERY = 500


class DatabaseSeenUpdates:
    """`first_time` records an update id and says whether it is new: one INSERT … ON
    CONFLICT DO NOTHING, atomic across processes. Every few hundred inserts the rows older
    than the keep window are deleted, so the table stays bounded."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], keep: timedelta) -> None:
        self.session_factory = session_factory
        self.keep = keep
        self._inserted = 0

    async def first_time(self, bot_id: int, update_id: int) -> bool:
        async with self.session_factory() as session:
            dialect = session.bind.dialect.name if session.bind else "sqlite"
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            statement = (
                insert(ProcessedUpdate)
                .values(bot_id=bot_id, update_id=update_id, received_at=utcnow())
                .on_conflict_do_nothing(index_elements=["bot_id", "update_id"])
            )
            result = await session.execute(statement)
            new = bool(getattr(result, "rowcount", 0))
            self._inserted += 1
            if self._inserted % PRUNE_EVERY == 0:
                cutoff = utcnow() - self.keep
                await session.execute(
                    delete(ProcessedUpdate).where(ProcessedUpdate.received_at < cutoff)
                )
            await session.commit()
            return new
