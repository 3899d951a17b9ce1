"""Competitions and micro-grants (三.(四)) in chat, through the real Dispatcher: a street admin
opens a call funded from a fund of the ledger, two organisations put their drafts forward (one
revises), a panel of three scores (the one of a proposing organisation is excluded), the panel
closes, the results are published and the awards are allocations of the fund."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.competitions import CallState, Criterion
from bot.domain.enums import OrganisationType, RegistrationStatus, Role, ScopeLevel
from bot.domain.errors import Conflict, PermissionDenied
from bot.domain.needs import NeedCategory
from bot.domain.principal import Grant, Place, Principal
from bot.domain.projects import ProjectKind, ProjectState
from bot.services import competitions, consultations, funds, organisations, projects
from bot.services.competitions import BudgetLine, NewCall
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import RecordingNotifier
from storage.models import (
    Broadcast,
    Competition,
    FundAllocation,
    Project,
    RoleGrant,
)
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person

ADMIN, WORKER, ORG_A, ORG_B, FOUNDATION = 8101, 8102, 8103, 8104, 8105
REVIEWER_A, REVIEWER_2, REVIEWER_3 = 8111, 8112, 8113


@pytest.fixture
async def chat(engine: AsyncEngine) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def _organisation(
    uow: UnitOfWork, world: Map, verifier: Principal, name: str, kind: OrganisationType, web_id: int
) -> Principal:
    person = await make_person(uow, f"{name}负责人", community=world.community_a1, web_id=web_id)
    home = Place(world.community_a1, world.street_a, world.district)
    view = await organisations.register(
        uow,
        RecordingNotifier(),
        Principal(person, "zh", home=home),
        name=name,
        type=kind,
        registration=RegistrationStatus.FILED,
        registration_number="沙备字 1",
        contact="13900139000",
    )
    await organisations.verify(
        uow, RecordingNotifier(), verifier, organisation_id=view.id, approve=True
    )
    grant = Grant(Role.ORG_ADMIN, ScopeLevel.COMMUNITY, world.community_a1, organisation_id=view.id)
    return Principal(person, "zh", home=home, grants=(grant,))


async def _draft(uow: UnitOfWork, world: Map, owner: Principal, title: str) -> int:
    view = await projects.draft(
        uow,
        owner,
        organisation_id=owner.grants[0].organisation_id,
        title=title,
        purpose="为老人服务",
        kind=ProjectKind.MICRO_VENTURE,
        categories=[NeedCategory.ELDERLY_CARE],
        community_ids=[world.community_a1],
        budget_fen=3_000_000,
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 6, 30),
        major=False,
    )
    return view.id


async def _member(uow: UnitOfWork, person_id: int, organisation_id: int, community: int) -> None:
    async with uow:
        await uow.grants.add(
            RoleGrant(
                person_id=person_id,
                role=Role.ORG_MEMBER,
                scope_level=ScopeLevel.COMMUNITY,
                community_id=community,
                organisation_id=organisation_id,
            )
        )
        await uow.commit()


class World:
    def __init__(self, map_: Map, admin: Principal, org_a: Principal, org_b: Principal) -> None:
        self.map, self.admin, self.org_a, self.org_b = map_, admin, org_a, org_b
        self.fund = 0
        self.projects: dict[str, int] = {}
        self.reviewers: dict[int, int] = {}


async def setting(uow: UnitOfWork) -> World:
    world = await make_map(uow)
    street = ((Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),)
    admin_id = await make_person(
        uow, "街道王主任", community=world.community_a1, grants=street, web_id=ADMIN
    )
    admin = Principal(
        admin_id, "zh", grants=(Grant(Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),)
    )
    community = ((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),)
    await make_person(
        uow, "社区韩老师", community=world.community_a1, grants=community, web_id=WORKER
    )
    org_a = await _organisation(
        uow, world, admin, "甲一互助会", OrganisationType.COMMUNITY_SOCIAL_ORG, ORG_A
    )
    org_b = await _organisation(
        uow, world, admin, "乐龄社工站", OrganisationType.SOCIAL_WORK_AGENCY, ORG_B
    )
    holder = await _organisation(
        uow, world, admin, "甲一社区基金会", OrganisationType.COMMUNITY_FOUNDATION, FOUNDATION
    )
    found = World(world, admin, org_a, org_b)
    assert holder.grants[0].organisation_id is not None
    found.fund = await funds.create(
        uow, holder, organisation_id=holder.grants[0].organisation_id, name="甲一社区基金"
    )
    await funds.donate(
        uow,
        holder,
        fund_id=found.fund,
        amount_fen=10_000_000,
        donor="某企业",
        purpose=None,
        donated_on=date(2026, 11, 1),
    )
    found.projects["a"] = await _draft(uow, world, org_a, "老年助餐")
    found.projects["b"] = await _draft(uow, world, org_b, "长者心理疏导")
    for web_id, name in ((REVIEWER_A, "评审甲"), (REVIEWER_2, "评审乙"), (REVIEWER_3, "评审丙")):
        found.reviewers[web_id] = await make_person(
            uow, name, community=world.community_a2, web_id=web_id
        )
    assert org_a.grants[0].organisation_id is not None
    await _member(
        uow, found.reviewers[REVIEWER_A], org_a.grants[0].organisation_id, world.community_a1
    )
    return found


async def _open_call_in_chat(chat: ChatHarness, language: str = "zh") -> None:
    zh = language == "zh"
    await chat.send(ADMIN, "/newcall", language)
    await chat.tap(ADMIN, "甲街道" if zh else "Street A", language)
    await chat.send(ADMIN, "2027 社区微创投", language)
    await chat.send(ADMIN, "为老服务小项目", language)
    await chat.send(ADMIN, "50,000", language)
    await chat.tap(ADMIN, "甲一社区基金", language)
    await chat.tap(ADMIN, "社区社会组织" if zh else "Community social organisation", language)
    await chat.tap(ADMIN, "社工机构" if zh else "Social-work agency", language)
    await chat.tap(ADMIN, "下一步" if zh else "Next", language)
    await chat.send(ADMIN, "创新性 30，需求契合 40，可行性 30", language)
    await chat.send(ADMIN, "明天" if zh else "tomorrow", language)
    await chat.send(ADMIN, "后天" if zh else "in 2 days", language)
    await chat.tap(ADMIN, "不设居民投票" if zh else "No residents' vote", language)
    await chat.tap(ADMIN, "确认" if zh else "Confirm", language)


async def _propose(chat: ChatHarness, web_id: int, lines: str) -> None:
    await chat.send(web_id, "/calls")
    await chat.tap(web_id, "C")
    await chat.tap(web_id, "申报或修改申报")
    await chat.tap(web_id, "P")
    await chat.send(web_id, lines)
    await chat.tap(web_id, "无")
    await chat.send(web_id, "服务 200 位老人，每周两次")
    await chat.tap(web_id, "确认")


def score_buttons(chat: ChatHarness, web_id: int) -> list[tuple[int, str]]:
    """(message, data) of each "打分" button, oldest first (one message per proposal)."""
    found = []
    for message_id, message in sorted(chat.hub.conversation(web_id).messages.items()):
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if button["text"] == "打分":
                    found.append((message_id, button["callback_data"]))
    return found


async def _in_english(uow: UnitOfWork, *people: int) -> None:
    async with uow:
        for person in people:
            row = await uow.people.get(person)
            assert row is not None
            row.locale = "en"
        await uow.commit()


async def _deadline_passes(uow: UnitOfWork) -> None:
    """The proposal deadline passes (the review runs after it)."""
    async with uow:
        await uow.session.execute(
            update(Competition).values(proposals_due_at=utcnow() - timedelta(minutes=1))
        )
        await uow.commit()


async def test_a_call_from_opening_to_awards_in_the_ledger(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await setting(uow)
    await _open_call_in_chat(chat)
    assert "征集 C1 已发起并发布公告" in chat.last_text(ADMIN)
    assert "创新性 30%" in chat.last_text(ADMIN)
    async with uow:
        announced = (await uow.session.scalars(select(Broadcast))).all()
        assert len(announced) == 1 and "项目征集：2027 社区微创投" in announced[0].text_zh
        assert "call for proposals" in announced[0].text_en

    await _propose(chat, ORG_A, "场地 10000；物资 20000")
    assert "申报已提交" in chat.last_text(ORG_A)
    await _propose(chat, ORG_A, "场地 8000；物资 17000")  # revised before the deadline
    assert "申报已修改" in chat.last_text(ORG_A)
    await _propose(chat, ORG_B, "督导 20000；活动 10000")
    assert "申报已提交" in chat.last_text(ORG_B)

    await chat.send(ADMIN, "/calls")
    await chat.tap(ADMIN, "C1")
    await chat.tap(ADMIN, "指定评审专家")
    for person in world.reviewers.values():
        await chat.send(ADMIN, str(person))
    assert "评审甲、评审乙、评审丙" in chat.last_text(ADMIN)
    await chat.send(ADMIN, "/cancel")

    await _deadline_passes(uow)
    # The reviewer of 甲一互助会 sees its proposal marked and without a button; scores the other.
    await chat.send(REVIEWER_A, "/calls")
    await chat.tap(REVIEWER_A, "C1")
    await chat.tap(REVIEWER_A, "为申报项目打分")
    screens = chat.screens(REVIEWER_A)
    assert any("老年助餐" in s and "须回避" in s for s in screens)
    await chat.tap(REVIEWER_A, "打分")
    assert "创新性 30%、需求契合 40%、可行性 30%" in chat.last_text(REVIEWER_A)
    await chat.send(REVIEWER_A, "80 80 80")
    assert "评审结束前不公开" in chat.last_text(REVIEWER_A)
    for web_id, (a, b) in (
        (REVIEWER_2, ("90 90 90", "70 70 70")),
        (REVIEWER_3, ("80 80 80", "60 70 80")),
    ):
        await chat.send(web_id, "/calls")
        await chat.tap(web_id, "C1")
        await chat.tap(web_id, "为申报项目打分")
        first, second = score_buttons(chat, web_id)  # 老年助餐, then 长者心理疏导
        await chat.tap_data(web_id, *first)
        await chat.send(web_id, a)
        await chat.tap_data(web_id, *second)
        await chat.send(web_id, b)

    # Hidden while the panel sits.
    with pytest.raises(Conflict, match="scores_hidden"):
        await competitions.ranking(uow, world.admin, competition_id=1)
    await chat.send(ADMIN, "/calls")
    await chat.tap(ADMIN, "C1")
    await chat.tap(ADMIN, "结束评审")
    ranking = chat.last_text(ADMIN)
    # 老年助餐: (90 + 80) / 2 = 85; 长者心理疏导: (80 + 70 + (18 + 28 + 24)) / 3 = 73.33
    assert "1. 老年助餐（甲一互助会）— 85.00 分，¥25,000：获得资助" in ranking
    assert "2. 长者心理疏导（乐龄社工站）— 73.33 分，¥0：预算不足" in ranking
    await chat.tap(ADMIN, "发布结果")
    assert "发布这一排名吗" in chat.last_text(ADMIN)
    await chat.tap(ADMIN, "确认")
    assert "已发布。基金共拨付 ¥25,000" in chat.last_text(ADMIN)

    async with uow:
        allocations = (await uow.session.scalars(select(FundAllocation))).all()
        assert [(a.project_id, a.amount_fen) for a in allocations] == [
            (world.projects["a"], 2_500_000)
        ]
        states = dict((await uow.session.execute(select(Project.id, Project.state))).all())
        assert states[world.projects["a"]] is ProjectState.APPROVED
        assert states[world.projects["b"]] is ProjectState.DRAFT
        call = await uow.competitions.get(1)
        assert call is not None and call.state is CallState.PUBLISHED
    statement = await funds.statement(uow, fund_id=world.fund)
    assert statement.statement.allocated == 2_500_000
    # Published: anyone sees the ranking, the reasons included.
    await chat.send(ORG_B, "/calls")
    await chat.tap(ORG_B, "C1")
    await chat.tap(ORG_B, "排名")
    assert "预算不足" in chat.last_text(ORG_B)


async def test_a_reviewer_cannot_score_their_own_organisations_proposal(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await setting(uow)
    await _open_call_in_chat(chat)
    await _propose(chat, ORG_A, "场地 10000")
    await chat.send(ADMIN, "/calls")
    await chat.tap(ADMIN, "C1")
    await chat.tap(ADMIN, "指定评审专家")
    await chat.send(ADMIN, str(world.reviewers[REVIEWER_A]))
    await _deadline_passes(uow)
    await chat.send(REVIEWER_A, "/calls")
    await chat.tap(REVIEWER_A, "C1")
    await chat.tap(REVIEWER_A, "为申报项目打分")
    assert "须回避" in chat.last_text(REVIEWER_A)
    assert score_buttons(chat, REVIEWER_A) == []
    # Nor through the service, whatever a forged request says.
    reviewer = Principal(world.reviewers[REVIEWER_A], "zh")
    with pytest.raises(Conflict, match="conflict_of_interest"):
        await competitions.score(uow, reviewer, proposal_id=1, scores=(90, 90, 90))


async def test_a_community_worker_cannot_open_a_call(chat: ChatHarness, uow: UnitOfWork) -> None:
    world = await setting(uow)
    await chat.send(WORKER, "/newcall")
    assert chat.last_text(WORKER) == "只有街道和区县管理员可以发起项目征集。"
    worker = Principal(
        0,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.map.community_a1),),
    )
    spec = NewCall(
        level=ScopeLevel.DISTRICT,
        scope_id=world.map.district,
        title="区级公益创投",
        theme="为老服务",
        budget_fen=1_000_000,
        fund_id=world.fund,
        eligible_types=[OrganisationType.COMMUNITY_SOCIAL_ORG],
        criteria=[Criterion("可行性", 100)],
        proposals_due_at=utcnow() + timedelta(days=3),
        review_due_at=utcnow() + timedelta(days=6),
    )
    with pytest.raises(PermissionDenied):
        await competitions.open_call(uow, worker, spec, texts=("征集", "call"))
    # A street admin cannot open a district call either.
    with pytest.raises(PermissionDenied):
        await competitions.open_call(uow, world.admin, spec, texts=("征集", "call"))


async def test_cancel_at_a_step_and_the_confirmation_saves_nothing_until_confirmed(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    await setting(uow)
    await chat.send(ADMIN, "/newcall")
    await chat.tap(ADMIN, "甲街道")
    await chat.send(ADMIN, "2027 社区微创投")
    await chat.send(ADMIN, "/cancel")
    assert "取消" in chat.last_text(ADMIN)
    await chat.send(ADMIN, "/newcall")
    await chat.tap(ADMIN, "甲街道")
    await chat.send(ADMIN, "标题")
    await chat.send(ADMIN, "主题")
    await chat.send(ADMIN, "很多钱")
    assert "12000" in chat.last_text(ADMIN)  # asked again, with an example
    await chat.send(ADMIN, "1000")
    await chat.tap(ADMIN, "甲一社区基金")
    await chat.tap(ADMIN, "下一步")
    assert chat.last_text(ADMIN) == "请至少选择一类组织。"
    await chat.tap(ADMIN, "社区社会组织")
    await chat.tap(ADMIN, "下一步")
    await chat.send(ADMIN, "创新性 30，可行性 30")
    assert "权重合计 100" in chat.last_text(ADMIN)
    await chat.send(ADMIN, "可行性 100")
    await chat.send(ADMIN, "2020-01-01")
    assert "未过去的日期" in chat.last_text(ADMIN)
    await chat.send(ADMIN, "明天")
    await chat.send(ADMIN, "明天")
    assert chat.last_text(ADMIN) == "评审截止须晚于申报截止。"
    await chat.send(ADMIN, "后天")
    await chat.tap(ADMIN, "占总分 20%")
    await chat.tap(ADMIN, "取消")
    async with uow:
        assert (await uow.session.scalars(select(Competition))).all() == []


async def test_in_english_a_proposal_is_revised_until_the_deadline_then_refused(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await setting(uow)
    await _in_english(uow, world.admin.person_id, world.org_b.person_id)
    await _open_call_in_chat(chat, "en")
    assert "The call C1 is open and announced." in chat.last_text(ADMIN)
    await chat.send(ORG_B, "/calls", "en")
    await chat.tap(ORG_B, "C1", "en")
    await chat.tap(ORG_B, "Submit or revise a proposal", "en")
    await chat.tap(ORG_B, "P", "en")
    await chat.send(ORG_B, "supervision 20000; activities 10000", "en")
    await chat.tap(ORG_B, "None", "en")
    await chat.send(ORG_B, "200 elders served", "en")
    assert "asking for ¥30,000" in chat.last_text(ORG_B)
    await chat.tap(ORG_B, "Confirm", "en")
    assert "Your proposal is in." in chat.last_text(ORG_B)
    await _deadline_passes(uow)
    with pytest.raises(Conflict, match="call_closed"):
        await competitions.submit(
            uow,
            world.org_b,
            competition_id=1,
            project_id=world.projects["b"],
            budget_lines=[BudgetLine("活动", 100)],
            need_references=[],
            expected_results="更多",
        )


async def test_the_residents_vote_counts_as_its_share_of_the_score(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await setting(uow)
    await chat.send(ADMIN, "/newcall")
    await chat.tap(ADMIN, "甲街道")
    for text in ("2027 社区微创投", "为老服务", "50000"):
        await chat.send(ADMIN, text)
    await chat.tap(ADMIN, "甲一社区基金")
    await chat.tap(ADMIN, "社区社会组织")
    await chat.tap(ADMIN, "社工机构")
    await chat.tap(ADMIN, "下一步")
    for text in ("可行性 100", "明天", "后天"):
        await chat.send(ADMIN, text)
    await chat.tap(ADMIN, "占总分 20%")
    await chat.tap(ADMIN, "确认")
    assert "居民投票：占总分 20%" in chat.last_text(ADMIN)
    await _propose(chat, ORG_A, "场地 10000")
    await _propose(chat, ORG_B, "督导 10000")
    await chat.send(ADMIN, "/calls")
    await chat.tap(ADMIN, "C1")
    await chat.tap(ADMIN, "发起居民投票")
    assert "投票结果占总分 20%" in chat.last_text(ADMIN)
    await chat.tap(ADMIN, "指定评审专家")
    await chat.send(ADMIN, str(world.reviewers[REVIEWER_2]))
    await chat.send(ADMIN, "/cancel")

    call = await competitions.view(uow, world.admin, competition_id=1)
    assert call.consultation_id is not None
    found = await consultations.view(uow, world.admin, consultation_id=call.consultation_id)
    option_a = next(o.id for o in found.options if "老年助餐" in o.text)
    home = Place(world.map.community_a1, world.map.street_a, world.map.district)
    voting = utcnow() + timedelta(days=1, hours=1)  # after the day of discussion
    for n in range(3):
        person = await make_person(uow, f"居民{n}", community=world.map.community_a1)
        await consultations.vote(
            uow, PersonalDataCipher(b"test-secret"), Principal(person, "zh", home=home),
            consultation_id=call.consultation_id, option_id=option_a, now=voting,
        )  # fmt: skip

    await _deadline_passes(uow)
    reviewer = Principal(world.reviewers[REVIEWER_2], "zh")
    proposals = {
        p.title: p.id for p in await competitions.proposals(uow, reviewer, competition_id=1)
    }
    await competitions.score(uow, reviewer, proposal_id=proposals["老年助餐"], scores=(80,))
    await competitions.score(uow, reviewer, proposal_id=proposals["长者心理疏导"], scores=(90,))
    await chat.send(ADMIN, "/calls")
    await chat.tap(ADMIN, "C1")
    await chat.tap(ADMIN, "结束评审")
    # 老年助餐: 80 × 0.8 + 3/3 × 20 = 84; 长者心理疏导: 90 × 0.8 + 0 = 72.
    assert "1. 老年助餐（甲一互助会）— 84.00 分" in chat.last_text(ADMIN)
    assert "2. 长者心理疏导（乐龄社工站）— 72.00 分" in chat.last_text(ADMIN)
