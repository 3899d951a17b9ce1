"""An organisation's project from registration to evaluation through the real bot process and
the fake Bot API: the organisation registers and is verified, drafts a major-matter project,
the community worker cannot approve it before the party organisation's recorded decision, it is
published, recruits a volunteer who serves (check-in/out, confirmed), runs, completes, and its
results page counts the hours from the records."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.db import make_engine
from storage.models import AuditEntry
from tests.e2e.test_needs_e2e import onboard, tap
from tests.e2e.test_volunteers_e2e import (
    HERE,
    VOLUNTEER,
    move_in_time,
    register_in_english,
    said,
    tap_containing,
)
from tests.support.fake_telegram import FakeTelegram

ORG_ADMIN, WORKER, REVIEWER = 9301, 9302, 9303


async def project_actions(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            query = select(AuditEntry.action).where(AuditEntry.entity == "project")
            return list((await connection.scalars(query.order_by(AuditEntry.id))).all())
    finally:
        await engine.dispose()


async def register_organisation(fake: FakeTelegram) -> None:
    fake.user_sends(ORG_ADMIN, "/org")
    await tap(fake, ORG_ADMIN, "您还没有加入任何组织", "登记组织")
    await said(fake, ORG_ADMIN, "组织全称")
    fake.user_sends(ORG_ADMIN, "磁器口助老服务社")
    await tap(fake, ORG_ADMIN, "组织类型", "社区社会组织")
    await tap(fake, ORG_ADMIN, "在民政部门登记", "已备案")
    await said(fake, ORG_ADMIN, "备案号")
    fake.user_sends(ORG_ADMIN, "沙备字 2025-031")
    await said(fake, ORG_ADMIN, "联系人")
    fake.user_sends(ORG_ADMIN, "刘会长 13900139000")
    await tap(fake, ORG_ADMIN, "请核对", "确认")
    await said(fake, ORG_ADMIN, "登记成功")


async def draft_major_project(fake: FakeTelegram) -> int:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    fake.user_sends(ORG_ADMIN, "/newproject")
    await said(fake, ORG_ADMIN, "项目名称")
    fake.user_sends(ORG_ADMIN, "老年助餐点")
    await said(fake, ORG_ADMIN, "项目目的")
    fake.user_sends(ORG_ADMIN, "为社区独居老人提供午餐和送餐")
    await tap(fake, ORG_ADMIN, "项目类型", "微创投")
    await tap(fake, ORG_ADMIN, "回应哪些需求", "养老服务")
    await fake.wait_for_call("editMessageReplyMarkup")
    fake.user_clicks(ORG_ADMIN, fake.last_bot_message(ORG_ADMIN)["message_id"], "下一步 »")
    await tap(fake, ORG_ADMIN, "服务哪些社区", "下一步 »")
    await said(fake, ORG_ADMIN, "预算多少元")
    fake.user_sends(ORG_ADMIN, "12,000.50")
    await said(fake, ORG_ADMIN, "起止日期")
    fake.user_sends(ORG_ADMIN, f"{today} {today + timedelta(days=90)}")
    await tap(fake, ORG_ADMIN, "重大事项", "是")
    await tap(fake, ORG_ADMIN, "请核对", "确认")
    page = await said(fake, ORG_ADMIN, "老年助餐点")
    number = re.search(r"\(P(\d+)\)", page["text"])
    assert number is not None, page["text"]
    assert "预算 ¥12,000.50" in page["text"] and "等待社区党组织决定" in page["text"]
    return int(number.group(1))


async def test_a_major_matter_project_runs_from_registration_to_evaluation(
    fake_telegram: FakeTelegram, start_bot: Any, e2e_database_url: str
) -> None:
    fake = fake_telegram
    bot = await start_bot(BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)
    for user, name in ((ORG_ADMIN, "刘会长"), (WORKER, "韩主任"), (REVIEWER, "党委周书记")):
        await onboard(fake, user, name)
    await onboard(fake, VOLUNTEER, "Wang", english=True)
    for user, role in ((WORKER, "community_worker"), (REVIEWER, "party_reviewer")):
        bot.cli("admin", "grant", "--telegram-id", str(user), "--role", role, "--community", "1")

    # The organisation registers; the community worker verifies it.
    await register_organisation(fake)
    await said(fake, WORKER, "新组织“磁器口助老服务社”在您的社区登记")
    fake.user_sends(WORKER, "/orgs")
    await tap(fake, WORKER, "磁器口助老服务社", "审核通过")
    await said(fake, ORG_ADMIN, "已通过审核")

    # A major-matter project: the worker cannot approve before the party decision.
    project = await draft_major_project(fake)
    fake.user_clicks(ORG_ADMIN, fake.last_bot_message(ORG_ADMIN)["message_id"], "提交审核")
    await said(fake, ORG_ADMIN, "已提交审核")
    await tap(fake, WORKER, "已提交，请您审核", "打开项目")
    await tap(fake, WORKER, f"(P{project})", "同意")
    alert = await fake.wait_for_call(
        "answerCallbackQuery", predicate=lambda p: "须先由社区党组织记录决定" in p.get("text", "")
    )
    assert alert["show_alert"] is True
    await tap(fake, REVIEWER, "需要社区党组织作出决定", "打开项目")
    await tap(fake, REVIEWER, f"(P{project})", "记录党组织决定")
    await tap(fake, REVIEWER, "社区党组织是否同意", "是")
    await said(fake, REVIEWER, "会议纪要")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    fake.user_sends(REVIEWER, f"{today}\n党委会议讨论同意设立助餐点，经费由微创投资金列支。")
    await said(fake, REVIEWER, "决定已记录")
    await tap(fake, WORKER, "社区党组织已同意重大事项", "打开项目")
    await tap(fake, WORKER, f"(P{project})", "同意")
    await said(fake, ORG_ADMIN, "已审核通过")

    # Published with a shift; the volunteer finds it through the project link and signs up.
    fake.user_sends(ORG_ADMIN, f"/start p_{project}")
    await tap(fake, ORG_ADMIN, f"(P{project})", "发布")
    await fake.wait_for_bot_message(ORG_ADMIN, contains="已发布——招募中")
    fake.user_clicks(ORG_ADMIN, fake.last_bot_message(ORG_ADMIN)["message_id"], "添加服务班次")
    await said(fake, ORG_ADMIN, "服务内容是什么")
    fake.user_sends(ORG_ADMIN, "午餐送餐")
    await said(fake, ORG_ADMIN, "在哪里")
    fake.user_sends(ORG_ADMIN, "助餐点")
    await said(fake, ORG_ADMIN, "300 米")
    fake.user_shares_location(ORG_ADMIN, *HERE)
    await said(fake, ORG_ADMIN, "什么时间")
    fake.user_sends(ORG_ADMIN, f"{today + timedelta(days=1)} 10:30-12:30")
    await tap(fake, ORG_ADMIN, "我理解的时间是", "确认")  # the bot shows what it understood
    await said(fake, ORG_ADMIN, "需要多少名志愿者")
    fake.user_sends(ORG_ADMIN, "3")
    await tap(fake, ORG_ADMIN, "需要哪些特长", "下一步 »")
    await tap(fake, ORG_ADMIN, "请核对", "确认")
    await said(fake, ORG_ADMIN, "班次已发布")

    await register_in_english(fake)
    fake.user_sends(WORKER, "/volunteers")
    await tap_containing(fake, WORKER, "待认证", "Wang Fang")
    await tap(fake, WORKER, "Wang Fang", "已核验证件：通过")
    await said(fake, VOLUNTEER, "You are a verified volunteer now")
    fake.user_sends(VOLUNTEER, f"/start p_{project}")
    await tap(fake, VOLUNTEER, f"(P{project})", "Shifts — sign up")
    await tap(fake, VOLUNTEER, "午餐送餐", "Sign up")
    await said(fake, VOLUNTEER, "You are signed up")

    # It runs; the volunteer serves two hours, the worker confirms the record.
    fake.user_sends(ORG_ADMIN, f"/start p_{project}")
    await tap(fake, ORG_ADMIN, f"(P{project})", "开始实施")
    await fake.wait_for_bot_message(ORG_ADMIN, contains="实施中")
    now = datetime.now(UTC)  # the shift has been running for an hour
    await move_in_time(
        e2e_database_url, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1)
    )
    fake.user_sends(VOLUNTEER, "/checkin")
    await said(fake, VOLUNTEER, "Checking in to")
    fake.user_shares_location(VOLUNTEER, *HERE)
    await said(fake, VOLUNTEER, "✅ Checked in")
    await move_in_time(e2e_database_url, checked_in_at=now - timedelta(hours=1))
    fake.user_sends(VOLUNTEER, "/checkout")
    await said(fake, VOLUNTEER, "Checking out of")
    fake.user_shares_location(VOLUNTEER, *HERE)
    await said(fake, VOLUNTEER, "✅ Checked out of “午餐送餐”: 1 hours")
    fake.user_sends(WORKER, "/records")
    await tap(fake, WORKER, "志愿者：Wang Fang", "确认")
    await said(fake, VOLUNTEER, "The organiser confirmed 1 hours")

    # Completed and evaluated: the results page counts the hours from the record.
    fake.user_sends(ORG_ADMIN, f"/start p_{project}")
    await tap(fake, ORG_ADMIN, f"(P{project})", "结项")
    await fake.wait_for_bot_message(ORG_ADMIN, contains="已结项")
    fake.user_clicks(ORG_ADMIN, fake.last_bot_message(ORG_ADMIN)["message_id"], "项目评估")
    await said(fake, ORG_ADMIN, "服务了多少居民")
    fake.user_sends(ORG_ADMIN, "38")
    await said(fake, ORG_ADMIN, "简要总结")
    fake.user_sends(ORG_ADMIN, "三个月送餐 1200 份，老人反映良好。")
    results = await said(fake, ORG_ADMIN, "项目成效")
    assert "志愿服务：1 名志愿者，1 小时（已确认记录）" in results["text"]
    assert "受益居民：38 人" in results["text"] and "已评估" in results["text"]

    # Anyone sees the results in their own language.
    fake.user_sends(VOLUNTEER, f"/start p_{project}")
    english = await said(fake, VOLUNTEER, "Results")
    assert "Volunteer service: 1 hours by 1 volunteers" in english["text"]
    assert await project_actions(e2e_database_url) == [
        "project.draft",
        "project.submit",
        "project.party_decision",
        "project.approve",
        "project.publish",
        "project.start",
        "project.complete",
        "project.evaluate",
    ]
