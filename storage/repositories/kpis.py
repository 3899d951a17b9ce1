"""Aggregates behind the indicators: counts per community in a handful of GROUP BY queries,
and operations per month for a set of communities. Everything is summed in the database."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.attendance import RecordStatus
from bot.domain.broadcasts import DeliveryState
from bot.domain.enums import CommunityKind, OrganisationType, Role
from bot.domain.local_time import local_today
from bot.domain.projects import ProjectState
from bot.domain.social_work import DEFAULT_BASELINE_YEAR, CertificateState, ServiceLevel
from bot.domain.volunteers import VolunteerStatus
from storage.models import (
    Community,
    Consultation,
    ConsultationCommunity,
    ConsultationParticipant,
    ConsultationSeat,
    DistrictBaseline,
    Fund,
    FundAllocation,
    FundDonation,
    FundExpenditure,
    Need,
    NeedEvent,
    NeedFeedback,
    Organisation,
    OutboxMessage,
    Person,
    Project,
    Resource,
    RoleGrant,
    ServiceRecord,
    SocialWorkCertificate,
    SocialWorkPlace,
    SocialWorkService,
    SocialWorkStaff,
    Street,
    TrainingAttendance,
    Volunteer,
)


def _serves() -> Any:
    """The place is the community's own room or its street's station."""
    return or_(
        and_(
            SocialWorkPlace.level == ServiceLevel.ROOM,
            SocialWorkPlace.community_id == Community.id,
        ),
        and_(
            SocialWorkPlace.level == ServiceLevel.STATION,
            SocialWorkPlace.street_id == Community.street_id,
        ),
    )


class KpiRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        bind = session.bind
        self._postgres = bind is not None and bind.dialect.name == "postgresql"
        self._tz_name = "UTC"

    async def communities(
        self,
    ) -> list[tuple[int, int, int, CommunityKind, int, int | None, str, str | None]]:
        """(community, street, district, kind, population, demonstration year, name, English
        name) of all."""
        query = select(
            Community.id,
            Community.street_id,
            Street.district_id,
            Community.kind,
            Community.resident_population,
            Community.demonstration_year,
            Community.name,
            Community.name_en,
        ).join(Street, Street.id == Community.street_id)
        return [
            (int(c), int(s), int(d), CommunityKind(k), int(p or 0), y, n, e)
            for c, s, d, k, p, y, n, e in await self.session.execute(query.order_by(Community.id))
        ]

    async def _per_community(self, query: Any) -> dict[int, int]:
        return {int(c): int(n) for c, n in await self.session.execute(query) if c is not None}

    async def counts(self, now: datetime, year_start: datetime) -> dict[str, dict[int, int]]:
        """Per indicator count, per community id; `year_start`: the local year's first moment."""
        out: dict[str, dict[int, int]] = {}
        out["verified_volunteers"] = await self._per_community(
            select(Volunteer.home_community_id, func.count())
            .where(Volunteer.status == VolunteerStatus.VERIFIED)
            .group_by(Volunteer.home_community_id)
        )
        for name, kind in (
            ("social_orgs", OrganisationType.COMMUNITY_SOCIAL_ORG),
            ("charity_orgs", OrganisationType.CHARITY),
        ):
            out[name] = await self._per_community(
                select(Organisation.community_id, func.count())
                .where(Organisation.type == kind, Organisation.verified_at.is_not(None))
                .group_by(Organisation.community_id)
            )
        active = and_(RoleGrant.revoked_at.is_(None), RoleGrant.community_id.is_not(None))
        workers = RoleGrant.role == Role.COMMUNITY_WORKER
        out["community_workers"] = await self._per_community(
            select(RoleGrant.community_id, func.count(distinct(RoleGrant.person_id)))
            .where(active, workers)
            .group_by(RoleGrant.community_id)
        )
        # From the certificates a worker verified, not from a flag typed on a grant.
        certified = select(SocialWorkCertificate.person_id).where(
            SocialWorkCertificate.state == CertificateState.VERIFIED
        )
        out["certified_workers"] = await self._per_community(
            select(RoleGrant.community_id, func.count(distinct(RoleGrant.person_id)))
            .where(active, workers, RoleGrant.person_id.in_(certified))
            .group_by(RoleGrant.community_id)
        )
        out.update(await self._talent(active, workers, year_start))
        out["with_social_work"] = await self._social_work(year_start)
        out["charity_orgs_at_baseline"] = await self._charity_at_baseline()
        out["with_station"] = await self._per_community(
            select(Resource.community_id, func.count())
            .where(Resource.volunteer_station.is_(True), Resource.active.is_(True))
            .group_by(Resource.community_id)
        )
        out["community_funds"] = await self._per_community(
            select(Fund.community_id, func.count()).group_by(Fund.community_id)
        )
        return out

    async def _talent(self, active: Any, workers: Any, year_start: datetime) -> dict[str, Any]:
        """Training minutes of community workers this year, certificate holders, and the
        social-work professionals (a verified certificate or a social-worker grant)."""
        out: dict[str, Any] = {}
        trained = (
            select(RoleGrant.community_id, func.sum(TrainingAttendance.minutes))
            .join(TrainingAttendance, TrainingAttendance.person_id == RoleGrant.person_id)
            .where(active, workers, TrainingAttendance.checked_in_at >= year_start)
            .group_by(RoleGrant.community_id)
        )
        out["worker_training_minutes"] = await self._per_community(trained)
        verified = SocialWorkCertificate.state == CertificateState.VERIFIED
        out["certificate_holders"] = await self._per_community(
            select(
                SocialWorkCertificate.community_id,
                func.count(distinct(SocialWorkCertificate.person_id)),
            )
            .where(verified)
            .group_by(SocialWorkCertificate.community_id)
        )
        holders = select(
            SocialWorkCertificate.community_id.label("community"),
            SocialWorkCertificate.person_id.label("person"),
        ).where(verified)
        social = select(RoleGrant.community_id, RoleGrant.person_id).where(
            active, RoleGrant.role == Role.SOCIAL_WORKER
        )
        people = holders.union(social).subquery()
        out["social_work_professionals"] = await self._per_community(
            select(people.c.community, func.count(distinct(people.c.person))).group_by(
                people.c.community
            )
        )
        return out

    async def _social_work(self, since: datetime) -> dict[int, int]:
        """Communities its own room or its street's station served since `since`: a service
        the place recorded, or one of the community's requests its staff acted on."""
        rooms_and_stations = SocialWorkPlace.level.in_((ServiceLevel.ROOM, ServiceLevel.STATION))
        recorded = (
            select(SocialWorkService.community_id.label("community"))
            .join(SocialWorkPlace, SocialWorkPlace.id == SocialWorkService.place_id)
            .join(Community, Community.id == SocialWorkService.community_id)
            .where(
                SocialWorkService.served_at >= since,
                rooms_and_stations,
                _serves(),
            )
        )
        handled = (
            select(Need.community_id.label("community"))
            .join(NeedEvent, NeedEvent.need_id == Need.id)
            .join(SocialWorkStaff, SocialWorkStaff.person_id == NeedEvent.actor_id)
            .join(SocialWorkPlace, SocialWorkPlace.id == SocialWorkStaff.place_id)
            .join(Community, Community.id == Need.community_id)
            .where(NeedEvent.at >= since, rooms_and_stations, _serves())
        )
        served = recorded.union_all(handled).subquery()
        return await self._per_community(
            select(served.c.community, func.count()).group_by(served.c.community)
        )

    async def _charity_at_baseline(self) -> dict[int, int]:
        """Charity organisations verified by the end of their district's baseline year."""
        rows = await self.session.execute(
            select(Organisation.community_id, Organisation.verified_at, DistrictBaseline.year)
            .join(Community, Community.id == Organisation.community_id)
            .join(Street, Street.id == Community.street_id)
            .outerjoin(DistrictBaseline, DistrictBaseline.district_id == Street.district_id)
            .where(
                Organisation.type == OrganisationType.CHARITY,
                Organisation.verified_at.is_not(None),
            )
        )
        out: dict[int, int] = defaultdict(int)
        for community, verified_at, year in rows:
            if community is not None and verified_at is not None:
                out[int(community)] += verified_at.year <= (year or DEFAULT_BASELINE_YEAR)
        return dict(out)

    # ------------------------------------------------------------ operations by month

    def _month(self, column: Any, offset_hours: int) -> Any:
        """The local month (YYYY-MM) of a UTC timestamp column on either database."""
        if self._postgres:
            return func.to_char(func.timezone(self._tz_name, column), "YYYY-MM")
        return func.strftime("%Y-%m", column, f"{offset_hours:+d} hours")

    def _bucket(self, column: Any, offset_hours: int) -> Any:
        """The local month as something cheap to group by (a timestamp on PostgreSQL)."""
        if self._postgres:
            return func.date_trunc("month", func.timezone(self._tz_name, column))
        return func.strftime("%Y-%m", column, f"{offset_hours:+d} hours")

    def _label(self, bucket: Any) -> Any:
        return func.to_char(bucket, "YYYY-MM") if self._postgres else bucket

    async def _by_month(self, query: Any) -> dict[str, Any]:
        return {str(m): v for m, v in await self.session.execute(query) if m is not None}

    async def operations(
        self, communities: Sequence[int], since: datetime, tz_name: str, offset_hours: int
    ) -> dict[str, dict[str, Any]]:
        """Per month (YYYY-MM, local): the operations figures of these communities. PostgreSQL
        converts with the zone's rules; SQLite adds the zone's current offset."""
        self._tz_name = tz_name
        ids = list(communities)
        out: dict[str, dict[str, Any]] = defaultdict(dict)

        def put(name: str, values: dict[str, Any]) -> None:
            for month, value in values.items():
                out[month][name] = value

        created = self._month(Need.created_at, offset_hours)
        put(
            "needs_received",
            await self._by_month(
                select(created, func.count())
                .where(Need.community_id.in_(ids), Need.created_at >= since)
                .group_by(created)
            ),
        )
        resolved = self._month(Need.resolved_at, offset_hours)
        put(
            "needs_resolved",
            await self._by_month(
                select(resolved, func.count())
                .where(Need.community_id.in_(ids), Need.resolved_at >= since)
                .group_by(resolved)
            ),
        )
        due = self._month(Need.due_at, offset_hours)
        # Late: resolved after its deadline, or neither resolved nor closed by it (a request
        # closed without a solution, or referred, in time is not overdue).
        late = case(
            (Need.resolved_at > Need.due_at, 1),
            (and_(Need.resolved_at.is_(None), Need.closed_at.is_(None)), 1),
            (and_(Need.resolved_at.is_(None), Need.closed_at > Need.due_at), 1),
            else_=0,
        )
        put(
            "needs_overdue",
            await self._by_month(
                select(due, func.sum(late))
                .where(Need.community_id.in_(ids), Need.due_at >= since, Need.due_at <= func.now())
                .group_by(due)
            ),
        )
        put("resolve_hours", await self._resolve_hours(ids, since, offset_hours))
        rated = self._month(NeedFeedback.at, offset_hours)
        put(
            "satisfaction",
            await self._by_month(
                select(rated, func.avg(NeedFeedback.rating))
                .join(Need, Need.id == NeedFeedback.need_id)
                .where(
                    Need.community_id.in_(ids),
                    NeedFeedback.at >= since,
                    NeedFeedback.rating.is_not(None),
                )
                .group_by(rated)
            ),
        )
        await self._service(ids, since, offset_hours, put)
        await self._money(ids, since, offset_hours, put)
        sent = self._month(OutboxMessage.sent_at, offset_hours)
        put(
            "broadcast_reach",
            await self._by_month(
                select(sent, func.count())
                .join(Person, Person.id == OutboxMessage.person_id)
                .where(
                    Person.community_id.in_(ids),
                    OutboxMessage.state == DeliveryState.SENT,
                    OutboxMessage.sent_at >= since,
                )
                .group_by(sent)
            ),
        )
        put("consultation_turnout", await self._turnout(ids, since, offset_hours))
        return dict(out)

    async def _resolve_hours(
        self, ids: list[int], since: datetime, offset_hours: int
    ) -> dict[str, list[float]]:
        """Hours from filing to resolution of the needs resolved each month (the service takes
        the median: SQLite has no percentile function)."""
        resolved = self._month(Need.resolved_at, offset_hours)
        query = select(resolved, Need.created_at, Need.resolved_at).where(
            Need.community_id.in_(ids), Need.resolved_at >= since
        )
        hours: dict[str, list[float]] = defaultdict(list)
        for month, created, done in await self.session.execute(query):
            hours[str(month)].append((done - created).total_seconds() / 3600)
        return dict(hours)

    async def _service(self, ids: list[int], since: datetime, offset_hours: int, put: Any) -> None:
        # Hours and distinct volunteers per month in two steps (per month and person, then per
        # month): a hash aggregate instead of sorting a million rows for count(distinct).
        bucket = self._bucket(ServiceRecord.checked_in_at, offset_hours)
        per_person = (
            select(
                bucket.label("bucket"),
                ServiceRecord.person_id,
                func.sum(ServiceRecord.minutes).label("minutes"),
            )
            .where(
                ServiceRecord.community_id.in_(ids),
                ServiceRecord.status == RecordStatus.CONFIRMED,
                ServiceRecord.checked_in_at >= since,
            )
            .group_by(bucket, ServiceRecord.person_id)
            .subquery()
        )
        label = self._label(per_person.c.bucket)
        query = select(label, func.sum(per_person.c.minutes), func.count()).group_by(
            per_person.c.bucket
        )
        rows = [
            (str(m), int(minutes or 0), int(people))
            for m, minutes, people in await self.session.execute(query)
        ]
        put("volunteer_hours", {m: minutes / 60 for m, minutes, _ in rows})
        put("active_volunteers", {m: people for m, _, people in rows})
        await self._projects(ids, since, put)

    async def _projects(self, ids: list[int], since: datetime, put: Any) -> None:
        """Running: the months a project's period covers while it ran (running, completed or
        evaluated now); completed: the month its period ended, once completed."""
        ran = (ProjectState.RUNNING, ProjectState.COMPLETED, ProjectState.EVALUATED)
        rows = await self.session.execute(
            select(Project.starts_on, Project.ends_on, Project.state).where(
                Project.community_id.in_(ids),
                Project.state.in_(ran),
                Project.ends_on >= since.date(),
            )
        )
        running: dict[str, int] = defaultdict(int)
        completed: dict[str, int] = defaultdict(int)
        today = local_today()
        for starts, ends, state in rows:
            month = max(starts, since.date()).replace(day=1)
            last = min(ends, today) if state is ProjectState.RUNNING else ends
            while month <= last:
                running[month.strftime("%Y-%m")] += 1
                month = (month + timedelta(days=32)).replace(day=1)
            if state is not ProjectState.RUNNING:
                completed[ends.strftime("%Y-%m")] += 1
        put("projects_running", dict(running))
        put("projects_completed", dict(completed))

    async def _money(self, ids: list[int], since: datetime, offset_hours: int, put: Any) -> None:
        in_scope = select(Fund.id).where(Fund.community_id.in_(ids))
        for name, model, amount, stamp in (
            ("raised_fen", FundDonation, FundDonation.amount_fen, FundDonation.created_at),
            ("allocated_fen", FundAllocation, FundAllocation.amount_fen, FundAllocation.created_at),
        ):
            month = self._month(stamp, offset_hours)
            put(
                name,
                await self._by_month(
                    select(month, func.sum(amount))
                    .where(model.fund_id.in_(in_scope), stamp >= since)
                    .group_by(month)
                ),
            )
        month = self._month(FundExpenditure.created_at, offset_hours)
        allocations = select(FundAllocation.id).where(FundAllocation.fund_id.in_(in_scope))
        put(
            "spent_fen",
            await self._by_month(
                select(month, func.sum(FundExpenditure.amount_fen))
                .where(
                    FundExpenditure.allocation_id.in_(allocations),
                    FundExpenditure.created_at >= since,
                )
                .group_by(month)
            ),
        )

    async def _turnout(
        self, ids: list[int], since: datetime, offset_hours: int
    ) -> dict[str, float]:
        """Voters over those entitled, of the consultations opened each month."""
        month = self._month(Consultation.opened_at, offset_hours)
        in_scope = select(ConsultationCommunity.consultation_id).where(
            ConsultationCommunity.community_id.in_(ids)
        )
        rows = await self.session.execute(
            select(Consultation.id, month, Consultation.entitled_at_close).where(
                Consultation.id.in_(in_scope), Consultation.opened_at >= since
            )
        )
        voters: dict[str, int] = defaultdict(int)
        entitled: dict[str, int] = defaultdict(int)
        for consultation_id, label, at_close in rows:
            voters[label] += int(
                await self.session.scalar(
                    select(func.count()).where(
                        ConsultationParticipant.consultation_id == consultation_id,
                        ConsultationParticipant.voted.is_(True),
                    )
                )
                or 0
            )
            if at_close is not None:  # closed: those entitled then
                entitled[label] += sum(int(n) for n in at_close.values())
                continue
            places = select(ConsultationCommunity.community_id).where(
                ConsultationCommunity.consultation_id == consultation_id
            )
            seats = select(ConsultationSeat.person_id).where(
                ConsultationSeat.consultation_id == consultation_id
            )
            residents = select(Person.id).where(Person.community_id.in_(places))
            everyone = residents.union(seats).subquery()
            entitled[label] += int(
                await self.session.scalar(select(func.count()).select_from(everyone)) or 0
            )
        return {m: voters[m] / entitled[m] for m in entitled if entitled[m]}
