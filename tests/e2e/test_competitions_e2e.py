"""A call for proposals (三.(四)) through the real bot process and the fake Bot API: the street
admin opens it, two organisations put their drafts forward, three reviewers score (the one of a
proposing organisation is excluded from it), the panel closes, the results are published and the
award is an allocation of the call's fund. Organisations, the fund and the drafts are seeded
through the services (their own flows have their own tests)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from bot.domain.enums import Channel, OrganisationType, RegistrationStatus, Role, ScopeLevel
from bot.domain.needs import NeedCategory
from bot.domain.principal import Grant, Principal
from bot.domain.projects import ProjectKind, ProjectState
from bot.services import funds, organisations, projects
from bot.services.ports import RecordingNotifier
from storage.db import make_engine, make_session_factory
from storage.models import ChannelAccount, Competition, FundAllocation, Project
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.e2e.test_needs_e2e import onboard, tap
from tests.e2e.test_volunteers_e2e import said
from tests.support.fake_telegram import FakeTelegram

ADMIN, ORG_A, ORG_B, R1, R2, R3 = 9601, 9602, 9603, 9604, 9605, 9606


class Store:
    """The bot's database, opened by the test process for seeding and for the assertions."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.factory = make_session_factory(self.engine)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.factory)

    async def person(self, telegram_id: int) -> int:
        async with self.uow() as uow:
            query = select(ChannelAccount.person_id).where(
                ChannelAccount.channel == Channel.TELEGRAM,
                ChannelAccount.external_id == str(telegram_id),
            )
            return int((await uow.session.scalars(query)).one())


async def organisation(
    store: Store, verifier: Principal, telegram_id: int, name: str, kind: OrganisationType
) -> Principal:
    person = await store.person(telegram_id)
    async with store.uow() as uow:
        home = await uow.places.place(1)  # 磁器口社区, where everyone was onboarded
    view = await organisations.register(
        store.uow(),
        RecordingNotifier(),
        Principal(person, "zh", home=home),
        name=name,
        type=kind,
        registration=RegistrationStatus.FILED,
        registration_number="沙备字 9",
        contact="13900139000",
    )
    await organisations.verify(
        store.uow(), RecordingNotifier(), verifier, organisation_id=view.id, approve=True
    )
    return Principal(
        person,
        "zh",
        grants=(Grant(Role.ORG_ADMIN, ScopeLevel.COMMUNITY, 1, organisation_id=view.id),),
    )


async def draft(store: Store, owner: Principal, title: str) -> int:
    view = await projects.draft(
        store.uow(),
        owner,
        organisation_id=owner.grants[0].organisation_id,
        title=title,
        purpose="为老服务",
        kind=ProjectKind.MICRO_VENTURE,
        categories=[NeedCategory.ELDERLY_CARE],
        community_ids=[1],
        budget_fen=3_000_000,
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 6, 30),
        major=False,
    )
    return view.id


async def seed(store: Store, bot: Any) -> tuple[int, int]:
    bot.cli(
        "admin", "grant", "--telegram-id", str(ADMIN), "--role", "street_admin", "--street", "1"
    )
    admin = Principal(
        await store.person(ADMIN), "zh", grants=(Grant(Role.STREET_ADMIN, ScopeLevel.STREET, 1),)
    )
    org_a = await organisation(
        store, admin, ORG_A, "磁器口乐龄互助会", OrganisationType.COMMUNITY_SOCIAL_ORG
    )
    org_b = await organisation(
        store, admin, ORG_B, "沙坪坝知心社工", OrganisationType.SOCIAL_WORK_AGENCY
    )
    holder = await organisation(
        store, admin, R3, "磁器口爱心基金会", OrganisationType.COMMUNITY_FOUNDATION
    )
    assert holder.grants[0].organisation_id and org_a.grants[0].organisation_id
    fund = await funds.create(
        store.uow(), holder, organisation_id=holder.grants[0].organisation_id, name="磁器口社区基金"
    )
    await funds.donate(
        store.uow(), holder, fund_id=fund, amount_fen=10_000_000, donor=None, purpose=None,
        donated_on=date(2026, 11, 1),
    )  # fmt: skip
    # Reviewer 1 belongs to the first organisation: a conflict of interest.
    bot.cli(
        "admin", "grant", "--telegram-id", str(R1), "--role", "org_member", "--community", "1",
        "--organisation", str(org_a.grants[0].organisation_id),
    )  # fmt: skip
    return await draft(store, org_a, "老年助餐"), await draft(store, org_b, "长者心理疏导")


async def propose(fake: FakeTelegram, user: int, lines: str) -> None:
    fake.user_sends(user, "/calls")
    await tap(fake, user, "项目征集（微创投", "C1 2027 磁器口微创投 · 申报中")
    await tap(fake, user, "申报对象", "申报或修改申报")
    message = await said(fake, user, "申报哪个草稿项目")
    fake.user_clicks(
        user, message["message_id"], message["reply_markup"]["inline_keyboard"][0][0]["text"]
    )
    await said(fake, user, "请写预算明细")
    fake.user_sends(user, lines)
    await tap(fake, user, "回应需求清单", "无")
    await said(fake, user, "预期成效")
    fake.user_sends(user, "服务 200 位老人")
    await tap(fake, user, "申请 ¥", "确认")
    await said(fake, user, "申报已提交")


async def score_both(fake: FakeTelegram, user: int, first: str | None, second: str) -> None:
    fake.user_sends(user, "/calls")
    await tap(fake, user, "项目征集（微创投", "C1 2027 磁器口微创投 · 评审中")
    await tap(fake, user, "评审组", "为申报项目打分")
    shown = [await said(fake, user, "老年助餐（"), await said(fake, user, "长者心理疏导（")]
    for message, scores in zip(shown, (first, second), strict=True):
        if scores is None:
            assert "须回避" in message["text"]
            continue
        fake.user_clicks(user, message["message_id"], "打分")
        await said(fake, user, "请按顺序为每项标准打")
        fake.user_sends(user, scores)
        await said(fake, user, "评分已保存")


async def test_a_call_from_opening_to_awards_in_the_ledger(
    fake_telegram: FakeTelegram, start_bot: Any, e2e_database_url: str
) -> None:
    fake = fake_telegram
    bot = await start_bot(BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)
    for user, name in (
        (ADMIN, "王主任"),
        (ORG_A, "刘会长"),
        (ORG_B, "陈社工"),
        (R1, "评审一"),
        (R2, "评审二"),
        (R3, "评审三"),
    ):
        await onboard(fake, user, name)
    store = Store(e2e_database_url)
    try:
        project_a, project_b = await seed(store, bot)

        fake.user_sends(ADMIN, "/newcall")
        await tap(fake, ADMIN, "由哪个单位发起征集", "磁器口街道")
        await said(fake, ADMIN, "征集的名称")
        fake.user_sends(ADMIN, "2027 磁器口微创投")
        await said(fake, ADMIN, "主题")
        fake.user_sends(ADMIN, "为老服务小项目")
        await said(fake, ADMIN, "预算是多少元")
        fake.user_sends(ADMIN, "50000")
        await tap(fake, ADMIN, "由哪个基金拨付", "磁器口社区基金（余额 ¥100,000）")
        await tap(fake, ADMIN, "哪些组织可以申报", "社区社会组织")
        await fake.wait_for_call("editMessageReplyMarkup")
        fake.user_clicks(ADMIN, fake.last_bot_message(ADMIN)["message_id"], "社工机构")
        await fake.wait_for_call("editMessageReplyMarkup")
        fake.user_clicks(ADMIN, fake.last_bot_message(ADMIN)["message_id"], "下一步 »")
        await said(fake, ADMIN, "请写评分标准")
        fake.user_sends(ADMIN, "创新性 30，需求契合 40，可行性 30")
        await said(fake, ADMIN, "申报截止到哪一天")
        fake.user_sends(ADMIN, "明天")
        await said(fake, ADMIN, "评审截止到哪一天")
        fake.user_sends(ADMIN, "后天")
        await tap(fake, ADMIN, "是否请居民投票", "不设居民投票")
        await tap(fake, ADMIN, "发起本次征集", "确认")
        await said(fake, ADMIN, "征集 C1 已发起并发布公告")
        await said(fake, ORG_B, "📣 项目征集：2027 磁器口微创投")  # the outbox delivered it

        await propose(fake, ORG_A, "场地 10000；物资 15000")
        await propose(fake, ORG_B, "督导 20000；活动 10000")

        fake.user_sends(ADMIN, "/calls")
        await tap(fake, ADMIN, "项目征集（微创投", "C1 2027 磁器口微创投 · 申报中")
        await tap(fake, ADMIN, "2 份申报", "指定评审专家")
        await said(fake, ADMIN, "评审专家的人员编号")
        for user, panel in (
            (R1, "评审一。"),
            (R2, "评审一、评审二。"),
            (R3, "评审一、评审二、评审三。"),
        ):
            fake.user_sends(ADMIN, str(await store.person(user)))
            await said(fake, ADMIN, f"评审组：{panel}")
        fake.user_sends(ADMIN, "/cancel")

        async with store.uow() as uow:  # the proposal deadline passes
            await uow.session.execute(
                update(Competition).values(proposals_due_at=utcnow() - timedelta(minutes=1))
            )
            await uow.commit()
        await score_both(fake, R1, None, "80 80 80")
        await score_both(fake, R2, "90 90 90", "70 70 70")
        await score_both(fake, R3, "80 80 80", "60 70 80")

        fake.user_sends(ADMIN, "/calls")
        await tap(fake, ADMIN, "项目征集（微创投", "C1 2027 磁器口微创投 · 评审中")
        await tap(fake, ADMIN, "评审组：评审一", "结束评审")
        ranking = await said(fake, ADMIN, "评审已结束")
        assert "1. 老年助餐（磁器口乐龄互助会）— 85.00 分，¥25,000：获得资助" in ranking["text"]
        assert "2. 长者心理疏导（沙坪坝知心社工）— 73.33 分，¥0：预算不足" in ranking["text"]
        fake.user_clicks(ADMIN, ranking["message_id"], "发布结果")
        await tap(fake, ADMIN, "发布这一排名吗", "确认")
        await said(fake, ADMIN, "已发布。基金共拨付 ¥25,000")

        async with store.uow() as uow:
            allocations = (await uow.session.scalars(select(FundAllocation))).all()
            assert [(a.project_id, a.amount_fen) for a in allocations] == [(project_a, 2_500_000)]
            states = dict((await uow.session.execute(select(Project.id, Project.state))).all())
            assert states[project_a] is ProjectState.APPROVED
            assert states[project_b] is ProjectState.DRAFT
    finally:
        await store.engine.dispose()
