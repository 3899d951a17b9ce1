"""One page of a query's rows and the total count, for the lists shown page by page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


class Paged(Generic[T]):
    """A list's query with its page's offset and limit bound at each reading, and its count
    made when first needed. Built once at module level for a hot list (/mine): composing the
    statements cost more than running them."""

    def __init__(self, query: Select[T]) -> None:
        self.query = query
        self.rows = query.offset(bindparam("page_offset", type_=Integer)).limit(
            bindparam("page_limit", type_=Integer)
        )
        self._count: Select[int] | None = None

    @property
    def count(self) -> Select[int]:
        if self._count is None:
            self._count = select(func.count()).select_from(self.query.order_by(None).subquery())
        return self._count


async def _page(
    session: AsyncSession,
    query: Select[T] | Paged[T],
    offset: int,
    limit: int,
    params: Mapping[str, Any] | None = None,
) -> tuple[Sequence[T], int]:
    """`params`: the values of the query's own bind parameters (a prebuilt Paged's)."""
    paged = query if isinstance(query, Paged) else Paged(query)
    offset = max(0, offset)  # a forged page number must not reach the database
    bound = {**(params or {}), "page_offset": offset, "page_limit": limit}
    rows = (await session.scalars(paged.rows, bound)).all()
    if offset == 0 and len(rows) < limit:
        return rows, len(rows)  # the whole list is on the first page: no count to ask for
    total = await session.scalar(paged.count, params)
    return rows, int(total or 0)
