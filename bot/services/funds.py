"""Charity funds with 募用分离: a charity or community foundation records donations into its
fund and allocates them to another organisation's project; that organisation records what it
spent. Each step replays the fund's rows through bot.domain.funds.FundBook under a row lock on
the fund, so the rules (no allocation beyond the pool, none of restricted money to another
purpose, no spending beyond the allocation) hold also for concurrent requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.domain.enums import OrganisationType, Role
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.funds import FundBook, Statement
from bot.domain.needs import NeedCategory
from bot.domain.principal import Principal
from bot.domain.projects import ProjectState
from bot.services.organisations import member_of
from storage.models import Fund, FundAllocation, FundDonation, FundExpenditure, Project
from storage.uow import UnitOfWork

FUND_HOLDERS = frozenset({OrganisationType.CHARITY, OrganisationType.COMMUNITY_FOUNDATION})
FUNDABLE = frozenset(
    {ProjectState.APPROVED, ProjectState.PUBLISHED, ProjectState.RUNNING, ProjectState.COMPLETED}
)


@dataclass(frozen=True, slots=True)
class StatementLine:
    on: date
    kind: str  # donation | allocation | expenditure
    amount_fen: int
    party: str  # the donor, the project, or what was bought
    purpose: str | None


@dataclass(frozen=True, slots=True)
class FundView:
    id: int
    name: str
    organisation: str
    statement: Statement
    lines: tuple[StatementLine, ...]


async def _book(uow: UnitOfWork, fund_id: int) -> FundBook:
    """Replay the stored rows through the domain rules (they were checked on the way in)."""
    book = FundBook()
    for donation in await uow.funds.donations(fund_id):
        book.donate(donation.amount_fen, donation.purpose)
    allocations = await uow.funds.allocations(fund_id)
    for allocation in allocations:
        project = await uow.projects.get(allocation.project_id)
        purposes = project.categories if project else []
        book.allocate(
            allocation.id,
            allocation.project_id,
            allocation.amount_fen,
            allocation.purpose,
            purposes,
        )
    for expenditure in await uow.funds.expenditures([a.id for a in allocations]):
        book.spend(expenditure.allocation_id, expenditure.amount_fen)
    return book


async def replay(uow: UnitOfWork, fund_id: int) -> FundBook:
    """A fund's book as stored, for services that allocate from it (competitions)."""
    return await _book(uow, fund_id)


async def _fund(uow: UnitOfWork, fund_id: int, *, lock: bool = False) -> Fund:
    fund = await uow.funds.get(fund_id, lock=lock)
    if fund is None:
        raise NotFound("fund", fund_id)
    return fund


async def create(
    uow: UnitOfWork,
    principal: Principal,
    *,
    organisation_id: int,
    name: str,
    community_id: int | None = None,
) -> int:
    name = " ".join(name.split())[:200]
    if not name:
        raise InvalidInput("name", "length")
    if not member_of(principal, organisation_id, Role.ORG_ADMIN):
        raise PermissionDenied()
    async with uow:
        org = await uow.organisations.get(organisation_id)
        if org is None or org.verified_at is None:
            raise Conflict("organisation_not_verified")
        if org.type not in FUND_HOLDERS:
            raise Conflict("not_a_fund_holder")
        if org.type is OrganisationType.COMMUNITY_FOUNDATION and community_id is None:
            community_id = org.community_id  # a community fund (社区基金) of its community
        fund = await uow.funds.add(
            Fund(organisation_id=organisation_id, name=name, community_id=community_id)
        )
        uow.audit.record(
            actor_id=principal.person_id, action="fund.create", entity="fund", entity_id=fund.id
        )
        fund_id = fund.id
        await uow.commit()
        return fund_id


async def donate(
    uow: UnitOfWork,
    principal: Principal,
    *,
    fund_id: int,
    amount_fen: int,
    donor: str | None,
    purpose: NeedCategory | None,
    donated_on: date,
) -> Statement:
    async with uow:
        fund = await _fund(uow, fund_id, lock=True)
        if not member_of(principal, fund.organisation_id):
            raise PermissionDenied()
        book = await _book(uow, fund.id)
        book.donate(amount_fen, purpose.value if purpose else None)
        row = FundDonation(
            fund_id=fund.id,
            donor=" ".join((donor or "").split())[:200] or None,
            amount_fen=amount_fen,
            purpose=purpose.value if purpose else None,
            donated_on=donated_on,
            recorded_by=principal.person_id,
        )
        await uow.funds.add_row(row)
        uow.audit.record(
            actor_id=principal.person_id,
            action="fund.donation",
            entity="fund",
            entity_id=fund.id,
            details={"amount_fen": amount_fen, "purpose": row.purpose},
        )
        await uow.commit()
        return book.statement()


async def allocate(
    uow: UnitOfWork,
    principal: Principal,
    *,
    fund_id: int,
    project_id: int,
    amount_fen: int,
    purpose: NeedCategory | None,
) -> Statement:
    """From the general pool, or a restricted pool to a project that answers that purpose."""
    async with uow:
        fund = await _fund(uow, fund_id, lock=True)
        if not member_of(principal, fund.organisation_id):
            raise PermissionDenied()
        project = await _fundable(uow, fund, project_id)
        book = await _book(uow, fund.id)
        row = FundAllocation(
            fund_id=fund.id,
            project_id=project.id,
            amount_fen=amount_fen,
            purpose=purpose.value if purpose else None,
            allocated_by=principal.person_id,
        )
        # The id is not known before the insert; check with a placeholder id first.
        book.allocate(-1, project.id, amount_fen, row.purpose, project.categories)
        await uow.funds.add_row(row)
        uow.audit.record(
            actor_id=principal.person_id,
            action="fund.allocation",
            entity="fund",
            entity_id=fund.id,
            details={"project": project.id, "amount_fen": amount_fen, "purpose": row.purpose},
        )
        await uow.commit()
        return book.statement()


async def _fundable(uow: UnitOfWork, fund: Fund, project_id: int) -> Project:
    """A project the fund may pay: another organisation's, in a state that takes money."""
    project = await uow.projects.get(project_id)
    if project is None:
        raise NotFound("project", project_id)
    if project.organisation_id == fund.organisation_id:
        raise Conflict("same_organisation")  # 募用分离: the raiser does not spend
    if project.state not in FUNDABLE:
        raise Conflict("project_not_fundable")
    return project


async def spend(
    uow: UnitOfWork,
    principal: Principal,
    *,
    allocation_id: int,
    amount_fen: int,
    description: str,
    spent_on: date,
) -> Statement:
    """The project's organisation records what it spent; never beyond the allocation."""
    description = " ".join(description.split())[:500]
    if not description:
        raise InvalidInput("description", "empty")
    async with uow:
        allocation = await uow.funds.allocation(allocation_id)
        if allocation is None:
            raise NotFound("allocation", allocation_id)
        fund = await _fund(uow, allocation.fund_id, lock=True)
        await _check_project_owner(uow, principal, allocation.project_id)
        book = await _book(uow, fund.id)
        book.spend(allocation.id, amount_fen)
        await uow.funds.add_row(
            FundExpenditure(
                allocation_id=allocation.id,
                amount_fen=amount_fen,
                description=description,
                spent_on=spent_on,
                recorded_by=principal.person_id,
            )
        )
        uow.audit.record(
            actor_id=principal.person_id,
            action="fund.expenditure",
            entity="fund",
            entity_id=fund.id,
            details={"allocation": allocation.id, "amount_fen": amount_fen},
        )
        await uow.commit()
        return book.statement()


async def _check_project_owner(uow: UnitOfWork, principal: Principal, project_id: int) -> None:
    """The project's author or a member of its organisation."""
    project = await uow.projects.get(project_id)
    assert project is not None
    owner = project.created_by == principal.person_id or (
        project.organisation_id is not None and member_of(principal, project.organisation_id)
    )
    if not owner:
        raise PermissionDenied()


async def statement(uow: UnitOfWork, *, fund_id: int) -> FundView:
    """Open to anyone: where the money came from and where it went."""
    async with uow:
        fund = await _fund(uow, fund_id)
        org = await uow.organisations.get(fund.organisation_id)
        book = await _book(uow, fund.id)
        lines = [
            StatementLine(d.donated_on, "donation", d.amount_fen, d.donor or "", d.purpose)
            for d in await uow.funds.donations(fund.id)
        ]
        lines += await _spending_lines(uow, fund.id)
        lines.sort(key=lambda line: line.on)
        return FundView(fund.id, fund.name, org.name if org else "", book.statement(), tuple(lines))


async def _spending_lines(uow: UnitOfWork, fund_id: int) -> list[StatementLine]:
    """The fund's allocations (to projects, by title) and what each project spent of them."""
    lines = []
    allocations = await uow.funds.allocations(fund_id)
    titles = {}
    for a in allocations:
        project = await uow.projects.get(a.project_id)
        titles[a.id] = project.title if project else ""
        lines.append(
            StatementLine(a.created_at.date(), "allocation", a.amount_fen, titles[a.id], a.purpose)
        )
    for e in await uow.funds.expenditures([a.id for a in allocations]):
        about = f"{titles[e.allocation_id]}: {e.description}"
        lines.append(StatementLine(e.spent_on, "expenditure", e.amount_fen, about, None))
    return lines


async def funds_of(uow: UnitOfWork, principal: Principal) -> list[tuple[int, str]]:
    async with uow:
        organisations = [
            g.organisation_id for g in principal.grants if g.organisation_id is not None
        ]
        return [(f.id, f.name) for f in await uow.funds.of_organisations(organisations)]


async def allocations_for(
    uow: UnitOfWork, principal: Principal, *, project_id: int
) -> list[tuple[int, str, int, int]]:
    """(allocation id, fund name, amount, unspent) of a project, for its owners to spend."""
    async with uow:
        result = []
        for allocation in await uow.funds.allocations_to(project_id):
            fund = await _fund(uow, allocation.fund_id)
            book = await _book(uow, fund.id)
            result.append(
                (
                    allocation.id,
                    fund.name,
                    allocation.amount_fen,
                    book.allocations[allocation.id].unspent,
                )
            )
        return result
