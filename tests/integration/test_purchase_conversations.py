"""Government purchase of services (四.(三)) in chat, through the real Dispatcher: a street admin
records a purchase with milestones, the provider reports with evidence counted from the records,
the buyer accepts (a member of the provider never does) and pays after a confirmation, the
performance evaluation is kept with the project's results, and the statements are readable."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import OrganisationType, RegistrationStatus, Role, ScopeLevel
from bot.domain.errors import Conflict, PermissionDenied
from bot.domain.needs import Beneficiary, NeedCategory, NeedState, Urgency
from bot.domain.principal import Grant, Place, Principal
from bot.domain.projects import ProjectState
from bot.domain.purchases import FundingSource, MilestoneSpec
from bot.services import organisations, purchases
from bot.services.ports import RecordingNotifier
from bot.services.purchases import NewPurchase
from storage.models import Need, Project, PurchasePayment, RoleGrant
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import make_map, make_person

BUYER, PROVIDER, DUAL, WORKER = 8201, 8202, 8203, 8204


@pytest.fixture
async def chat(engine: AsyncEngine) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


@dataclass
class World:
    street: int
    district: int
    buyer: Principal
    provider: Principal
    organisation: int


def files(chat: ChatHarness, user: int) -> dict[str, bytes]:
    return {f.filename: f.content for f in chat.hub.files.values() if f.chat_id == user}


async def setting(uow: UnitOfWork) -> World:
    w = await make_map(uow)
    street = ((Role.STREET_ADMIN, ScopeLevel.STREET, w.street_a),)
    buyer_id = await make_person(
        uow, "街道李科长", community=w.community_a1, grants=street, web_id=BUYER
    )
    buyer = Principal(
        buyer_id, "zh", grants=(Grant(Role.STREET_ADMIN, ScopeLevel.STREET, w.street_a),)
    )
    person = await make_person(uow, "乐龄负责人", community=w.community_a1, web_id=PROVIDER)
    home = Place(w.community_a1, w.street_a, w.district)
    org = await organisations.register(
        uow,
        RecordingNotifier(),
        Principal(person, "zh", home=home),
        name="乐龄社工站",
        type=OrganisationType.SOCIAL_WORK_AGENCY,
        registration=RegistrationStatus.REGISTERED,
        registration_number="渝民 12",
        contact="13900139000",
    )
    await organisations.verify(
        uow, RecordingNotifier(), buyer, organisation_id=org.id, approve=True
    )
    grant = Grant(Role.ORG_ADMIN, ScopeLevel.COMMUNITY, w.community_a1, organisation_id=org.id)
    # Someone who is both a buyer of the street and a member of the provider.
    dual = await make_person(
        uow, "兼职的张干事", community=w.community_a1, grants=street, web_id=DUAL
    )
    community = ((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    await make_person(uow, "社区韩老师", community=w.community_a1, grants=community, web_id=WORKER)
    resident = await make_person(uow, "王奶奶", community=w.community_a1)
    now = utcnow()
    async with uow:
        await uow.grants.add(
            RoleGrant(
                person_id=dual,
                role=Role.ORG_MEMBER,
                scope_level=ScopeLevel.COMMUNITY,
                community_id=w.community_a1,
                organisation_id=org.id,
            )
        )
        # A request the provider handled in the period: the evidence counts it.
        await uow.needs.add(
            Need(
                reference="A1-2026-9001",
                community_id=w.community_a1,
                resident_id=resident,
                category=NeedCategory.ELDERLY_CARE,
                description="需要助餐",
                urgency=Urgency.NORMAL,
                beneficiary=Beneficiary.SELF,
                state=NeedState.RESOLVED,
                created_at=now - timedelta(days=2),
                updated_at=now,
                due_at=now,
                remind_at=now,
                assignee_organisation_id=org.id,
                resolved_at=now - timedelta(hours=1),
            )
        )
        await uow.commit()
    return World(
        w.street_a, w.district, buyer, Principal(person, "zh", home=home, grants=(grant,)), org.id
    )


def _period() -> str:
    today = utcnow().date()
    return f"{today - timedelta(days=30)} {today + timedelta(days=300)}"


async def _record_in_chat(chat: ChatHarness) -> None:
    await chat.send(BUYER, "/newpurchase")
    await chat.tap(BUYER, "甲街道")
    await chat.send(BUYER, "社区养老服务")
    await chat.tap(BUYER, "乐龄社工站")
    await chat.send(BUYER, "120000")
    await chat.tap(BUYER, "福彩公益金")
    await chat.send(BUYER, _period())
    await chat.send(BUYER, "需求调研报告 30；中期服务 40；结项报告 30")
    assert "登记这项购买服务吗" in chat.last_text(BUYER)
    await chat.tap(BUYER, "确认")


async def _open(chat: ChatHarness, web_id: int) -> None:
    await chat.send(web_id, "/purchases")
    await chat.tap(web_id, "G1")


async def test_milestones_reported_accepted_paid_then_evaluated_with_statements(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await setting(uow)
    await _record_in_chat(chat)
    assert "1. 需求调研报告 — 30%（¥36,000）：待报告" in chat.last_text(BUYER)
    assert "承接方：乐龄社工站 · ¥120,000，资金来源：福彩公益金" in chat.last_text(BUYER)

    await _open(chat, PROVIDER)
    await chat.tap(PROVIDER, "报告第 1 个节点")
    await chat.send(PROVIDER, "完成需求调研，报告已提交")
    assert "佐证：办结诉求 1 件，服务 0 小时，服务 1 人" in chat.last_text(PROVIDER)

    await _open(chat, BUYER)
    await chat.tap(BUYER, "验收第 1 个节点")
    await chat.tap(BUYER, "支付第 1 个节点")
    assert "今天记录 G1 “需求调研报告” 的付款 ¥36,000 吗？" in chat.last_text(BUYER)
    await chat.tap(BUYER, "确认")
    assert "已付 ¥36,000，待付 ¥84,000" in chat.last_text(BUYER)

    for milestone in (2, 3):
        await _open(chat, PROVIDER)
        await chat.tap(PROVIDER, f"报告第 {milestone} 个节点")
        await chat.send(PROVIDER, "按计划完成")
        await _open(chat, BUYER)
        await chat.tap(BUYER, f"验收第 {milestone} 个节点")
    await _open(chat, BUYER)
    await chat.tap(BUYER, "绩效评估")
    await chat.send(BUYER, "服务人次 40 90；满意度 30")
    assert "权重合计 100" in chat.last_text(BUYER)
    await chat.send(BUYER, "服务人次 40 90；满意度 30 80；资料规范 30 70")
    await chat.send(BUYER, "服务到位，资料齐全")
    assert "绩效评估已记入项目成效" in chat.screens(BUYER)[-2]
    assert "绩效评估：81.00 分" in chat.last_text(BUYER)

    async with uow:
        paid = (await uow.session.scalars(select(PurchasePayment))).all()
        assert [p.amount_fen for p in paid] == [3_600_000]
        project = (await uow.session.scalars(select(Project))).one()
        assert project.state is ProjectState.EVALUATED
        evaluation = await uow.projects.evaluation(project.id)
        assert evaluation is not None and evaluation.summary == "服务到位，资料齐全"

    await chat.tap(BUYER, "收支明细（XLSX）")
    await chat.tap(BUYER, "收支明细（CSV）")
    sent = files(chat, BUYER)
    book = load_workbook(io.BytesIO(sent["purchase-G1.xlsx"]))
    assert [s.title for s in book.worksheets] == ["购买服务", "节点"]
    totals = [[c.value for c in row] for row in book["购买服务"].iter_rows()]
    assert totals[1][:7] == ["G1", "社区养老服务", "乐龄社工站", "福彩公益金", 120000, 36000, 84000]
    assert totals[1][7] == "81.00"
    milestones = [[c.value for c in row] for row in book["节点"].iter_rows()]
    assert milestones[1][4:9] == ["需求调研报告", 30, 36000, "已支付", 1]
    rows = list(csv.reader(io.StringIO(sent["purchase-G1.csv"].decode("utf-8-sig"))))
    assert rows[0][0] == "购买项目" and rows[1][4] == "需求调研报告"

    await chat.send(BUYER, "/purchases")
    await chat.tap(BUYER, "按资金来源的对账单")
    await chat.tap(BUYER, "福彩公益金")
    by_source = load_workbook(io.BytesIO(files(chat, BUYER)["purchases-welfare_lottery.xlsx"]))
    assert by_source["购买服务"]["A2"].value == "G1"
    assert world.organisation


async def test_a_provider_cannot_accept_its_own_milestone(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await setting(uow)
    await _record_in_chat(chat)
    await _open(chat, PROVIDER)
    await chat.tap(PROVIDER, "报告第 1 个节点")
    await chat.send(PROVIDER, "完成")
    # The provider's admin is offered no acceptance…
    await _open(chat, PROVIDER)
    with pytest.raises(AssertionError, match="no button"):
        chat.find_button(PROVIDER, "验收")
    # …and one who is a buyer and a member of the provider is refused when they try.
    await _open(chat, DUAL)
    await chat.tap(DUAL, "验收第 1 个节点")
    assert "承接方不能验收自己的节点" in " ".join(chat.alerts(DUAL) + chat.screens(DUAL))
    view = await purchases.view(uow, world.buyer, purchase_id=1)
    assert view.milestones[0].state.value == "reported"
    with pytest.raises(Conflict, match="milestone_own_acceptance"):
        await purchases.accept_milestone(uow, world.provider, milestone_id=view.milestones[0].id)


async def test_the_payment_waits_for_its_confirmation_and_cancel_pays_nothing(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    await setting(uow)
    await _record_in_chat(chat)
    await _open(chat, PROVIDER)
    await chat.tap(PROVIDER, "报告第 1 个节点")
    await chat.send(PROVIDER, "/cancel")
    assert "取消" in chat.last_text(PROVIDER)
    await chat.tap(PROVIDER, "报告第 1 个节点")
    await chat.send(PROVIDER, "完成")
    await _open(chat, BUYER)
    await chat.tap(BUYER, "验收第 1 个节点")
    await chat.tap(BUYER, "支付第 1 个节点")
    await chat.tap(BUYER, "取消")
    assert chat.last_text(BUYER) == "已取消，未记录付款。"
    async with uow:
        assert (await uow.session.scalars(select(PurchasePayment))).all() == []


async def test_wrong_input_is_asked_again_and_a_community_worker_cannot_buy(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await setting(uow)
    await chat.send(WORKER, "/newpurchase")
    assert chat.last_text(WORKER) == "只有街道和区县管理员可以登记政府购买服务。"
    await chat.send(BUYER, "/newpurchase")
    await chat.tap(BUYER, "甲街道")
    await chat.send(BUYER, "社区养老服务")
    await chat.tap(BUYER, "乐龄社工站")
    await chat.send(BUYER, "十二万")
    assert "12000" in chat.last_text(BUYER)
    await chat.send(BUYER, "120000")
    await chat.tap(BUYER, "一般公共预算")
    await chat.send(BUYER, "明年")
    assert chat.last_text(BUYER) == "请发送两个日期，例如 2027-01-01 2027-12-31。"
    await chat.send(BUYER, _period())
    await chat.send(BUYER, "需求调研报告 30；结项报告 30")
    assert "比例合计 100" in chat.last_text(BUYER)
    spec = NewPurchase(
        level=ScopeLevel.DISTRICT,
        scope_id=world.district,
        service="区级服务",
        provider_id=world.organisation,
        amount_fen=100,
        source=FundingSource.OTHER,
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 12, 31),
        milestones=[MilestoneSpec("结项", 100)],
    )
    with pytest.raises(PermissionDenied):  # a street admin does not buy for the district
        await purchases.create(uow, world.buyer, spec)


async def test_in_english_the_purchase_reads_in_english(chat: ChatHarness, uow: UnitOfWork) -> None:
    world = await setting(uow)
    async with uow:
        person = await uow.people.get(world.buyer.person_id)
        assert person is not None
        person.locale = "en"
        await uow.commit()
    await chat.send(BUYER, "/newpurchase", "en")
    await chat.tap(BUYER, "Street A", "en")
    await chat.send(BUYER, "Home care for elders", "en")
    await chat.tap(BUYER, "乐龄社工站", "en")
    await chat.send(BUYER, "120000", "en")
    await chat.tap(BUYER, "Social assistance fund", "en")
    await chat.send(BUYER, _period(), "en")
    await chat.send(BUYER, "survey 30; service 70", "en")
    await chat.tap(BUYER, "Confirm", "en")
    text = chat.last_text(BUYER)
    assert "Provider: 乐龄社工站 · ¥120,000 from Social assistance fund (社会救助专项资金)" in text
    assert "2. service — 70% (¥84,000): to report" in text
