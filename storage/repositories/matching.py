"""Queries behind matching: candidates filtered in SQL (verified, in scope, by street through
indexes), with their open assignments, records and ratings aggregated in SQL; plain rows back
(no ORM objects: thousands of candidates are read at once)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.attendance import RecordStatus
from bot.domain.matching import OfferKind, OfferStatus
from bot.domain.needs import OPEN_STATES, NeedState, Urgency
from bot.domain.projects import RECRUITING
from bot.domain.resources import ReservationStatus
from bot.domain.volunteers import SignupStatus, VolunteerStatus
from storage.models import (
    Community,
    MatchProfile,
    Need,
    NeedFeedback,
    NeedOffer,
    Person,
    Project,
    ProjectCommunity,
    Resource,
    ResourceReservation,
    ServiceRecord,
    Shift,
    ShiftSignup,
    Volunteer,
    VolunteerCommunity,
)

UNASSIGNED_STATES = (NeedState.NEW, NeedState.ACCEPTED, NeedState.REOPENED)
URGENCY_ORDER = case(
    (Need.urgency == Urgency.URGENT, 0), (Need.urgency == Urgency.NORMAL, 1), else_=2
)


class MatchingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def candidates(
        self, street_ids: Sequence[int] | None, person_ids: Sequence[int] | None = None
    ) -> Sequence[Any]:
        """Verified volunteers serving a community of these streets (None: all) — or just these
        people — computed from the source tables in one round trip:
        (person, name, grid, skills mask, availability mask, served community, its street,
        open assignments, confirmed records, failed records, mean rating or None)."""
        base = (
            select(
                Volunteer.person_id,
                Volunteer.real_name,
                Volunteer.skills_mask,
                Volunteer.availability_mask,
                VolunteerCommunity.community_id,
                Community.street_id,
            )
            .join(VolunteerCommunity, VolunteerCommunity.volunteer_id == Volunteer.id)
            .join(Community, Community.id == VolunteerCommunity.community_id)
            .where(Volunteer.status == VolunteerStatus.VERIFIED)
        )
        if street_ids is not None:
            base = base.where(Community.street_id.in_(street_ids))
        if person_ids is not None:
            base = base.where(Volunteer.person_id.in_(person_ids))
        served = base.cte("served")
        people = select(served.c.person_id).scalar_subquery()
        loads = (
            select(Need.assignee_person_id.label("person_id"), func.count().label("n"))
            .where(Need.assignee_person_id.in_(people), Need.state.in_(OPEN_STATES))
            .group_by(Need.assignee_person_id)
            .subquery()
        )
        confirmed = func.sum(case((ServiceRecord.status == RecordStatus.CONFIRMED, 1), else_=0))
        failed = func.sum(case((ServiceRecord.status == RecordStatus.FAILED, 1), else_=0))
        records = (
            select(ServiceRecord.person_id, confirmed.label("ok"), failed.label("bad"))
            .where(ServiceRecord.person_id.in_(people))
            .group_by(ServiceRecord.person_id)
            .subquery()
        )
        ratings = (
            select(
                Need.assignee_person_id.label("person_id"),
                func.avg(NeedFeedback.rating).label("rating"),
            )
            .join(NeedFeedback, NeedFeedback.need_id == Need.id)
            .where(Need.assignee_person_id.in_(people), NeedFeedback.rating.is_not(None))
            .group_by(Need.assignee_person_id)
            .subquery()
        )
        query = (
            select(
                served.c.person_id,
                served.c.real_name,  # a volunteer is shown by the real name registered
                Person.grid_id,
                served.c.skills_mask,
                served.c.availability_mask,
                served.c.community_id,
                served.c.street_id,
                func.coalesce(loads.c.n, 0),
                func.coalesce(records.c.ok, 0),
                func.coalesce(records.c.bad, 0),
                ratings.c.rating,
            )
            .join(Person, Person.id == served.c.person_id)
            .outerjoin(loads, loads.c.person_id == served.c.person_id)
            .outerjoin(records, records.c.person_id == served.c.person_id)
            .outerjoin(ratings, ratings.c.person_id == served.c.person_id)
        )
        return (await self.session.execute(query)).all()

    async def needs(
        self, need_ids: Sequence[int] | None = None, *, open_only: bool = True
    ) -> Sequence[Any]:
        """(id, reference, community, street, category, due, resident's grid) of needs."""
        query = (
            select(
                Need.id,
                Need.reference,
                Need.community_id,
                Community.street_id,
                Need.category,
                Need.due_at,
                Person.grid_id,
            )
            .join(Community, Community.id == Need.community_id)
            .join(Person, Person.id == Need.resident_id)
        )
        if need_ids is not None:
            query = query.where(Need.id.in_(need_ids))
        if open_only:
            query = query.where(Need.state.in_(UNASSIGNED_STATES))
        connection = await self.session.connection()
        return (await connection.execute(query.order_by(Need.id))).all()

    async def resources(self, street_id: int, today: date) -> Sequence[Any]:
        """(id, title, kind, unit, community, available) of resources left on the street."""
        reserved = (
            select(
                ResourceReservation.resource_id,
                func.sum(ResourceReservation.quantity).label("reserved"),
            )
            .where(ResourceReservation.status == ReservationStatus.RESERVED)
            .group_by(ResourceReservation.resource_id)
            .subquery()
        )
        available = Resource.quantity - func.coalesce(reserved.c.reserved, 0)
        query = (
            select(
                Resource.id,
                Resource.title,
                Resource.kind,
                Resource.unit,
                Resource.community_id,
                available.label("available"),
            )
            .join(Community, Community.id == Resource.community_id)
            .outerjoin(reserved, reserved.c.resource_id == Resource.id)
            .where(
                Community.street_id == street_id,
                Resource.active.is_(True),
                available > 0,
                or_(Resource.available_until.is_(None), Resource.available_until >= today),
                or_(Resource.available_from.is_(None), Resource.available_from <= today),
            )
        )
        return (await self.session.execute(query)).all()

    async def projects(self, street_id: int) -> Sequence[Any]:
        """(id, title, categories, community served, free places in upcoming shifts)."""
        taken = (
            select(ShiftSignup.shift_id, func.count().label("taken"))
            .where(ShiftSignup.status == SignupStatus.CONFIRMED)
            .group_by(ShiftSignup.shift_id)
            .subquery()
        )
        free = (
            select(
                Shift.project_id,
                func.sum(Shift.capacity - func.coalesce(taken.c.taken, 0)).label("free"),
            )
            .outerjoin(taken, taken.c.shift_id == Shift.id)
            .where(Shift.project_id.is_not(None), Shift.cancelled_at.is_(None))
            .group_by(Shift.project_id)
            .subquery()
        )
        query = (
            select(
                Project.id,
                Project.title,
                Project.categories,
                ProjectCommunity.community_id,
                func.coalesce(free.c.free, 0),
            )
            .join(ProjectCommunity, ProjectCommunity.project_id == Project.id)
            .join(Community, Community.id == ProjectCommunity.community_id)
            .outerjoin(free, free.c.project_id == Project.id)
            .where(Community.street_id == street_id, Project.state.in_(RECRUITING))
        )
        rows: Sequence[Any] = (await self.session.execute(query)).all()
        return rows

    async def open_needs_in(
        self, communities: Sequence[int], offset: int, limit: int
    ) -> tuple[Sequence[Any], int]:
        """Unassigned needs in these communities, urgent and old first."""
        condition = and_(
            Need.community_id.in_(communities),
            Need.state.in_(UNASSIGNED_STATES),
            Need.assignee_person_id.is_(None),
            Need.assignee_organisation_id.is_(None),
        )
        total = await self.session.scalar(select(func.count()).select_from(Need).where(condition))
        query = (
            select(
                Need.id,
                Need.reference,
                Need.category,
                Need.urgency,
                Need.description,
                Need.community_id,
            )
            .where(condition)
            .order_by(URGENCY_ORDER, Need.created_at)
            .offset(max(0, offset))
            .limit(limit)
        )
        return (await self.session.execute(query)).all(), int(total or 0)

    async def offer(self, need_id: int, person_id: int) -> NeedOffer | None:
        query = select(NeedOffer).where(
            NeedOffer.need_id == need_id, NeedOffer.person_id == person_id
        )
        return (await self.session.scalars(query)).one_or_none()

    async def flush(self) -> None:
        """Write what the entry changed, so the next reads (open loads, ratings) see it."""
        await self.session.flush()

    def add_offer(self, need_id: int, person_id: int, kind: OfferKind) -> None:
        self.session.add(
            NeedOffer(need_id=need_id, person_id=person_id, kind=kind, status=OfferStatus.OFFERED)
        )

    async def offers(self, need_id: int) -> Sequence[NeedOffer]:
        query = select(NeedOffer).where(NeedOffer.need_id == need_id).order_by(NeedOffer.id)
        return (await self.session.scalars(query)).all()

    async def community_order(self) -> list[tuple[int, int]]:
        """(community, street) by community id: a community's bit in `served_mask`."""
        query = select(Community.id, Community.street_id).order_by(Community.id)
        return [(int(c), int(s)) for c, s in (await self.session.execute(query)).all()]

    async def profiles(self, street_ids: Sequence[int]) -> Sequence[Any]:
        """The streets' profiles as plain tuples: (person, name, grid, skills mask, availability
        mask, served mask, street, open load, confirmed, failed, rating).

        The one hot read of matching (a district is 18,000 rows): it goes to the driver
        directly, skipping SQLAlchemy's per-row result processing, which cost more than the
        query itself. The columns are plain integers, text and a float, so nothing is lost.
        """
        streets = [int(s) for s in street_ids]
        if not streets:
            return []
        connection = await self.session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        columns = (
            "person_id, name, grid_id, skills_mask, availability_mask, served_mask, street_id, "
            "open_load, confirmed, failed, rating"
        )
        if connection.dialect.name == "postgresql":
            sql = f"SELECT {columns} FROM match_profiles WHERE street_id = ANY($1::bigint[])"
            return list(await raw.fetch(sql, streets))  # type: ignore[union-attr]
        marks = ", ".join("?" for _ in streets)
        sql = f"SELECT {columns} FROM match_profiles WHERE street_id IN ({marks})"
        cursor = await raw.execute(sql, streets)  # type: ignore[union-attr]
        return list(await cursor.fetchall())

    async def replace_profiles(
        self, person_ids: Sequence[int] | None, rows: Sequence[dict[str, Any]]
    ) -> None:
        """Delete the profiles of these people (None: everyone) and write `rows`."""
        statement = delete(MatchProfile)
        if person_ids is not None:
            statement = statement.where(MatchProfile.person_id.in_(person_ids))
        await self.session.execute(statement)
        for start in range(0, len(rows), 5_000):
            await self.session.execute(insert(MatchProfile), list(rows[start : start + 5_000]))

    async def replace_profiles_of(
        self, person_ids: Sequence[int], rows: Sequence[dict[str, Any]]
    ) -> bool:
        """As replace_profiles for some people, in a savepoint: False (and nothing changed)
        when a concurrent writer got there first."""
        try:
            async with self.session.begin_nested():
                await self.replace_profiles(person_ids, rows)
        except IntegrityError:
            return False
        return True
