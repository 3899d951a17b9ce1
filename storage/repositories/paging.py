"""One page of a query's rows and the total count, for the lists shown page by page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


class Paged(Generic[T]):
    """A list's query built once, its page's offset and limit bound at each reading: on a
    screen like /mine, composing the statements cost more than running them."""

    def __init__(self, query: Select[T]) -> None:
        self.rows = query.offset(bindparam("page_offset", type_=Integer)).limit(
            bindparam("page_limit", type_=Integer)
        )
        self.count = select(func.count()).select_from(query.order_by(None).subquery())


async def _page(
    session: AsyncSession,
    query: Select[T] | Paged[T],
    offset: int,
    limit: int,
    params: Mapping[str, Any] | None = None,
) -> tuple[Sequence[T], int]:
    """`params`: the values of a Paged query's own bind parameters."""
    offset = max(0, offset)  # a forged page number must not reach the database
    if isinstance(query, Paged):
        paged = {**(params or {}), "page_offset": offset, "page_limit": limit}
        rows = (await session.scalars(query.rows, paged)).all()
    else:
        rows = (await session.scalars(query.offset(offset).limit(limit))).all()
    if offset == 0 and len(rows) < limit:
        return rows, len(rows)  # the whole list is on the first page: no count to ask for
    if isinstance(query, Paged):
        total = await session.scalar(query.count, params)
    else:
        total = await session.scalar(
            select(func.count()).select_from(query.order_by(None).subquery())
        )
    return rows, int(total or 0)
