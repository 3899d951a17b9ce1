"""Repository of the WeCom group robots and their alert outbox (migration 0019)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import ScopeLevel
from storage.models import WecomAlert, WecomRobot


class WecomRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def robot(self, level: ScopeLevel, place_id: int) -> WecomRobot | None:
        query = select(WecomRobot).where(WecomRobot.level == level, WecomRobot.place_id == place_id)
        return (await self.session.scalars(query)).one_or_none()

    async def robot_by_id(self, robot_id: int) -> WecomRobot | None:
        return await self.session.get(WecomRobot, robot_id)

    async def robots(self) -> Sequence[WecomRobot]:
        query = select(WecomRobot).order_by(WecomRobot.level, WecomRobot.place_id)
        return (await self.session.scalars(query)).all()

    async def add_robot(self, robot: WecomRobot) -> WecomRobot:
        self.session.add(robot)
        await self.session.flush()
        return robot

    async def remove_robot(self, robot: WecomRobot) -> None:
        # Its queued alerts go with it (nowhere to send them any more).
        await self.session.execute(delete(WecomAlert).where(WecomAlert.robot_id == robot.id))
        await self.session.delete(robot)
        await self.session.flush()

    def add_alert(self, alert: WecomAlert) -> None:
        self.session.add(alert)

    async def alert(self, alert_id: int) -> WecomAlert | None:
        return await self.session.get(WecomAlert, alert_id)

    async def alerts(self, robot_id: int | None = None) -> Sequence[WecomAlert]:
        query = select(WecomAlert).order_by(WecomAlert.id)
        if robot_id is not None:
            query = query.where(WecomAlert.robot_id == robot_id)
        return (await self.session.scalars(query)).all()

    async def claim(
        self, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[WecomAlert]:
        """Queued alerts that are due and nobody holds (or whose holder's lease ran out),
        oldest first; rows another process has locked are skipped (PostgreSQL)."""
        query = (
            select(WecomAlert)
            .where(
                WecomAlert.state == "queued",
                WecomAlert.not_before <= now,
                or_(WecomAlert.claimed_at.is_(None), WecomAlert.claimed_at < now - lease),
            )
            .order_by(WecomAlert.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = list((await self.session.scalars(query)).all())
        for row in rows:
            row.claimed_by, row.claimed_at = owner, now
        await self.session.flush()
        return rows
