"""Needs (诉求): filing, reference numbers, supporters, the lists and the deadlines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, and_, bindparam, case, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.needs import OPEN_STATES, NeedCategory, NeedState, Urgency
from storage.models import Need, NeedCounter, NeedEvent, NeedFeedback, NeedSupporter
from storage.repositories.paging import Paged, _page


@dataclass(frozen=True, slots=True)
class ComparedNeed:
    """What an open need is compared by to find one alike (bot/domain/duplicates.py)."""

    id: int
    resident_id: int
    category: NeedCategory
    description: str
    created_at: datetime
    address: str | None
    latitude: float | None
    longitude: float | None


_COMPARED = (
    Need.id,
    Need.resident_id,
    Need.category,
    Need.description,
    Need.created_at,
    Need.address,
    Need.latitude,
    Need.longitude,
)

# A resident's own needs and those they said "me too" to, newest first (/mine). Built once:
# composing the statement cost more than running it (see Paged).
_PERSON = bindparam("person_id", type_=BigInteger)
_OF_RESIDENT = Paged(
    select(Need)
    .where(
        or_(
            Need.resident_id == _PERSON,
            Need.id.in_(select(NeedSupporter.need_id).where(NeedSupporter.person_id == _PERSON)),
        )
    )
    .order_by(Need.created_at.desc(), Need.id.desc())
)


class NeedsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_reference(self, reference: str) -> Need | None:
        return (
            await self.session.scalars(select(Need).where(Need.reference == reference))
        ).one_or_none()

    async def get(self, need_id: int, *, lock: bool = False) -> Need | None:
        query = select(Need).where(Need.id == need_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def add(self, need: Need) -> Need:
        self.session.add(need)
        await self.session.flush()
        return need

    def add_event(self, event: NeedEvent) -> None:
        self.session.add(event)

    def add_feedback(self, feedback: NeedFeedback) -> None:
        self.session.add(feedback)

    async def events(self, need_id: int) -> Sequence[NeedEvent]:
        query = select(NeedEvent).where(NeedEvent.need_id == need_id).order_by(NeedEvent.id)
        return (await self.session.scalars(query)).all()

    async def next_number(self, community_id: int, year: int) -> int:
        """The next reference number; the counter row is locked until the transaction ends."""
        # One statement that creates the year's row or counts on (both dialects): the row
        # stays locked until commit, so the filing takes it as late as it can.
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        counted = (
            insert(NeedCounter)
            .values(community_id=community_id, year=year, last=1)
            .on_conflict_do_update(
                index_elements=["community_id", "year"], set_={"last": NeedCounter.last + 1}
            )
            .returning(NeedCounter.last)
        )
        return int((await self.session.execute(counted)).scalar_one())

    async def add_supporter(self, need_id: int, person_id: int) -> None:
        self.session.add(NeedSupporter(need_id=need_id, person_id=person_id))
        await self.session.flush()

    async def supporters(self, need_id: int) -> list[int]:
        query = select(NeedSupporter.person_id).where(NeedSupporter.need_id == need_id)
        return list((await self.session.scalars(query.order_by(NeedSupporter.id))).all())

    async def is_supporter(self, need_id: int, person_id: int) -> bool:
        query = select(NeedSupporter.id).where(
            NeedSupporter.need_id == need_id, NeedSupporter.person_id == person_id
        )
        return (await self.session.scalar(query)) is not None

    async def supporter_count(self, need_id: int) -> int:
        query = (
            select(func.count()).select_from(NeedSupporter).where(NeedSupporter.need_id == need_id)
        )
        return int(await self.session.scalar(query) or 0)

    async def supporter_counts(self, need_ids: Sequence[int]) -> dict[int, int]:
        """The supporters of each need, in one statement (needs with none are absent)."""
        query = (
            select(NeedSupporter.need_id, func.count())
            .where(NeedSupporter.need_id.in_(need_ids))
            .group_by(NeedSupporter.need_id)
        )
        return {need_id: int(count) for need_id, count in await self.session.execute(query)}

    async def open_in_community(self, community_id: int, limit: int) -> list[ComparedNeed]:
        """The newest open needs of a community, as what is compared to find a request alike:
        two hundred of them read as ORM objects cost more than comparing them."""
        query = (
            select(*_COMPARED)
            .where(Need.community_id == community_id, Need.state.in_(OPEN_STATES))
            .order_by(Need.created_at.desc())
            .limit(limit)
        )
        return [ComparedNeed(*row) for row in await self.session.execute(query)]

    async def many(self, need_ids: Sequence[int]) -> list[Need]:
        """The needs of these ids, in this order (the absent left out)."""
        found = {
            n.id: n for n in await self.session.scalars(select(Need).where(Need.id.in_(need_ids)))
        }
        return [found[need_id] for need_id in need_ids if need_id in found]

    async def of_resident(
        self, person_id: int, offset: int, limit: int
    ) -> tuple[Sequence[Need], int]:
        return await _page(self.session, _OF_RESIDENT, offset, limit, {"person_id": person_id})

    async def in_communities(
        self,
        communities: Sequence[int],
        *,
        states: Sequence[NeedState] | None,
        overdue_before: datetime | None,
        category: NeedCategory | None,
        urgency: Urgency | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[Need], int]:
        query = select(Need).where(Need.community_id.in_(communities))
        if states is not None:
            query = query.where(Need.state.in_(states))
        if overdue_before is not None:
            query = query.where(Need.due_at < overdue_before)
        if category is not None:
            query = query.where(Need.category == category)
        if urgency is not None:
            query = query.where(Need.urgency == urgency)
        urgent_first = case((Need.urgency == Urgency.URGENT, 0), else_=1)
        query = query.order_by(urgent_first, Need.created_at.desc(), Need.id.desc())
        return await _page(self.session, query, offset, limit)

    async def assigned_to(
        self, person_id: int, organisations: Sequence[int], offset: int, limit: int
    ) -> tuple[Sequence[Need], int]:
        mine = Need.assignee_person_id == person_id
        theirs = and_(
            Need.assignee_person_id.is_(None), Need.assignee_organisation_id.in_(organisations)
        )
        query = (
            select(Need)
            .where(or_(mine, theirs), Need.state.in_(OPEN_STATES))
            .order_by(Need.due_at, Need.id)
        )
        return await _page(self.session, query, offset, limit)

    async def due_for_reminder(self, now: datetime, states: frozenset[NeedState]) -> Sequence[Need]:
        query = (
            select(Need)
            .where(
                Need.state.in_(states),
                Need.remind_at <= now,
                Need.due_at > now,
                Need.reminded_at.is_(None),
            )
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).all()

    async def overdue_unescalated(
        self, now: datetime, states: frozenset[NeedState]
    ) -> Sequence[Need]:
        query = (
            select(Need)
            .where(Need.state.in_(states), Need.due_at <= now, Need.escalated_at.is_(None))
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).all()

    async def resolved_before(self, moment: datetime) -> Sequence[Need]:
        query = (
            select(Need)
            .where(Need.state == NeedState.RESOLVED, Need.resolved_at <= moment)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).all()
