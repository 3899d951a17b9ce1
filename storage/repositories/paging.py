"""One page of a query's rows and the total count, for the lists shown page by page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def _page(
    session: AsyncSession, query: Select[T], offset: int, limit: int
) -> tuple[Sequence[T], int]:
    offset = max(0, offset)  # a forged page number must not reach the database
    rows = (await session.scalars(query.offset(offset).limit(limit))).all()
    if offset == 0 and len(rows) < limit:
        return rows, len(rows)  # the whole list is on the first page: no count to ask for
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return rows, int(total or 0)
