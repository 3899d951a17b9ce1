"""Broadcasts and emergency mode through the real bot process and the fake Bot API server:
a project call to the volunteers who fit the project, signed up from its button, with progress
and the report; a sender killed with SIGKILL half-way and restarted; emergency mode on and off
with the roll-call."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.domain.broadcasts import DeliveryState
from bot.domain.enums import OrganisationType, RegistrationStatus
from bot.domain.local_time import local_today
from bot.domain.projects import ProjectKind, ProjectState
from bot.domain.volunteers import Skill
from storage.db import make_engine, make_session_factory
from storage.models import (
    AuditEntry,
    ChannelAccount,
    Community,
    Organisation,
    OutboxMessage,
    Person,
    Project,
    ProjectCommunity,
    Shift,
)
from storage.uow import UnitOfWork
from tests.e2e.test_matching_e2e import make_volunteer
from tests.e2e.test_needs_e2e import onboard, tap
from tests.e2e.test_volunteers_e2e import said, tap_containing
from tests.support.fake_telegram import FakeTelegram

WORKER, FITS, DOES_NOT_FIT, RESIDENT = 9501, 9502, 9503, 9504
NOTICE = "停水通知：明天 9 点到 12 点停水。"


async def published_project(database_url: str) -> int:
    """An elderly-care project of a verified organisation, recruiting, with one shift."""
    engine = make_engine(database_url)
    try:
        uow = UnitOfWork(make_session_factory(engine))
        async with uow:
            community = (
                await uow.session.scalars(select(Community).where(Community.name == "磁器口社区"))
            ).one()
            now = datetime.now(UTC)
            organisation = Organisation(
                name="夕阳红服务社",
                type=OrganisationType.COMMUNITY_SOCIAL_ORG,
                registration=RegistrationStatus.FILED,
                community_id=community.id,
                verified_at=now,
            )
            uow.session.add(organisation)
            await uow.session.flush()
            project = Project(
                organisation_id=organisation.id,
                created_by=1,
                community_id=community.id,
                title="陪老人散步",
                purpose="每周陪独居老人散步",
                kind=ProjectKind.SERVICE,
                categories=["elderly_care"],
                budget_fen=0,
                starts_on=local_today(),
                ends_on=local_today() + timedelta(days=60),
                state=ProjectState.PUBLISHED,
            )
            uow.session.add(project)
            await uow.session.flush()
            uow.session.add(ProjectCommunity(project_id=project.id, community_id=community.id))
            uow.session.add(
                Shift(
                    community_id=community.id,
                    created_by=1,
                    title="周六陪散步",
                    place="磁器口社区活动室",
                    starts_at=now + timedelta(days=2),
                    ends_at=now + timedelta(days=2, hours=2),
                    capacity=5,
                    skills=[],
                    project_id=project.id,
                )
            )
            await uow.commit()
            return project.id
    finally:
        await engine.dispose()


async def outbox_states(database_url: str) -> Counter[DeliveryState]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(OutboxMessage.state))
            return Counter(DeliveryState(s) for (s,) in rows)
    finally:
        await engine.dispose()


async def people_setting(fake: FakeTelegram, bot: Any, database_url: str) -> None:
    await onboard(fake, WORKER, "韩主任")
    await onboard(fake, FITS, "王芳")
    await onboard(fake, DOES_NOT_FIT, "Tom", english=True)
    await onboard(fake, RESIDENT, "居民老李")
    bot.cli(
        "admin", "grant", "--telegram-id", str(WORKER), "--role", "community_worker",
        "--community", "1",
    )  # fmt: skip
    await make_volunteer(database_url, FITS, "王芳", Skill.ELDERLY_CARE, 21)
    await make_volunteer(database_url, DOES_NOT_FIT, "Tom", Skill.REPAIRS, 22)


async def test_a_project_call_reaches_the_volunteers_who_fit_and_they_sign_up(
    fake_telegram: FakeTelegram, start_bot: Any, e2e_database_url: str
) -> None:
    fake = fake_telegram
    bot = await start_bot(
        BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url, OUTBOX_PROGRESS_SECONDS="0.3"
    )
    await people_setting(fake, bot, e2e_database_url)
    project_id = await published_project(e2e_database_url)

    fake.user_sends(WORKER, "/broadcast")
    await tap(fake, WORKER, "发给谁", "适合该项目的志愿者")
    await said(fake, WORKER, "哪个项目")
    fake.user_sends(WORKER, f"P{project_id}")
    await tap(fake, WORKER, "发给哪种语言", "所有人")
    await said(fake, WORKER, "请写中文内容")
    fake.user_sends(WORKER, "周六招募陪老人散步的志愿者，欢迎报名！")
    await tap(fake, WORKER, "英文版本", "跳过")
    await tap(fake, WORKER, "可以附一张照片", "跳过")
    await tap(fake, WORKER, "将发送给 1 人", "立即发送")
    await said(fake, WORKER, "正在发送给 1 人")

    call = await said(fake, FITS, "周六招募陪老人散步的志愿者")
    fake.user_clicks(FITS, call["message_id"], "报名")
    await tap(fake, FITS, "陪老人散步", "服务班次——报名")
    await tap(fake, FITS, "周六陪散步", "报名")
    await said(fake, FITS, "您已报名")
    assert not [m for m in fake.bot_messages(DOES_NOT_FIT) if "招募" in m.get("text", "")]

    progress = await said(fake, WORKER, "已发 1 · 失败 0 · 剩余 0 · 共 1")
    assert "群发 #1：已完成" in progress["text"]
    report = await said(fake, WORKER, "群发 #1 报告")
    assert "已送达：1" in report["text"]
    fake.user_sends(WORKER, "/broadcasts")
    await tap(fake, WORKER, "群发 #1：已完成", "报告")
    later = await fake.wait_for_bot_message(WORKER, contains="带来的报名：1")
    assert "已送达：1" in later["text"]


async def test_a_sender_killed_half_way_neither_loses_nor_repeats_a_message(
    fake_telegram: FakeTelegram, start_bot: Any, e2e_database_url: str
) -> None:
    fake = fake_telegram
    env = {
        "BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        "OUTBOX_RATE_TELEGRAM": "20",
        "OUTBOX_LEASE_SECONDS": "5",  # the dead process's claims are taken over sooner
    }
    bot = await start_bot(**env)
    await onboard(fake, WORKER, "韩主任")
    bot.cli(
        "admin", "grant", "--telegram-id", str(WORKER), "--role", "community_worker",
        "--community", "1",
    )  # fmt: skip
    recipients = await many_residents(e2e_database_url, fake, 120)
    fake.user_sends(WORKER, "/broadcast")
    await tap(fake, WORKER, "发给谁", "居民")
    await tap(fake, WORKER, "发给哪种语言", "所有人")
    await said(fake, WORKER, "请写中文内容")
    fake.user_sends(WORKER, NOTICE)
    await tap(fake, WORKER, "英文版本", "跳过")
    await tap(fake, WORKER, "可以附一张照片", "跳过")
    await tap(fake, WORKER, "加一个按钮吗", "不加按钮")
    await tap(fake, WORKER, "将发送给", "立即发送")

    def delivered() -> Counter[int]:
        return Counter(
            int(c["chat_id"]) for c in fake.calls_of("sendMessage") if c["text"] == NOTICE
        )

    started = time.monotonic()
    while len(delivered()) < 40:
        assert time.monotonic() - started < 30, "the broadcast did not start"
        await asyncio.sleep(0.05)
    assert bot.process is not None
    bot.process.kill()  # SIGKILL: no chance to tidy up
    bot.process.wait()
    half = len(delivered())
    assert half < len(recipients)

    await bot.start()  # the same database, a fresh process
    started = time.monotonic()
    while (await outbox_states(e2e_database_url))[DeliveryState.QUEUED] or (
        await outbox_states(e2e_database_url)
    )[DeliveryState.SENDING]:
        assert time.monotonic() - started < 240, await outbox_states(e2e_database_url)
        await asyncio.sleep(0.5)
    counts = delivered()
    states = await outbox_states(e2e_database_url)
    assert max(counts.values()) == 1, "a message was sent twice"
    assert set(states) <= {DeliveryState.SENT, DeliveryState.UNCERTAIN}, states
    # Every resident got it, except a row in flight at the kill that never reached the server
    # (it is reported as uncertain, never sent again).
    missing = [r for r in recipients if counts[r] == 0]
    assert len(missing) <= states[DeliveryState.UNCERTAIN]
    assert half < sum(counts.values())


async def many_residents(database_url: str, fake: FakeTelegram, count: int) -> list[int]:
    engine = make_engine(database_url)
    users = []
    try:
        uow = UnitOfWork(make_session_factory(engine))
        async with uow:
            community = (
                await uow.session.scalars(select(Community).where(Community.name == "磁器口社区"))
            ).one()
            for n in range(count):
                user_id = 700_000 + n
                fake.add_user(user_id, f"R{n}")
                person = Person(display_name=f"R{n}", community_id=community.id, locale="zh")
                uow.session.add(person)
                await uow.session.flush()
                uow.session.add(
                    ChannelAccount(
                        person_id=person.id,
                        channel="telegram",
                        external_id=str(user_id),
                        chat_id=str(user_id),
                    )
                )
                users.append(user_id)
            await uow.commit()
    finally:
        await engine.dispose()
    return users


async def test_emergency_mode_on_and_off_with_the_roll_call(
    fake_telegram: FakeTelegram, start_bot: Any, e2e_database_url: str
) -> None:
    fake = fake_telegram
    bot = await start_bot(BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)
    await people_setting(fake, bot, e2e_database_url)

    fake.user_sends(WORKER, "/emergency")
    await tap(fake, WORKER, "为以下范围开启应急状态", "磁器口社区")
    await said(fake, WORKER, "请用一句话描述紧急情况")
    fake.user_sends(WORKER, "暴雨积水，低洼处居民需要转移")
    await tap(fake, WORKER, "开启应急状态吗", "是的，开启")
    on = await said(fake, WORKER, "应急状态已开启，正在通知 2 名志愿者")
    assert on["text"].startswith("🚨 应急状态：暴雨积水")

    # Every reply to people of the community carries the header; new needs are urgent.
    fake.user_sends(RESIDENT, "/help")
    assert (await said(fake, RESIDENT, "您可以使用")).get("text", "").startswith("🚨 应急状态")

    mobilised = await said(fake, FITS, "社区进入应急状态：暴雨积水")
    fake.user_clicks(FITS, mobilised["message_id"], "我能来")
    english = await said(fake, DOES_NOT_FIT, "Emergency in your community")
    fake.user_clicks(DOES_NOT_FIT, english["message_id"], "I can't")
    await asyncio.sleep(0.5)

    # The volunteer who comes checks in against the emergency shift with the site code.
    fake.user_sends(WORKER, "/sitecode")
    await tap_containing(fake, WORKER, "哪一次服务", "暴雨积水")
    shown = await said(fake, WORKER, "现场签到码")
    code = re.search(r"现场签到码：([A-Z2-9]{6})", shown["caption"])
    assert code is not None
    fake.user_sends(FITS, "/checkin")
    await said(fake, FITS, "正在签到：“暴雨积水")
    fake.user_sends(FITS, code.group(1))
    await said(fake, FITS, "✅ 已于")

    fake.user_sends(WORKER, "/emergency")
    await tap(fake, WORKER, "开始于", "点名")
    roll = await said(fake, WORKER, "点名：暴雨积水")
    assert "能来（1，✅ = 已到场）：王芳 ✅" in roll["text"]
    assert "来不了（1）：Tom" in roll["text"]
    assert "尚未回复（0）" in roll["text"]

    fake.user_sends(WORKER, "/emergency")
    await tap(fake, WORKER, "开始于", "解除应急状态")
    await tap(fake, WORKER, "解除应急状态并通知", "是的，解除")
    await said(fake, WORKER, "应急状态已解除")
    await said(fake, RESIDENT, "应急状态已解除：暴雨积水")
    await said(fake, DOES_NOT_FIT, "The emergency is over")
    fake.user_sends(RESIDENT, "/help")
    assert (await said(fake, RESIDENT, "您可以使用")).get("text", "").startswith("您可以使用")
    engine = make_engine(e2e_database_url)
    try:
        async with engine.connect() as connection:
            actions = (
                await connection.scalars(
                    select(AuditEntry.action)
                    .where(AuditEntry.action.like("emergency.%"))
                    .order_by(AuditEntry.id)
                )
            ).all()
            count = await connection.scalar(select(func.count()).select_from(OutboxMessage))
    finally:
        await engine.dispose()
    assert list(actions) == [
        "emergency.start",
        "emergency.coming",
        "emergency.cannot",
        "emergency.end",
    ]
    assert count == 2 + 4  # the mobilisation, then the end to residents and volunteers
