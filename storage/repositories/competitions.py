"""Repository of the competitions (calls for proposals), their proposals, panel, scores and
awards (migration 0023)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.competitions import CallState
from bot.domain.enums import ScopeLevel
from bot.domain.projects import ProjectState
from storage.models import (
    Competition,
    CompetitionAward,
    CompetitionProposal,
    CompetitionReviewer,
    CompetitionScore,
    Fund,
    Organisation,
    OrganisationCommunity,
    Project,
)


class CompetitionsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: object) -> None:
        self.session.add(row)

    async def get(self, competition_id: int, *, lock: bool = False) -> Competition | None:
        query = select(Competition).where(Competition.id == competition_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def in_scopes(
        self, scopes: Sequence[tuple[ScopeLevel, int]], limit: int = 20
    ) -> Sequence[Competition]:
        """Calls of these units, newest first (a district's and its streets' alike)."""
        found: list[Competition] = []
        for level, scope_id in scopes:
            query = select(Competition).where(
                Competition.level == level, Competition.scope_id == scope_id
            )
            found += (await self.session.scalars(query)).all()
        unique = {c.id: c for c in found}
        return sorted(unique.values(), key=lambda c: -c.id)[:limit]

    async def open_calls(self) -> Sequence[Competition]:
        query = select(Competition).where(Competition.state == CallState.OPEN)
        return (await self.session.scalars(query.order_by(Competition.id.desc()))).all()

    async def proposals(self, competition_id: int) -> Sequence[CompetitionProposal]:
        query = select(CompetitionProposal).where(
            CompetitionProposal.competition_id == competition_id
        )
        return (await self.session.scalars(query.order_by(CompetitionProposal.id))).all()

    async def proposal(self, proposal_id: int, *, lock: bool = False) -> CompetitionProposal | None:
        query = select(CompetitionProposal).where(CompetitionProposal.id == proposal_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def proposal_of(self, competition_id: int, project_id: int) -> CompetitionProposal | None:
        query = select(CompetitionProposal).where(
            CompetitionProposal.competition_id == competition_id,
            CompetitionProposal.project_id == project_id,
        )
        return (await self.session.scalars(query)).one_or_none()

    async def reviewers(self, competition_id: int) -> Sequence[CompetitionReviewer]:
        query = select(CompetitionReviewer).where(
            CompetitionReviewer.competition_id == competition_id
        )
        return (await self.session.scalars(query.order_by(CompetitionReviewer.person_id))).all()

    async def reviewer(self, competition_id: int, person_id: int) -> CompetitionReviewer | None:
        return await self.session.get(CompetitionReviewer, (competition_id, person_id))

    async def reviewing(self, person_id: int) -> Sequence[Competition]:
        query = (
            select(Competition)
            .join(CompetitionReviewer, CompetitionReviewer.competition_id == Competition.id)
            .where(CompetitionReviewer.person_id == person_id)
            .order_by(Competition.id.desc())
        )
        return (await self.session.scalars(query)).all()

    async def score(self, proposal_id: int, reviewer_id: int) -> CompetitionScore | None:
        return await self.session.get(CompetitionScore, (proposal_id, reviewer_id))

    async def scores(self, proposal_ids: Sequence[int]) -> Sequence[CompetitionScore]:
        query = select(CompetitionScore).where(CompetitionScore.proposal_id.in_(proposal_ids))
        return (await self.session.scalars(query)).all()

    async def awards(self, proposal_ids: Sequence[int]) -> Sequence[CompetitionAward]:
        query = select(CompetitionAward).where(CompetitionAward.proposal_id.in_(proposal_ids))
        return (await self.session.scalars(query.order_by(CompetitionAward.rank))).all()

    async def flush(self) -> None:
        await self.session.flush()

    async def funds_in(self, communities: Sequence[int]) -> Sequence[Fund]:
        """Funds of the unit: a community fund of one of its communities, or the fund of an
        organisation based there."""
        based = select(Organisation.id).where(Organisation.community_id.in_(communities))
        query = select(Fund).where(
            or_(Fund.community_id.in_(communities), Fund.organisation_id.in_(based))
        )
        return (await self.session.scalars(query.order_by(Fund.id))).all()

    async def organisations_in(self, communities: Sequence[int]) -> Sequence[Organisation]:
        """Verified organisations based in, or serving, one of the communities."""
        serving = select(OrganisationCommunity.organisation_id).where(
            OrganisationCommunity.community_id.in_(communities)
        )
        query = select(Organisation).where(
            Organisation.verified_at.is_not(None),
            or_(Organisation.community_id.in_(communities), Organisation.id.in_(serving)),
        )
        return (await self.session.scalars(query.order_by(Organisation.id))).all()

    async def drafts_of(self, organisations: Sequence[int]) -> Sequence[Project]:
        query = select(Project).where(
            Project.organisation_id.in_(organisations), Project.state == ProjectState.DRAFT
        )
        return (await self.session.scalars(query.order_by(Project.id))).all()
