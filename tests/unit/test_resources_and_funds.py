"""The resource list and charity funds against the real database (SQLite and PostgreSQL):
who posts and reserves, releases, the last unit taken twice at once; funds held only by
verified fund-raisers, 募用分离, restricted purposes, spending within the allocation (also under
a race), and a public statement that balances to the fen."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.enums import OrganisationType, Role
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.needs import Beneficiary, NeedCategory, Urgency
from bot.domain.principal import Principal
from bot.domain.resources import ReservationStatus, ResourceKind
from bot.services import funds, needs, organisations, projects, resources
from bot.services.organisations import OrgView
from bot.services.ports import RecordingNotifier
from bot.services.projects import ProjectView
from storage.models import (
    AuditEntry,
    FundAllocation,
    FundDonation,
    FundExpenditure,
    ResourceReservation,
)
from storage.uow import UnitOfWork
from tests.support.clock import set_clock
from tests.support.factories import make_person
from tests.unit.test_projects_service import (
    T0,
    Cast,
    approved_project,
    cast,
    draft_project,
    org_principal,
    register_org,
    verified_org,
)

TODAY = T0.date()


async def count(uow: UnitOfWork, model: type, *where: object) -> int:
    async with uow:
        query = select(func.count()).select_from(model)
        if where:
            query = query.where(*where)
        return int(await uow.session.scalar(query) or 0)


async def file_need(uow: UnitOfWork, c: Cast, community: int | None = None) -> int:
    b1 = community == c.world.community_b1
    filed = await needs.file_need(
        uow,
        RecordingNotifier(),
        c.resident("resident_b", c.world.community_b1) if b1 else c.resident(),
        category=NeedCategory.ELDERLY_CARE,
        description="老人冬天需要棉被",
        urgency=Urgency.NORMAL,
        beneficiary=Beneficiary.FAMILY,
        now=T0,
    )
    return filed.need.id


async def post(
    uow: UnitOfWork, principal: Principal, community: int, quantity: int = 5, **kwargs
) -> resources.ResourceView:
    return await resources.post(
        uow,
        principal,
        community_id=community,
        kind=ResourceKind.GOODS,
        title="冬季棉被",
        quantity=quantity,
        unit="床",
        **kwargs,
    )


async def warm(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Open two pooled connections at once, so that in the races below neither request waits
    for a new connection while the other runs to its end unopposed."""

    async def touch() -> None:
        async with UnitOfWork(sessions) as uow:
            await uow.session.execute(select(1))
            await asyncio.sleep(0.05)

    await asyncio.gather(touch(), touch())


# ---------------------------------------------------------------------- the resource list


async def test_workers_and_organisation_members_post_in_their_scope(uow: UnitOfWork) -> None:
    c = await cast(uow)
    w = c.world
    org, admin = await register_org(uow, c)
    other_org, other_admin = await register_org(
        uow, c, name="乙村互助会", founder="founder_b", home=w.community_b1
    )
    by_worker = await post(uow, c.worker(), w.community_a1, quantity=10)
    assert (by_worker.quantity, by_worker.available, by_worker.unit) == (10, 10, "床")
    assert by_worker.community.id == w.community_a1
    by_member = await post(uow, admin, w.community_a1, organisation_id=org.id)
    assert by_member.available == 5
    refusals = [
        (c.resident(), w.community_a1, {}),
        (c.worker(w.community_b1), w.community_a1, {}),
        (admin, w.community_b1, {"organisation_id": org.id}),  # outside its grant
        (admin, w.community_a1, {"organisation_id": other_org.id}),  # not its organisation
        (other_admin, w.community_a1, {"organisation_id": other_org.id}),
    ]
    for who, where, extra in refusals:
        with pytest.raises(PermissionDenied):
            await post(uow, who, where, **extra)
    with pytest.raises(InvalidInput):
        await post(uow, c.worker(), w.community_a1, quantity=0)
    with pytest.raises(InvalidInput):
        await post(
            uow,
            c.worker(),
            w.community_a1,
            available_from=date(2026, 12, 10),
            available_until=date(2026, 12, 1),
        )
    listed = await resources.listing(uow, c.worker())
    assert sorted(r.id for r in listed.items) == sorted([by_worker.id, by_member.id])
    assert (await resources.listing(uow, c.worker(w.community_b1))).items == ()


async def test_reserve_for_a_need_or_a_project_and_release(uow: UnitOfWork) -> None:
    c = await cast(uow)
    w = c.world
    org, admin = await verified_org(uow, c)
    project = await approved_project(uow, c, admin, org)
    need_id = await file_need(uow, c)
    other_need = await file_need(uow, c, w.community_b1)
    b_org, b_admin = await verified_org(
        uow, c, name="乙村互助会", founder="founder_b", home=w.community_b1
    )
    b_project = await approved_project(uow, c, b_admin, b_org)
    resource = await post(uow, c.worker(), w.community_a1, quantity=5)
    worker = c.worker()

    view, for_need = await resources.reserve(
        uow, worker, resource_id=resource.id, quantity=2, need_id=need_id, today=TODAY
    )
    assert view.available == 3
    view, for_project = await resources.reserve(
        uow, worker, resource_id=resource.id, quantity=2, project_id=project.id, today=TODAY
    )
    assert view.available == 1 and for_need != for_project

    reservations = await count(uow, ResourceReservation)
    audit = await count(uow, AuditEntry)
    with pytest.raises(Conflict, match="resource_insufficient"):
        await resources.reserve(
            uow, worker, resource_id=resource.id, quantity=2, need_id=need_id, today=TODAY
        )
    with pytest.raises(InvalidInput):  # a need or a project, not both
        await resources.reserve(
            uow,
            worker,
            resource_id=resource.id,
            quantity=1,
            need_id=need_id,
            project_id=project.id,
            today=TODAY,
        )
    with pytest.raises(InvalidInput):  # and not neither
        await resources.reserve(uow, worker, resource_id=resource.id, quantity=1, today=TODAY)
    with pytest.raises(PermissionDenied):  # members post; workers reserve
        await resources.reserve(
            uow, admin, resource_id=resource.id, quantity=1, need_id=need_id, today=TODAY
        )
    with pytest.raises(PermissionDenied):
        await resources.reserve(
            uow,
            c.worker(w.community_b1),
            resource_id=resource.id,
            quantity=1,
            need_id=need_id,
            today=TODAY,
        )
    with pytest.raises(NotFound):  # a need of another community
        await resources.reserve(
            uow, worker, resource_id=resource.id, quantity=1, need_id=other_need, today=TODAY
        )
    with pytest.raises(Conflict, match="resource_outside_project"):
        await resources.reserve(
            uow, worker, resource_id=resource.id, quantity=1, project_id=b_project.id, today=TODAY
        )
    assert await count(uow, ResourceReservation) == reservations
    assert await count(uow, AuditEntry) == audit
    [listed] = (await resources.listing(uow, worker)).items
    assert listed.available == 1

    with pytest.raises(PermissionDenied):
        await resources.release(uow, c.worker(w.community_b1), reservation_id=for_need)
    released = await resources.release(uow, worker, reservation_id=for_need)
    assert released.available == 3
    with pytest.raises(Conflict, match="already_released"):
        await resources.release(uow, worker, reservation_id=for_need)
    with pytest.raises(NotFound):
        await resources.release(uow, worker, reservation_id=for_need + 1000)
    [listed] = (await resources.listing(uow, worker)).items
    assert listed.available == 3
    statuses = Counter()
    async with uow:
        for r in await uow.session.scalars(select(ResourceReservation)):
            statuses[(r.id, r.status, r.released_at is not None)] += 1
    assert statuses == Counter(
        {
            (for_need, ReservationStatus.RELEASED, True): 1,
            (for_project, ReservationStatus.RESERVED, False): 1,
        }
    )
    # What is left can be reserved again, to the last unit.
    view, _ = await resources.reserve(
        uow, worker, resource_id=resource.id, quantity=3, need_id=need_id, today=TODAY
    )
    assert view.available == 0


async def test_an_expired_offer_is_not_reserved(uow: UnitOfWork) -> None:
    c = await cast(uow)
    need_id = await file_need(uow, c)
    resource = await post(
        uow, c.worker(), c.world.community_a1, available_until=TODAY - timedelta(days=1)
    )
    with pytest.raises(Conflict, match="resource_expired"):
        await resources.reserve(
            uow, c.worker(), resource_id=resource.id, quantity=1, need_id=need_id, today=TODAY
        )


async def test_two_workers_taking_the_last_unit_at_once_get_one(uow: UnitOfWork) -> None:
    c = await cast(uow)
    w = c.world
    need_id = await file_need(uow, c)
    second_worker = Principal(await make_person(uow, "王社工"), "zh", grants=c.worker().grants)
    sessions = uow._session_factory
    for quantity, wanted in ((1, 1), (1, 1), (3, 2), (5, 3)):
        resource = await post(uow, c.worker(), w.community_a1, quantity=quantity)
        await warm(sessions)
        outcomes = await asyncio.gather(
            *(
                resources.reserve(
                    UnitOfWork(sessions),
                    who,
                    resource_id=resource.id,
                    quantity=wanted,
                    need_id=need_id,
                    today=TODAY,
                )
                for who in (c.worker(), second_worker)
            ),
            return_exceptions=True,
        )
        won = [o for o in outcomes if isinstance(o, tuple)]
        lost = [o for o in outcomes if not isinstance(o, tuple)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert isinstance(lost[0], Conflict) and lost[0].reason == "resource_insufficient"
        view, _ = won[0]
        assert view.available == quantity - wanted >= 0
        reserved = await count(
            uow,
            ResourceReservation,
            ResourceReservation.resource_id == resource.id,
            ResourceReservation.status == ReservationStatus.RESERVED,
        )
        assert reserved == 1
    listed = (await resources.listing(uow, c.worker())).items
    assert all(r.available >= 0 for r in listed)
    # Releasing one reservation twice at once (a double tap): released once.
    async with uow:
        last = await uow.session.scalar(select(func.max(ResourceReservation.id)))
    await warm(sessions)
    outcomes = await asyncio.gather(
        *(
            resources.release(UnitOfWork(sessions), who, reservation_id=last)
            for who in (c.worker(), second_worker)
        ),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], Conflict), outcomes
    assert refused[0].reason == "already_released"
    audited = await count(uow, AuditEntry, AuditEntry.action == "resource.release")
    assert audited == 1


# ---------------------------------------------------------------------- funds


async def test_only_admins_of_verified_charities_and_foundations_hold_funds(
    uow: UnitOfWork,
) -> None:
    c = await cast(uow)
    w = c.world
    charity, charity_admin = await register_org(
        uow, c, name="渝北慈善会", type=OrganisationType.CHARITY
    )
    with pytest.raises(Conflict, match="organisation_not_verified"):
        await funds.create(uow, charity_admin, organisation_id=charity.id, name="助老基金")
    await c_verify(uow, c, charity.id)
    member = org_principal(c, "newcomer", charity, Role.ORG_MEMBER)
    with pytest.raises(PermissionDenied):
        await funds.create(uow, member, organisation_id=charity.id, name="助老基金")
    with pytest.raises(InvalidInput):
        await funds.create(uow, charity_admin, organisation_id=charity.id, name="  ")
    fund_id = await funds.create(uow, charity_admin, organisation_id=charity.id, name="助老基金")
    assert await funds.funds_of(uow, charity_admin) == [(fund_id, "助老基金")]
    assert await funds.funds_of(uow, member) == [(fund_id, "助老基金")]

    social, social_admin = await verified_org(
        uow, c, name="乙村互助会", founder="founder_b", home=w.community_b1
    )
    with pytest.raises(PermissionDenied):  # an admin, but of another organisation
        await funds.create(uow, social_admin, organisation_id=charity.id, name="别人的基金")
    with pytest.raises(Conflict, match="not_a_fund_holder"):
        await funds.create(uow, social_admin, organisation_id=social.id, name="互助基金")
    c.ids["foundation_head"] = await make_person(uow, "基金会理事长", community=w.community_a1)
    foundation, foundation_admin = await verified_org(
        uow,
        c,
        name="甲街道社区基金会",
        founder="foundation_head",
        type=OrganisationType.COMMUNITY_FOUNDATION,
    )
    community_fund = await funds.create(
        uow,
        foundation_admin,
        organisation_id=foundation.id,
        name="甲一社区基金",
        community_id=w.community_a1,
    )
    assert community_fund != fund_id
    view = await funds.statement(uow, fund_id=community_fund)
    assert (view.name, view.organisation, view.lines) == ("甲一社区基金", "甲街道社区基金会", ())
    assert view.statement.donated == view.statement.balance == 0


async def c_verify(uow: UnitOfWork, c: Cast, organisation_id: int) -> None:
    await organisations.verify(
        uow, RecordingNotifier(), c.worker(), organisation_id=organisation_id, approve=True
    )


@dataclass
class Money:
    """A verified charity with a fund, and a verified social organisation with a project."""

    c: Cast
    charity: OrgView
    charity_admin: Principal
    fund_id: int
    social: OrgView
    social_admin: Principal
    elderly: ProjectView  # approved, answering elderly care


async def money_scene(uow: UnitOfWork) -> Money:
    c = await cast(uow)
    charity, charity_admin = await verified_org(
        uow, c, name="渝北慈善会", type=OrganisationType.CHARITY
    )
    fund_id = await funds.create(uow, charity_admin, organisation_id=charity.id, name="助老基金")
    c.ids["org_head"] = await make_person(uow, "夕阳红会长", community=c.world.community_a1)
    social, social_admin = await verified_org(uow, c, name="夕阳红服务社", founder="org_head")
    elderly = await approved_project(uow, c, social_admin, social, title="银龄食堂")
    return Money(c, charity, charity_admin, fund_id, social, social_admin, elderly)


def balanced(s: funds.Statement) -> None:
    assert s.donated == s.balance + s.allocated
    assert s.allocated == s.spent + s.unspent
    assert sum(s.pools.values()) == s.balance
    assert all(v >= 0 for v in s.pools.values())


async def test_money_is_raised_by_one_organisation_and_spent_by_another(uow: UnitOfWork) -> None:
    m = await money_scene(uow)
    c, fund_id = m.c, m.fund_id
    own = await approved_project(uow, c, m.charity_admin, m.charity, title="慈善会自办项目")
    draft = await draft_project(uow, m.social_admin, m.social, [c.world.community_a1])
    children = await approved_project(
        uow,
        c,
        m.social_admin,
        m.social,
        title="四点半课堂",
        categories=(NeedCategory.CHILD_CARE,),
    )

    with pytest.raises(PermissionDenied):  # only the fund's organisation records donations
        await funds.donate(
            uow,
            m.social_admin,
            fund_id=fund_id,
            amount_fen=100,
            donor=None,
            purpose=None,
            donated_on=TODAY,
        )
    with pytest.raises(InvalidInput):
        await funds.donate(
            uow,
            m.charity_admin,
            fund_id=fund_id,
            amount_fen=0,
            donor="x",
            purpose=None,
            donated_on=TODAY,
        )
    assert await count(uow, FundDonation) == 0
    s = await funds.donate(
        uow,
        m.charity_admin,
        fund_id=fund_id,
        amount_fen=1_000_000,
        donor=" 王先生 ",
        purpose=None,
        donated_on=date(2026, 11, 20),
    )
    assert (s.donated, s.balance, s.pools) == (1_000_000, 1_000_000, {None: 1_000_000})
    s = await funds.donate(
        uow,
        m.charity_admin,
        fund_id=fund_id,
        amount_fen=200_000,
        donor=None,
        purpose=NeedCategory.CHILD_CARE,
        donated_on=date(2026, 11, 21),
    )
    assert s.pools == {None: 1_000_000, "child_care": 200_000}

    async def allocate(project_id: int, amount: int, purpose: NeedCategory | None = None):
        return await funds.allocate(
            uow,
            m.charity_admin,
            fund_id=fund_id,
            project_id=project_id,
            amount_fen=amount,
            purpose=purpose,
        )

    before = (await funds.statement(uow, fund_id=fund_id)).statement
    with pytest.raises(Conflict, match="same_organisation"):
        await allocate(own.id, 1_000)
    with pytest.raises(Conflict, match="project_not_fundable"):
        await allocate(draft.id, 1_000)
    with pytest.raises(Conflict, match="fund_insufficient"):
        await allocate(m.elderly.id, 1_000_001)
    with pytest.raises(Conflict, match="fund_insufficient"):  # the elderly-care pool is empty
        await allocate(m.elderly.id, 1, NeedCategory.ELDERLY_CARE)
    with pytest.raises(Conflict, match="purpose_mismatch"):  # children's money, not elderly
        await allocate(m.elderly.id, 1_000, NeedCategory.CHILD_CARE)
    with pytest.raises(InvalidInput):
        await allocate(m.elderly.id, -5)
    with pytest.raises(NotFound):
        await allocate(m.elderly.id + 1000, 1_000)
    with pytest.raises(PermissionDenied):  # the spender does not allocate to itself
        await funds.allocate(
            uow,
            m.social_admin,
            fund_id=fund_id,
            project_id=m.elderly.id,
            amount_fen=1_000,
            purpose=None,
        )
    assert await count(uow, FundAllocation) == 0
    assert (await funds.statement(uow, fund_id=fund_id)).statement == before

    s = await allocate(m.elderly.id, 300_000)
    assert (s.allocated, s.balance, s.pools[None]) == (300_000, 900_000, 700_000)
    s = await allocate(children.id, 50_000, NeedCategory.CHILD_CARE)
    assert s.pools == {None: 700_000, "child_care": 150_000}
    balanced(s)

    [(allocation_id, fund_name, amount, unspent)] = await funds.allocations_for(
        uow, m.social_admin, project_id=m.elderly.id
    )
    assert (fund_name, amount, unspent) == ("助老基金", 300_000, 300_000)

    async def spend(who: Principal, amount: int, what: str = "购买餐盒", on: date = TODAY):
        return await funds.spend(
            uow, who, allocation_id=allocation_id, amount_fen=amount, description=what, spent_on=on
        )

    with pytest.raises(PermissionDenied):  # 募用分离: the raiser does not spend
        await spend(m.charity_admin, 1_000)
    with pytest.raises(PermissionDenied):
        await spend(c.worker(), 1_000)
    with pytest.raises(InvalidInput):
        await spend(m.social_admin, 1_000, what="  ")
    s = await spend(m.social_admin, 120_050, on=date(2026, 12, 2))
    assert (s.spent, s.unspent) == (120_050, 229_950)
    recorded = await count(uow, FundExpenditure)
    before = (await funds.statement(uow, fund_id=fund_id)).statement
    with pytest.raises(Conflict, match="allocation_exceeded"):
        await spend(m.social_admin, 179_951)
    assert await count(uow, FundExpenditure) == recorded
    assert (await funds.statement(uow, fund_id=fund_id)).statement == before
    s = await spend(m.social_admin, 179_950, "厨师劳务", date(2026, 12, 3))
    assert [
        u
        for _, _, _, u in await funds.allocations_for(uow, m.social_admin, project_id=m.elderly.id)
    ] == [0]
    with pytest.raises(Conflict, match="allocation_exceeded"):
        await spend(m.social_admin, 1)

    view = await funds.statement(uow, fund_id=fund_id)
    st = view.statement
    balanced(st)
    assert (st.donated, st.allocated, st.spent, st.balance, st.unspent) == (
        1_200_000,
        350_000,
        300_000,
        850_000,
        50_000,
    )
    assert st.pools == {None: 700_000, "child_care": 150_000}
    assert (view.name, view.organisation) == ("助老基金", "渝北慈善会")
    lines = Counter((line.kind, line.amount_fen, line.party, line.purpose) for line in view.lines)
    assert lines == Counter(
        {
            ("donation", 1_000_000, "王先生", None): 1,
            ("donation", 200_000, "", "child_care"): 1,
            ("allocation", 300_000, "银龄食堂", None): 1,
            ("allocation", 50_000, "四点半课堂", "child_care"): 1,
            ("expenditure", 120_050, "银龄食堂: 购买餐盒", None): 1,
            ("expenditure", 179_950, "银龄食堂: 厨师劳务", None): 1,
        }
    )
    totals = Counter()
    for line in view.lines:
        totals[line.kind] += line.amount_fen
    assert (totals["donation"], totals["allocation"], totals["expenditure"]) == (
        st.donated,
        st.allocated,
        st.spent,
    )
    assert [line.on for line in view.lines] == sorted(line.on for line in view.lines)
    # The project shows what it received and spent.
    seen = await projects.view(uow, m.social_admin, project_id=m.elderly.id)
    assert (seen.results.allocated_fen, seen.results.spent_fen) == (300_000, 300_000)


async def test_two_spends_at_once_never_exceed_the_allocation(uow: UnitOfWork) -> None:
    m = await money_scene(uow)
    await funds.donate(
        uow,
        m.charity_admin,
        fund_id=m.fund_id,
        amount_fen=20_000,
        donor="李女士",
        purpose=None,
        donated_on=TODAY,
    )
    treasurer = org_principal(m.c, "newcomer", m.social, Role.ORG_MEMBER)
    sessions = uow._session_factory
    rounds = 4  # a race is a matter of timing: run it several times
    for n in range(1, rounds + 1):
        await funds.allocate(
            uow,
            m.charity_admin,
            fund_id=m.fund_id,
            project_id=m.elderly.id,
            amount_fen=1_000,
            purpose=None,
        )
        allocation_id = (await funds.allocations_for(uow, m.social_admin, project_id=m.elderly.id))[
            -1
        ][0]
        await warm(sessions)
        outcomes = await asyncio.gather(
            *(
                funds.spend(
                    UnitOfWork(sessions),
                    who,
                    allocation_id=allocation_id,
                    amount_fen=600,
                    description=what,
                    spent_on=TODAY,
                )
                for who, what in ((m.social_admin, "买米"), (treasurer, "买油"))
            ),
            return_exceptions=True,
        )
        won = [o for o in outcomes if isinstance(o, funds.Statement)]
        lost = [o for o in outcomes if not isinstance(o, funds.Statement)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert isinstance(lost[0], Conflict) and lost[0].reason == "allocation_exceeded"
        assert await count(uow, FundExpenditure) == n
        st = (await funds.statement(uow, fund_id=m.fund_id)).statement
        balanced(st)
        assert (st.allocated, st.spent, st.unspent) == (1_000 * n, 600 * n, 400 * n)
    assert [
        u for *_, u in await funds.allocations_for(uow, m.social_admin, project_id=m.elderly.id)
    ] == [400] * rounds


async def test_two_allocations_at_once_never_exceed_the_pool(uow: UnitOfWork) -> None:
    m = await money_scene(uow)
    sessions = uow._session_factory
    for n in range(1, 4):
        await funds.donate(  # 9,000 fen in the pool, two ask for 5,000 each
            uow,
            m.charity_admin,
            fund_id=m.fund_id,
            amount_fen=9_000 if n == 1 else 5_000,
            donor=None,
            purpose=None,
            donated_on=TODAY,
        )
        await warm(sessions)
        outcomes = await asyncio.gather(
            *(
                funds.allocate(
                    UnitOfWork(sessions),
                    m.charity_admin,
                    fund_id=m.fund_id,
                    project_id=m.elderly.id,
                    amount_fen=5_000,
                    purpose=None,
                )
                for _ in range(2)
            ),
            return_exceptions=True,
        )
        refused = [o for o in outcomes if isinstance(o, Conflict)]
        assert len(refused) == 1 and refused[0].reason == "fund_insufficient", outcomes
        st = (await funds.statement(uow, fund_id=m.fund_id)).statement
        balanced(st)
        assert (st.donated, st.allocated, st.balance) == (4_000 + 5_000 * n, 5_000 * n, 4_000)
        assert await count(uow, FundAllocation) == n


async def test_an_offer_ends_with_its_last_day_in_the_community_not_in_utc(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = await cast(uow)
    need_id = await file_need(uow, c)
    last_day = date(2026, 12, 7)
    resource = await post(uow, c.worker(), c.world.community_a1, available_until=last_day)
    # 07:00 on 8 December in Chongqing, still 7 December in UTC: the offer has ended.
    set_clock(monkeypatch, datetime(2026, 12, 7, 23, 0, tzinfo=UTC), resources)
    with pytest.raises(Conflict, match="resource_expired"):
        await resources.reserve(
            uow, c.worker(), resource_id=resource.id, quantity=1, need_id=need_id
        )
