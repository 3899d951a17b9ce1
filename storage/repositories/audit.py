"""The append-only audit log: written with each change, read per entity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry
from storage.types import utcnow


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(
        self,
        *,
        actor_id: int | None,
        action: str,
        entity: str,
        entity_id: int | None,
        details: dict[str, Any] | None = None,
        note: str | None = None,
        at: datetime | None = None,
    ) -> None:
        self.session.add(
            AuditEntry(
                at=at or utcnow(),
                actor_id=actor_id,
                action=action,
                entity=entity,
                entity_id=entity_id,
                details=details or {},
                note=note,
            )
        )

    async def for_entity(self, entity: str, entity_id: int) -> Sequence[AuditEntry]:
        query = (
            select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.id)
        )
        return (await self.session.scalars(query)).all()
