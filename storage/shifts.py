"""Repository of shift sign-ups' writes (the reads of shifts are in ShiftsRepository)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class SignupsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        """Send the pending sign-ups and their changes, so that the next read of the shift's
        sign-ups in this transaction counts them."""
        await self.session.flush()
