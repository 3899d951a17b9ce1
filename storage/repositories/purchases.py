"""Repository of the government purchases of services, their milestones, payments and
evaluations, and the evidence counted from the records (migration 0024)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.attendance import RecordStatus
from bot.domain.enums import ScopeLevel
from bot.domain.needs import NeedState
from bot.domain.purchases import FundingSource
from storage.models import (
    Need,
    Project,
    PurchaseEvaluation,
    PurchaseMilestone,
    PurchasePayment,
    ServicePurchase,
    ServiceRecord,
    Shift,
)

HANDLED = (NeedState.RESOLVED, NeedState.CLOSED)


class PurchasesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: object) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    async def get(self, purchase_id: int, *, lock: bool = False) -> ServicePurchase | None:
        query = select(ServicePurchase).where(ServicePurchase.id == purchase_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def visible(
        self, scopes: Sequence[tuple[ScopeLevel, int]], providers: Sequence[int]
    ) -> Sequence[ServicePurchase]:
        conditions: list[ColumnElement[bool]] = [
            and_(ServicePurchase.level == level, ServicePurchase.scope_id == scope_id)
            for level, scope_id in scopes
        ]
        conditions.append(ServicePurchase.provider_id.in_(providers))
        query = select(ServicePurchase).where(or_(*conditions))
        return (await self.session.scalars(query.order_by(ServicePurchase.id.desc()))).all()

    async def of_source(
        self, scopes: Sequence[tuple[ScopeLevel, int]], source: FundingSource
    ) -> Sequence[ServicePurchase]:
        found = await self.visible(scopes, [])
        return [p for p in found if p.source is source]

    async def milestones(self, purchase_id: int) -> Sequence[PurchaseMilestone]:
        query = select(PurchaseMilestone).where(PurchaseMilestone.purchase_id == purchase_id)
        return (await self.session.scalars(query.order_by(PurchaseMilestone.position))).all()

    async def milestone(self, milestone_id: int) -> PurchaseMilestone | None:
        return await self.session.get(PurchaseMilestone, milestone_id)

    async def payments(self, purchase_id: int) -> Sequence[PurchasePayment]:
        query = select(PurchasePayment).where(PurchasePayment.purchase_id == purchase_id)
        return (await self.session.scalars(query.order_by(PurchasePayment.id))).all()

    async def evaluation(self, purchase_id: int) -> PurchaseEvaluation | None:
        return await self.session.get(PurchaseEvaluation, purchase_id)

    async def evidence(
        self, organisation_id: int, since: datetime, until: datetime
    ) -> tuple[int, int, int]:
        """Counted from the records: requests the organisation handled (resolved or closed),
        confirmed service minutes on its projects' shifts, and the people served (the distinct
        residents of those requests)."""
        requests = await self.session.scalar(
            select(func.count())
            .select_from(Need)
            .where(
                Need.assignee_organisation_id == organisation_id,
                Need.state.in_(HANDLED),
                Need.resolved_at >= since,
                Need.resolved_at < until,
            )
        )
        people = await self.session.scalar(
            select(func.count(func.distinct(Need.resident_id))).where(
                Need.assignee_organisation_id == organisation_id,
                Need.state.in_(HANDLED),
                Need.resolved_at >= since,
                Need.resolved_at < until,
            )
        )
        minutes = await self.session.scalar(
            select(func.coalesce(func.sum(ServiceRecord.minutes), 0))
            .join(Shift, Shift.id == ServiceRecord.shift_id)
            .join(Project, Project.id == Shift.project_id)
            .where(
                Project.organisation_id == organisation_id,
                ServiceRecord.status == RecordStatus.CONFIRMED,
                ServiceRecord.checked_in_at >= since,
                ServiceRecord.checked_in_at < until,
            )
        )
        return int(requests or 0), int(minutes or 0), int(people or 0)
