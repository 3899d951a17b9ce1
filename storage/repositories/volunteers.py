"""Volunteers: registration, the communities they serve, verification."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.volunteers import VolunteerStatus
from storage.models import Volunteer, VolunteerCommunity, VolunteerCounter


class VolunteersRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, volunteer_id: int, *, lock: bool = False) -> Volunteer | None:
        query = select(Volunteer).where(Volunteer.id == volunteer_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def of_person(self, person_id: int) -> Volunteer | None:
        query = select(Volunteer).where(Volunteer.person_id == person_id)
        return (await self.session.scalars(query)).one_or_none()

    async def by_id_hash(self, id_hash: str) -> Volunteer | None:
        query = select(Volunteer).where(Volunteer.id_number_hash == id_hash)
        return (await self.session.scalars(query)).one_or_none()

    async def add(self, volunteer: Volunteer) -> Volunteer:
        self.session.add(volunteer)
        await self.session.flush()
        return volunteer

    async def communities_of(self, volunteer_id: int) -> list[int]:
        query = select(VolunteerCommunity.community_id).where(
            VolunteerCommunity.volunteer_id == volunteer_id
        )
        return list(
            (await self.session.scalars(query.order_by(VolunteerCommunity.community_id))).all()
        )

    async def set_communities(self, volunteer_id: int, communities: Sequence[int]) -> None:
        await self.session.execute(
            delete(VolunteerCommunity).where(VolunteerCommunity.volunteer_id == volunteer_id)
        )
        for community_id in sorted(set(communities)):
            self.session.add(
                VolunteerCommunity(volunteer_id=volunteer_id, community_id=community_id)
            )
        await self.session.flush()

    async def verified_serving(self, community_id: int) -> Sequence[Volunteer]:
        """Verified volunteers who serve in this community."""
        query = (
            select(Volunteer)
            .join(VolunteerCommunity, VolunteerCommunity.volunteer_id == Volunteer.id)
            .where(
                VolunteerCommunity.community_id == community_id,
                Volunteer.status == VolunteerStatus.VERIFIED,
            )
            .order_by(Volunteer.id)
        )
        return (await self.session.scalars(query)).all()

    async def pending_in(self, communities: Sequence[int]) -> Sequence[Volunteer]:
        query = (
            select(Volunteer)
            .where(
                Volunteer.home_community_id.in_(communities),
                Volunteer.status == VolunteerStatus.PENDING,
            )
            .order_by(Volunteer.registered_at)
            .limit(50)
        )
        return (await self.session.scalars(query)).all()

    async def next_number(self, community_id: int) -> int:
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await self.session.execute(
            insert(VolunteerCounter)
            .values(community_id=community_id, last=0)
            .on_conflict_do_nothing(index_elements=["community_id"])
        )
        query = (
            select(VolunteerCounter)
            .where(VolunteerCounter.community_id == community_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        counter = (await self.session.scalars(query)).one()
        counter.last += 1
        await self.session.flush()
        return counter.last
