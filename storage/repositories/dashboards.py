"""The dashboard page's one-time links (only their hashes are stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import ScopeLevel
from storage.models import DashboardLink


class DashboardsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add_link(self, link: DashboardLink) -> None:
        self.session.add(link)

    async def use_link(
        self, token_hash: str, now: datetime
    ) -> tuple[int, ScopeLevel, int, str] | None:
        """Mark an unused, unexpired link used, in one statement (two requests with the same
        token cannot both win); its person, level, scope and locale, or None."""
        result = await self.session.execute(
            update(DashboardLink)
            .where(
                DashboardLink.token_hash == token_hash,
                DashboardLink.used_at.is_(None),
                DashboardLink.expires_at > now,
            )
            .values(used_at=now)
            .returning(
                DashboardLink.person_id,
                DashboardLink.level,
                DashboardLink.scope_id,
                DashboardLink.locale,
            )
        )
        row = result.first()
        if row is None:
            return None
        return int(row[0]), ScopeLevel(row[1]), int(row[2]), str(row[3])
