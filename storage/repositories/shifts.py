"""Shifts and their sign-ups, reminders included."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.social_work import ShiftKind
from bot.domain.volunteers import SignupStatus
from storage.models import Shift, ShiftSignup
from storage.repositories.paging import _page


class ShiftsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        """Send the pending sign-ups and their changes, so that the next read of the shift's
        sign-ups in this transaction counts them."""
        await self.session.flush()

    async def add(self, shift: Shift) -> Shift:
        self.session.add(shift)
        await self.session.flush()
        return shift

    async def get(self, shift_id: int, *, lock: bool = False) -> Shift | None:
        query = select(Shift).where(Shift.id == shift_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def upcoming_in(
        self,
        communities: Sequence[int],
        after: datetime,
        offset: int,
        limit: int,
        *,
        project_id: int | None = None,
    ) -> tuple[Sequence[Shift], int]:
        query = (
            select(Shift)
            .where(
                Shift.community_id.in_(communities),
                Shift.starts_at > after,
                Shift.cancelled_at.is_(None),
                Shift.kind == ShiftKind.SERVICE,  # training sessions: /training
            )
            .order_by(Shift.starts_at, Shift.id)
        )
        if project_id is not None:
            query = query.where(Shift.project_id == project_id)
        return await _page(self.session, query, offset, limit)

    async def signups(self, shift_id: int) -> Sequence[ShiftSignup]:
        query = (
            select(ShiftSignup)
            .where(ShiftSignup.shift_id == shift_id)
            .order_by(ShiftSignup.created_at, ShiftSignup.id)
        )
        return (await self.session.scalars(query)).all()

    async def signup(self, shift_id: int, person_id: int) -> ShiftSignup | None:
        query = select(ShiftSignup).where(
            ShiftSignup.shift_id == shift_id, ShiftSignup.person_id == person_id
        )
        return (await self.session.scalars(query)).one_or_none()

    def add_signup(self, signup: ShiftSignup) -> None:
        self.session.add(signup)

    async def of_person(
        self, person_id: int, after: datetime
    ) -> Sequence[tuple[ShiftSignup, Shift]]:
        query = (
            select(ShiftSignup, Shift)
            .join(Shift, Shift.id == ShiftSignup.shift_id)
            .where(
                ShiftSignup.person_id == person_id,
                ShiftSignup.status != SignupStatus.CANCELLED,
                Shift.ends_at > after,
            )
            .order_by(Shift.starts_at)
        )
        return [(s, sh) for s, sh in (await self.session.execute(query)).all()]

    async def around(self, communities: Sequence[int], now: datetime) -> Sequence[Shift]:
        """Shifts starting within a day or still running (plus the check-out grace)."""
        query = (
            select(Shift)
            .where(
                Shift.community_id.in_(communities),
                Shift.cancelled_at.is_(None),
                Shift.starts_at <= now + timedelta(days=1),
                Shift.ends_at > now - timedelta(minutes=30),
            )
            .order_by(Shift.starts_at, Shift.id)
            .limit(20)
        )
        return (await self.session.scalars(query)).all()

    async def due_reminders(
        self, now: datetime, lead: timedelta, column: str
    ) -> Sequence[tuple[ShiftSignup, Shift]]:
        mark = getattr(ShiftSignup, column)
        query = (
            select(ShiftSignup, Shift)
            .join(Shift, Shift.id == ShiftSignup.shift_id)
            .where(
                ShiftSignup.status == SignupStatus.CONFIRMED,
                mark.is_(None),
                Shift.cancelled_at.is_(None),
                Shift.starts_at > now,
                Shift.starts_at <= now + lead,
            )
            .with_for_update(of=ShiftSignup, skip_locked=True)
        )
        return [(s, sh) for s, sh in (await self.session.execute(query)).all()]
