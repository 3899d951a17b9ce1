"""Government purchase of services (policy 四.(三)): a street or district buys a service from a
provider organisation, paid by milestones; the provider reports each milestone with the evidence
counted from the records, the buyer accepts it (a provider never accepts its own), and pays it
into the purchase's ledger; at the end the buyer evaluates its performance (绩效评估), kept with
the purchase's project. Statements per purchase and per funding source. Rules in
bot.domain.purchases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from bot.domain.enums import ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.principal import Principal
from bot.domain.projects import MAX_BUDGET_FEN, ProjectKind, ProjectState
from bot.domain.purchases import (
    FundingSource,
    MilestoneSpec,
    MilestoneState,
    accept,
    check_milestones,
    evaluation_score,
    pay,
    payments,
    report,
)
from bot.services import audit, buyers
from bot.services.organisations import member_of
from storage.models import (
    Organisation,
    Project,
    ProjectEvaluation,
    PurchaseEvaluation,
    PurchaseMilestone,
    PurchasePayment,
    ServicePurchase,
)
from storage.types import utcnow
from storage.uow import UnitOfWork

MAX_TEXT = 2000


@dataclass(frozen=True, slots=True)
class NewPurchase:
    level: ScopeLevel
    scope_id: int
    service: str
    provider_id: int
    amount_fen: int
    source: FundingSource
    starts_on: date
    ends_on: date
    milestones: Sequence[MilestoneSpec]


@dataclass(frozen=True, slots=True)
class Evidence:
    requests: int
    minutes: int
    people: int


@dataclass(frozen=True, slots=True)
class MilestoneView:
    id: int
    position: int
    deliverable: str
    share: int
    amount_fen: int  # what it pays
    state: MilestoneState
    report: str | None
    evidence: Evidence | None
    paid_fen: int
    paid_on: date | None


@dataclass(frozen=True, slots=True)
class EvaluationView:
    indicators: tuple[tuple[str, int, int], ...]
    score_centi: int
    summary: str


@dataclass(frozen=True, slots=True)
class PurchaseView:
    id: int
    level: ScopeLevel
    scope_id: int
    service: str
    provider: str
    provider_id: int
    project_id: int
    amount_fen: int
    source: FundingSource
    starts_on: date
    ends_on: date
    milestones: tuple[MilestoneView, ...]
    paid_fen: int
    evaluation: EvaluationView | None
    # About the reader:
    buyer: bool
    provider_member: bool

    @property
    def unpaid_fen(self) -> int:
        return self.amount_fen - self.paid_fen


def _checked_text(text: str, field: str) -> str:
    checked = text.strip()[:MAX_TEXT]
    if not checked:
        raise InvalidInput(field, "empty")
    return checked


_audit = partial(audit.step, entity="purchase")


async def _load(uow: UnitOfWork, purchase_id: int, *, lock: bool = False) -> ServicePurchase:
    purchase = await uow.purchases.get(purchase_id, lock=lock)
    if purchase is None:
        raise NotFound("purchase", purchase_id)
    return purchase


async def _view(uow: UnitOfWork, principal: Principal, p: ServicePurchase) -> PurchaseView:
    milestones, paid_fen = await _milestones(uow, p)
    provider = await uow.organisations.get(p.provider_id)
    evaluation = await uow.purchases.evaluation(p.id)
    return PurchaseView(
        id=p.id,
        level=p.level,
        scope_id=p.scope_id,
        service=p.service,
        provider=provider.name if provider else "",
        provider_id=p.provider_id,
        project_id=p.project_id,
        amount_fen=p.amount_fen,
        source=p.source,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        milestones=milestones,
        paid_fen=paid_fen,
        evaluation=EvaluationView(
            tuple((i["name"], int(i["weight"]), int(i["score"])) for i in evaluation.indicators),
            evaluation.score_centi,
            evaluation.summary,
        )
        if evaluation
        else None,
        buyer=await buyers.acts_for(uow, principal, p.level, p.scope_id),
        provider_member=member_of(principal, p.provider_id),
    )


async def _milestones(uow: UnitOfWork, p: ServicePurchase) -> tuple[tuple[MilestoneView, ...], int]:
    """Each milestone with its share of the amount and what was paid on it; the total paid."""
    milestones = list(await uow.purchases.milestones(p.id))
    due = payments(p.amount_fen, [m.share for m in milestones])
    paid = {row.milestone_id: row for row in await uow.purchases.payments(p.id)}
    views = tuple(
        MilestoneView(
            id=m.id,
            position=m.position,
            deliverable=m.deliverable,
            share=m.share,
            amount_fen=amount,
            state=m.state,
            report=m.report,
            evidence=Evidence(**m.evidence) if m.evidence else None,
            paid_fen=paid[m.id].amount_fen if m.id in paid else 0,
            paid_on=paid[m.id].paid_on if m.id in paid else None,
        )
        for m, amount in zip(milestones, due, strict=True)
    )
    return views, sum(row.amount_fen for row in paid.values())


def _check(spec: NewPurchase) -> str:
    service = " ".join(spec.service.split())[:200]
    if not service:
        raise InvalidInput("service", "empty")
    if not 0 < spec.amount_fen <= MAX_BUDGET_FEN:
        raise InvalidInput("amount", "range")
    if spec.ends_on < spec.starts_on:
        raise InvalidInput("period", "range")
    check_milestones(spec.milestones)
    return service


async def create(uow: UnitOfWork, principal: Principal, spec: NewPurchase) -> PurchaseView:
    """The buyer records the purchase; its project (政府购买服务) is created approved."""
    service = _check(spec)
    async with uow:
        await buyers.require(uow, principal, spec.level, spec.scope_id)
        provider = await _verified_provider(uow, spec.provider_id)
        project = await _project_for(uow, principal, spec, service, provider.id)
        purchase = ServicePurchase(
            level=spec.level,
            scope_id=spec.scope_id,
            service=service,
            provider_id=provider.id,
            project_id=project.id,
            amount_fen=spec.amount_fen,
            source=spec.source,
            starts_on=spec.starts_on,
            ends_on=spec.ends_on,
            created_by=principal.person_id,
        )
        await _store(uow, purchase, spec.milestones)
        details = {"amount_fen": spec.amount_fen, "source": spec.source.value}
        _audit(uow, principal, "purchase.create", purchase.id, details=details)
        view = await _view(uow, principal, purchase)
        await uow.commit()
        return view


async def _store(
    uow: UnitOfWork, purchase: ServicePurchase, milestones: Sequence[MilestoneSpec]
) -> None:
    """The purchase, then its milestones in order."""
    uow.purchases.add(purchase)
    await uow.purchases.flush()
    for n, m in enumerate(milestones):
        uow.purchases.add(_milestone_row(purchase.id, n, m))
    await uow.purchases.flush()


async def _verified_provider(uow: UnitOfWork, organisation_id: int) -> Organisation:
    provider = await uow.organisations.get(organisation_id)
    if provider is None or provider.verified_at is None:
        raise Conflict("organisation_not_verified")
    return provider


async def _project_for(
    uow: UnitOfWork, principal: Principal, spec: NewPurchase, service: str, provider_id: int
) -> Project:
    """The provider's project (政府购买服务), approved, in the unit's communities it serves."""
    community, served = await _served_in_unit(uow, spec, provider_id)
    project = await uow.projects.add(
        Project(
            organisation_id=provider_id,
            created_by=principal.person_id,
            community_id=community,
            title=service,
            purpose=service,
            kind=ProjectKind.GOVERNMENT_PURCHASED,
            categories=[],
            budget_fen=spec.amount_fen,
            starts_on=spec.starts_on,
            ends_on=spec.ends_on,
            major=False,
            state=ProjectState.APPROVED,
        ),
        served or [community],
    )
    return project


async def _served_in_unit(
    uow: UnitOfWork, spec: NewPurchase, provider_id: int
) -> tuple[int, list[int]]:
    """The project's community (the provider's home, else the first it serves in the unit)
    and the unit's communities the provider serves."""
    provider = await uow.organisations.get(provider_id)
    assert provider is not None
    communities = await buyers.communities(uow, spec.level, spec.scope_id)
    served = [c for c in await uow.org_directory.communities_of(provider.id) if c in communities]
    home = provider.community_id if provider.community_id in communities else None
    community = home or (served[0] if served else None)
    if community is None:
        raise Conflict("provider_outside_unit")
    return community, served


def _milestone_row(purchase_id: int, position: int, spec: MilestoneSpec) -> PurchaseMilestone:
    return PurchaseMilestone(
        purchase_id=purchase_id,
        position=position,
        deliverable=spec.deliverable,
        share=spec.share,
        state=MilestoneState.PENDING,
    )


async def view(uow: UnitOfWork, principal: Principal, *, purchase_id: int) -> PurchaseView:
    """For the buyer and the provider's members."""
    async with uow:
        result = await _view(uow, principal, await _load(uow, purchase_id))
        if not (result.buyer or result.provider_member):
            raise NotFound("purchase", purchase_id)
        return result


async def listing(uow: UnitOfWork, principal: Principal) -> list[PurchaseView]:
    async with uow:
        providers = [g.organisation_id for g in principal.grants if g.organisation_id is not None]
        rows = await uow.purchases.visible(buyers.units_of(principal), providers)
        return [await _view(uow, principal, p) for p in rows[:10]]


async def _milestone(
    uow: UnitOfWork, milestone_id: int
) -> tuple[PurchaseMilestone, ServicePurchase]:
    milestone = await uow.purchases.milestone(milestone_id)
    if milestone is None:
        raise NotFound("milestone", milestone_id)
    return milestone, await _load(uow, milestone.purchase_id, lock=True)


def _window(p: ServicePurchase, tz: ZoneInfo) -> tuple[datetime, datetime]:
    since = datetime.combine(p.starts_on, time(0), tz)
    return since, datetime.combine(p.ends_on + timedelta(days=1), time(0), tz)


async def report_milestone(
    uow: UnitOfWork,
    principal: Principal,
    *,
    milestone_id: int,
    text: str,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> PurchaseView:
    """The provider reports; the evidence is counted from the records of the period."""
    now = now or utcnow()
    text = _checked_text(text, "report")
    async with uow:
        milestone, purchase = await _milestone(uow, milestone_id)
        provider = member_of(principal, purchase.provider_id)
        if not provider:
            raise PermissionDenied()
        milestone.state = report(milestone.state, provider=provider)
        milestone.report = text
        milestone.evidence = await _evidence(uow, purchase, tz, now)
        milestone.reported_by, milestone.reported_at = principal.person_id, now
        details = {"milestone": milestone.id, **milestone.evidence}
        _audit(uow, principal, "purchase.report", purchase.id, details=details)
        await uow.purchases.flush()
        result = await _view(uow, principal, purchase)
        await uow.commit()
        return result


async def _evidence(
    uow: UnitOfWork, purchase: ServicePurchase, tz: ZoneInfo, now: datetime
) -> dict[str, int]:
    """What the provider's records of the purchase's period (so far) count."""
    since, until = _window(purchase, tz)
    requests, minutes, people = await uow.purchases.evidence(
        purchase.provider_id, since, min(until, now)
    )
    return {"requests": requests, "minutes": minutes, "people": people}


async def accept_milestone(
    uow: UnitOfWork, principal: Principal, *, milestone_id: int, now: datetime | None = None
) -> PurchaseView:
    """The buyer accepts a reported milestone; a member of the provider never does."""
    async with uow:
        milestone, purchase = await _milestone(uow, milestone_id)
        buyer = await buyers.acts_for(uow, principal, purchase.level, purchase.scope_id)
        provider = member_of(principal, purchase.provider_id) and not principal.is_superadmin
        if not buyer and not provider:
            raise PermissionDenied()
        milestone.state = accept(milestone.state, provider=provider, buyer=buyer)
        milestone.accepted_by, milestone.accepted_at = principal.person_id, now or utcnow()
        _audit(uow, principal, "purchase.accept", purchase.id, details={"milestone": milestone.id})
        await uow.purchases.flush()
        result = await _view(uow, principal, purchase)
        await uow.commit()
        return result


async def pay_milestone(
    uow: UnitOfWork, principal: Principal, *, milestone_id: int, paid_on: date
) -> PurchaseView:
    """Record the payment of an accepted milestone: its share, once, into the ledger."""
    async with uow:
        milestone, purchase = await _milestone(uow, milestone_id)
        buyer = await buyers.acts_for(uow, principal, purchase.level, purchase.scope_id)
        if not buyer:
            raise PermissionDenied()
        milestone.state = pay(milestone.state, buyer=buyer)
        due = await _due(uow, purchase, milestone)
        uow.purchases.add(
            PurchasePayment(
                purchase_id=purchase.id,
                milestone_id=milestone.id,
                amount_fen=due,
                paid_on=paid_on,
                recorded_by=principal.person_id,
            )
        )
        details = {"milestone": milestone.id, "amount_fen": due}
        _audit(uow, principal, "purchase.pay", purchase.id, details=details)
        await uow.purchases.flush()
        result = await _view(uow, principal, purchase)
        await uow.commit()
        return result


async def _due(uow: UnitOfWork, purchase: ServicePurchase, milestone: PurchaseMilestone) -> int:
    """The milestone's share of the amount, if paying it keeps within the amount."""
    rows = list(await uow.purchases.milestones(purchase.id))
    due = payments(purchase.amount_fen, [m.share for m in rows])[milestone.position]
    paid = sum(p.amount_fen for p in await uow.purchases.payments(purchase.id))
    if paid + due > purchase.amount_fen:
        raise Conflict("purchase_overpaid")
    return due


async def evaluate(
    uow: UnitOfWork,
    principal: Principal,
    *,
    purchase_id: int,
    indicators: Sequence[tuple[str, int, int]],
    summary: str,
) -> PurchaseView:
    """The buyer's performance evaluation once every milestone is accepted; the score and the
    summary go to the project's results too (its evaluation), the project evaluated."""
    summary = _checked_text(summary, "summary")
    score = evaluation_score(indicators)
    async with uow:
        purchase = await _evaluable(uow, principal, purchase_id)
        uow.purchases.add(
            PurchaseEvaluation(
                purchase_id=purchase.id,
                indicators=[{"name": n, "weight": w, "score": s} for n, w, s in indicators],
                score_centi=score,
                summary=summary,
                evaluated_by=principal.person_id,
            )
        )
        await _close_project(uow, principal, purchase, summary)
        _audit(uow, principal, "purchase.evaluate", purchase.id, details={"score_centi": score})
        await uow.purchases.flush()
        result = await _view(uow, principal, purchase)
        await uow.commit()
        return result


async def _evaluable(uow: UnitOfWork, principal: Principal, purchase_id: int) -> ServicePurchase:
    """The purchase (locked), if the principal buys for its unit, it is not evaluated yet and
    every milestone is accepted."""
    purchase = await _load(uow, purchase_id, lock=True)
    if not await buyers.acts_for(uow, principal, purchase.level, purchase.scope_id):
        raise PermissionDenied()
    if await uow.purchases.evaluation(purchase.id) is not None:
        raise Conflict("already_evaluated")
    states = {m.state for m in await uow.purchases.milestones(purchase.id)}
    if not states <= {MilestoneState.ACCEPTED, MilestoneState.PAID}:
        raise Conflict("milestones_open")
    return purchase


async def _close_project(
    uow: UnitOfWork, principal: Principal, purchase: ServicePurchase, summary: str
) -> None:
    project = await uow.projects.get(purchase.project_id, lock=True)
    assert project is not None
    if await uow.projects.evaluation(project.id) is None:
        # People served, as the latest milestone report counted them from the records.
        reported = [m.evidence for m in await uow.purchases.milestones(purchase.id) if m.evidence]
        people = max((e.get("people", 0) for e in reported), default=0)
        uow.projects.set_evaluation(
            ProjectEvaluation(
                project_id=project.id,
                beneficiaries=people,
                summary=summary,
                evaluated_by=principal.person_id,
            )
        )
    project.state = ProjectState.EVALUATED


async def by_source(
    uow: UnitOfWork, principal: Principal, *, source: FundingSource
) -> list[PurchaseView]:
    """The buyer's purchases paid from one funding source (the statement per source)."""
    async with uow:
        rows = await uow.purchases.of_source(buyers.units_of(principal), source)
        return [await _view(uow, principal, p) for p in rows]


async def providers(
    uow: UnitOfWork, principal: Principal, *, level: ScopeLevel, scope_id: int
) -> list[tuple[int, str]]:
    """Verified organisations of the unit that may provide a service."""
    async with uow:
        await buyers.require(uow, principal, level, scope_id)
        communities = await buyers.communities(uow, level, scope_id)
        return [(o.id, o.name) for o in await uow.competitions.organisations_in(communities)]
