"""Repositories of the organisations' side: organisation membership and invites, projects
(with their communities, linked needs, party decisions, evaluation and figures), the resource
list with reservations, and charity funds."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.attendance import RecordStatus
from bot.domain.enums import ORGANISATION_ROLES
from bot.domain.needs import ClosureReason
from bot.domain.projects import PUBLIC, ProjectKind, ProjectState
from bot.domain.resources import ReservationStatus, ResourceKind
from storage.models import (
    Fund,
    FundAllocation,
    FundDonation,
    FundExpenditure,
    Need,
    NeedFeedback,
    Organisation,
    OrganisationCommunity,
    OrganisationInvite,
    PartyDecision,
    Project,
    ProjectCommunity,
    ProjectEvaluation,
    ProjectNeed,
    Resource,
    ResourceReservation,
    RoleGrant,
    ServiceRecord,
    Shift,
)
from storage.repositories.paging import _page


class OrgDirectoryRepository:
    """Organisation service areas, membership and invitations (rows are in repositories.py)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def set_communities(self, organisation_id: int, communities: Sequence[int]) -> None:
        await self.session.execute(
            delete(OrganisationCommunity).where(
                OrganisationCommunity.organisation_id == organisation_id
            )
        )
        for community_id in dict.fromkeys(communities):
            self.session.add(
                OrganisationCommunity(organisation_id=organisation_id, community_id=community_id)
            )
        await self.session.flush()

    async def communities_of(self, organisation_id: int) -> list[int]:
        query = select(OrganisationCommunity.community_id).where(
            OrganisationCommunity.organisation_id == organisation_id
        )
        return list((await self.session.scalars(query)).all())

    async def pending_in(self, communities: Sequence[int]) -> Sequence[Organisation]:
        query = (
            select(Organisation)
            .where(
                Organisation.verified_at.is_(None),
                Organisation.rejection_reason.is_(None),
                Organisation.community_id.in_(communities),
            )
            .order_by(Organisation.id)
            .limit(20)
        )
        return (await self.session.scalars(query)).all()

    async def of_member(self, person_id: int) -> Sequence[Organisation]:
        query = (
            select(Organisation)
            .join(RoleGrant, RoleGrant.organisation_id == Organisation.id)
            .where(
                RoleGrant.person_id == person_id,
                RoleGrant.role.in_(ORGANISATION_ROLES),
                RoleGrant.revoked_at.is_(None),
            )
            .distinct()
            .order_by(Organisation.id)
        )
        return (await self.session.scalars(query)).all()

    def add_invite(self, invite: OrganisationInvite) -> None:
        self.session.add(invite)

    async def invite(self, token: str) -> OrganisationInvite | None:
        return await self.session.get(OrganisationInvite, token)


class ProjectsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, project: Project, communities: Sequence[int]) -> Project:
        self.session.add(project)
        await self.session.flush()
        for community_id in dict.fromkeys([project.community_id, *communities]):
            self.session.add(ProjectCommunity(project_id=project.id, community_id=community_id))
        await self.session.flush()
        return project

    async def flush(self) -> None:
        await self.session.flush()

    async def get(self, project_id: int, *, lock: bool = False) -> Project | None:
        query = select(Project).where(Project.id == project_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def communities_of(self, project_id: int) -> list[int]:
        query = select(ProjectCommunity.community_id).where(
            ProjectCommunity.project_id == project_id
        )
        return list((await self.session.scalars(query)).all())

    async def link_need(self, project_id: int, need_id: int) -> None:
        if await self.session.get(ProjectNeed, (project_id, need_id)) is None:
            self.session.add(ProjectNeed(project_id=project_id, need_id=need_id))
            await self.session.flush()

    async def need_ids(self, project_id: int) -> list[int]:
        query = select(ProjectNeed.need_id).where(ProjectNeed.project_id == project_id)
        return list((await self.session.scalars(query)).all())

    def add_decision(self, decision: PartyDecision) -> None:
        self.session.add(decision)

    async def latest_decision(self, project_id: int) -> PartyDecision | None:
        query = (
            select(PartyDecision)
            .where(PartyDecision.project_id == project_id)
            .order_by(PartyDecision.id.desc())
            .limit(1)
        )
        return (await self.session.scalars(query)).first()

    def set_evaluation(self, evaluation: ProjectEvaluation) -> None:
        self.session.add(evaluation)

    async def evaluation(self, project_id: int) -> ProjectEvaluation | None:
        return await self.session.get(ProjectEvaluation, project_id)

    async def public_in(
        self,
        communities: Sequence[int],
        offset: int,
        limit: int,
        *,
        kind: ProjectKind | None = None,
        state: ProjectState | None = None,
    ) -> tuple[Sequence[Project], int]:
        served = select(ProjectCommunity.project_id).where(
            ProjectCommunity.community_id.in_(communities)
        )
        query = (
            select(Project)
            .where(Project.id.in_(served), Project.state.in_(PUBLIC))
            .order_by(Project.state, Project.id.desc())
        )
        if kind is not None:
            query = query.where(Project.kind == kind)
        if state is not None:
            query = query.where(Project.state == state)
        return await _page(self.session, query, offset, limit)

    async def managed(
        self,
        person_id: int,
        organisations: Sequence[int],
        communities: Sequence[int],
        offset: int,
        limit: int,
    ) -> tuple[Sequence[Project], int]:
        """Projects the person drafts for (their organisations or themselves) or reviews."""
        query = (
            select(Project)
            .where(
                or_(
                    Project.created_by == person_id,
                    Project.organisation_id.in_(organisations),
                    Project.community_id.in_(communities),
                )
            )
            .order_by(Project.id.desc())
        )
        return await _page(self.session, query, offset, limit)

    async def shifts_of(self, project_id: int) -> Sequence[Shift]:
        query = (
            select(Shift)
            .where(Shift.project_id == project_id, Shift.cancelled_at.is_(None))
            .order_by(Shift.starts_at)
        )
        return (await self.session.scalars(query)).all()

    async def service_figures(self, project_id: int) -> tuple[int, int]:
        """Confirmed minutes and distinct volunteers, counted from the service records."""
        query = (
            select(
                func.coalesce(func.sum(ServiceRecord.minutes), 0),
                func.count(func.distinct(ServiceRecord.person_id)),
            )
            .join(Shift, Shift.id == ServiceRecord.shift_id)
            .where(Shift.project_id == project_id, ServiceRecord.status == RecordStatus.CONFIRMED)
        )
        minutes, people = (await self.session.execute(query)).one()
        return int(minutes or 0), int(people or 0)

    async def need_figures(self, project_id: int) -> tuple[int, int, float | None]:
        """Linked needs, those confirmed solved, and the residents' mean rating of them."""
        linked = select(ProjectNeed.need_id).where(ProjectNeed.project_id == project_id)
        total = await self.session.scalar(select(func.count()).select_from(linked.subquery()))
        solved = await self.session.scalar(
            select(func.count())
            .select_from(Need)
            .where(Need.id.in_(linked), Need.closure_reason == ClosureReason.CONFIRMED_SOLVED)
        )
        rating = await self.session.scalar(
            select(func.avg(NeedFeedback.rating)).where(
                NeedFeedback.need_id.in_(linked), NeedFeedback.rating.is_not(None)
            )
        )
        return int(total or 0), int(solved or 0), float(rating) if rating is not None else None


class ResourcesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        """Send the pending changes, so that the next read in this transaction sees them."""
        await self.session.flush()

    async def add(self, resource: Resource) -> Resource:
        self.session.add(resource)
        await self.session.flush()
        return resource

    async def get(self, resource_id: int, *, lock: bool = False) -> Resource | None:
        query = select(Resource).where(Resource.id == resource_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def reserved(self, resource_id: int) -> int:
        query = select(func.coalesce(func.sum(ResourceReservation.quantity), 0)).where(
            ResourceReservation.resource_id == resource_id,
            ResourceReservation.status == ReservationStatus.RESERVED,
        )
        return int(await self.session.scalar(query) or 0)

    async def listed_in(
        self,
        communities: Sequence[int],
        offset: int,
        limit: int,
        *,
        kind: ResourceKind | None = None,
    ) -> tuple[Sequence[Resource], int]:
        query = (
            select(Resource)
            .where(Resource.community_id.in_(communities), Resource.active.is_(True))
            .order_by(Resource.kind, Resource.id)
        )
        if kind is not None:
            query = query.where(Resource.kind == kind)
        return await _page(self.session, query, offset, limit)

    async def add_reservation(self, reservation: ResourceReservation) -> ResourceReservation:
        self.session.add(reservation)
        await self.session.flush()
        return reservation

    async def reservation(
        self, reservation_id: int, *, lock: bool = False
    ) -> ResourceReservation | None:
        query = select(ResourceReservation).where(ResourceReservation.id == reservation_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()


class FundsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, fund: Fund) -> Fund:
        self.session.add(fund)
        await self.session.flush()
        return fund

    async def get(self, fund_id: int, *, lock: bool = False) -> Fund | None:
        query = select(Fund).where(Fund.id == fund_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def of_organisations(self, organisations: Sequence[int]) -> Sequence[Fund]:
        query = select(Fund).where(Fund.organisation_id.in_(organisations)).order_by(Fund.id)
        return (await self.session.scalars(query)).all()

    async def donations(self, fund_id: int) -> Sequence[FundDonation]:
        query = select(FundDonation).where(FundDonation.fund_id == fund_id)
        return (await self.session.scalars(query.order_by(FundDonation.id))).all()

    async def allocations(self, fund_id: int) -> Sequence[FundAllocation]:
        query = select(FundAllocation).where(FundAllocation.fund_id == fund_id)
        return (await self.session.scalars(query.order_by(FundAllocation.id))).all()

    async def allocation(self, allocation_id: int) -> FundAllocation | None:
        return await self.session.get(FundAllocation, allocation_id)

    async def expenditures(self, allocation_ids: Sequence[int]) -> Sequence[FundExpenditure]:
        query = select(FundExpenditure).where(FundExpenditure.allocation_id.in_(allocation_ids))
        return (await self.session.scalars(query.order_by(FundExpenditure.id))).all()

    async def allocations_to(self, project_id: int) -> Sequence[FundAllocation]:
        query = select(FundAllocation).where(FundAllocation.project_id == project_id)
        return (await self.session.scalars(query.order_by(FundAllocation.id))).all()

    async def add_row(
        self, row: FundDonation | FundAllocation | FundExpenditure
    ) -> FundDonation | FundAllocation | FundExpenditure:
        self.session.add(row)
        await self.session.flush()
        return row
