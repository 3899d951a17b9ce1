"""A government purchase of services (四.(三)) through the real bot process and the fake Bot API:
the street admin records it with two milestones, the provider reports each, the buyer accepts and
pays the first after a confirmation, then evaluates; the payment is in the purchase's ledger and
the evaluation with the project's results. The provider organisation is seeded by the services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.domain.enums import OrganisationType, Role, ScopeLevel
from bot.domain.principal import Grant, Principal
from bot.domain.projects import ProjectState
from storage.models import Project, ProjectEvaluation, PurchasePayment
from storage.types import utcnow
from tests.e2e.test_competitions_e2e import Store, organisation
from tests.e2e.test_needs_e2e import onboard, tap
from tests.e2e.test_volunteers_e2e import said
from tests.support.fake_telegram import FakeTelegram

BUYER, PROVIDER = 9701, 9702


async def report(fake: FakeTelegram, n: int) -> None:
    fake.user_sends(PROVIDER, "/purchases")
    await tap(fake, PROVIDER, "政府购买服务：", "G1 社区养老服务 · 磁器口乐龄社工站")
    await tap(fake, PROVIDER, "承接方：", f"报告第 {n} 个节点")
    await said(fake, PROVIDER, "交付了什么")
    fake.user_sends(PROVIDER, "按计划完成")
    await said(fake, PROVIDER, "已报告，等待购买方验收")


async def open_as_buyer(fake: FakeTelegram, button: str) -> None:
    fake.user_sends(BUYER, "/purchases")
    await tap(fake, BUYER, "政府购买服务：", "G1 社区养老服务 · 磁器口乐龄社工站")
    await tap(fake, BUYER, "承接方：", button)


async def test_milestones_then_payment_then_evaluation(
    fake_telegram: FakeTelegram, start_bot: Any, e2e_database_url: str
) -> None:
    fake = fake_telegram
    bot = await start_bot(BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)
    await onboard(fake, BUYER, "李科长")
    await onboard(fake, PROVIDER, "乐龄站长")
    bot.cli(
        "admin", "grant", "--telegram-id", str(BUYER), "--role", "street_admin", "--street", "1"
    )
    store = Store(e2e_database_url)
    try:
        buyer = Principal(
            await store.person(BUYER),
            "zh",
            grants=(Grant(Role.STREET_ADMIN, ScopeLevel.STREET, 1),),
        )
        await organisation(
            store, buyer, PROVIDER, "磁器口乐龄社工站", OrganisationType.SOCIAL_WORK_AGENCY
        )
        today = utcnow().date()
        fake.user_sends(BUYER, "/newpurchase")
        await tap(fake, BUYER, "由哪个单位购买", "磁器口街道")
        await said(fake, BUYER, "购买什么服务")
        fake.user_sends(BUYER, "社区养老服务")
        await tap(fake, BUYER, "由哪个组织承接", "磁器口乐龄社工站")
        await said(fake, BUYER, "合同金额")
        fake.user_sends(BUYER, "80000")
        await tap(fake, BUYER, "资金来源是什么", "一般公共预算")
        await said(fake, BUYER, "服务期限")
        fake.user_sends(BUYER, f"{today - timedelta(days=10)} {today + timedelta(days=200)}")
        await said(fake, BUYER, "请写节点")
        fake.user_sends(BUYER, "需求调研 40；结项报告 60")
        await tap(fake, BUYER, "登记这项购买服务吗", "确认")
        await said(fake, BUYER, "购买服务 G1 已登记")

        await report(fake, 1)
        await open_as_buyer(fake, "验收第 1 个节点")
        accepted = await said(fake, BUYER, "已验收，待支付")
        fake.user_clicks(BUYER, accepted["message_id"], "支付第 1 个节点")
        await tap(fake, BUYER, "的付款 ¥32,000 吗", "确认")
        paid = await said(fake, BUYER, "已付 ¥32,000，待付 ¥48,000")
        assert "1. 需求调研 — 40%（¥32,000）：已支付" in paid["text"]

        await report(fake, 2)
        await open_as_buyer(fake, "验收第 2 个节点")
        evaluable = await said(fake, BUYER, "2. 结项报告 — 60%（¥48,000）：已验收，待支付")
        fake.user_clicks(BUYER, evaluable["message_id"], "绩效评估")
        await said(fake, BUYER, "请写评估指标")
        fake.user_sends(BUYER, "服务人次 50 90；满意度 50 80")
        await said(fake, BUYER, "评估结论")
        fake.user_sends(BUYER, "服务到位")
        await said(fake, BUYER, "绩效评估：85.00 分")

        async with store.uow() as uow:
            payments = (await uow.session.scalars(select(PurchasePayment))).all()
            assert [p.amount_fen for p in payments] == [3_200_000]
            project = (await uow.session.scalars(select(Project))).one()
            assert project.state is ProjectState.EVALUATED
            evaluation = await uow.session.get(ProjectEvaluation, project.id)
            assert evaluation is not None and evaluation.summary == "服务到位"
    finally:
        await store.engine.dispose()
