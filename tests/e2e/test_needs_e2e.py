"""The needs loop through the real bot process: residents on Telegram and in the browser, a
worker and a social worker on Telegram; and escalation of an overdue need across a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from storage.db import make_engine, make_session_factory
from storage.models import AuditEntry, Need
from tests.support.fake_telegram import FakeTelegram

RESIDENT, WORKER, SOCIAL, STREET_ADMIN = 9100, 9101, 9102, 9103


async def tap(fake: FakeTelegram, user: int, screen: str, button: str) -> None:
    message = await fake.wait_for_bot_message(user, contains=screen)
    fake.user_clicks(user, message["message_id"], button)


async def onboard(fake: FakeTelegram, user: int, name: str, english: bool = False) -> None:
    fake.user_sends(user, "/start", first_name=name, language_code="en" if english else "zh")
    await tap(fake, user, "choose your language", "English" if english else "中文")
    if english:
        path = [
            ("Which community", "Shapingba District"),
            ("Choose a street", "Ciqikou Street"),
            ("Choose a community", "Ciqikou Community"),
        ]
    else:
        path = [
            ("您住在哪个社区", "沙坪坝区"),
            ("请选择街道", "磁器口街道"),
            ("请选择社区", "磁器口社区"),
        ]
    for screen, button in path:
        await tap(fake, user, screen, button)
    await fake.wait_for_bot_message(user, contains="Done!" if english else "完成！")


async def file_on_telegram(fake: FakeTelegram, text: str, urgency: str = "Normal") -> str:
    fake.user_sends(RESIDENT, "/need")
    await tap(fake, RESIDENT, "What is your request about?", "Elderly care")
    await fake.wait_for_bot_message(RESIDENT, contains="Please describe")
    fake.user_sends(RESIDENT, text)
    await tap(fake, RESIDENT, "Or tap Skip", "Skip")
    await tap(fake, RESIDENT, "How urgent", urgency)
    await tap(fake, RESIDENT, "Who is it for?", "Myself")
    await tap(fake, RESIDENT, "someone to come", "No visit needed")
    await tap(fake, RESIDENT, "Please check your request", "Confirm")
    filed = await fake.wait_for_bot_message(RESIDENT, contains="Your request is filed as")
    return filed["text"].split("filed as ")[1].split(".")[0]


async def audit_actions(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session:
            query = select(AuditEntry.action).where(AuditEntry.entity == "need")
            return list((await session.scalars(query.order_by(AuditEntry.id))).all())
    finally:
        await engine.dispose()


async def file_in_browser(browser: Any, url: str) -> str:
    page = await browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        await page.goto(url)

        async def tap_button(label: str) -> None:
            button = page.locator("button.inline-btn", has_text=label).last
            await button.wait_for(timeout=10_000)
            await button.click()

        async def say(text: str) -> None:
            await page.fill("#composer-input", text)
            await page.click("#composer-send")

        await say("/start")
        for label in ("中文", "沙坪坝区", "磁器口街道", "磁器口社区"):
            await tap_button(label)
        await page.locator(".msg.bot", has_text="完成！").wait_for(timeout=10_000)
        await page.locator(".msg.bot", has_text="请问怎么称呼您").wait_for(timeout=10_000)
        await tap_button("跳过")  # the name (称呼) is optional
        await page.locator(".msg.bot", has_text="您可以使用以下功能").wait_for(timeout=10_000)
        await say("/need")
        await tap_button("儿童关爱")
        await page.locator(".msg.bot", has_text="请用您自己的话描述").wait_for(timeout=10_000)
        await say("孩子放学后没人照看，希望有课后托管")
        await tap_button("跳过")
        await tap_button("不急")
        await tap_button("家人")
        await tap_button("不用上门")
        await tap_button("确认")
        filed = page.locator(".msg.bot", has_text="您的诉求已登记")
        await filed.wait_for(timeout=10_000)
        text = await filed.inner_text()
        return text.split("编号 ")[1].split("。")[0].strip()
    finally:
        await page.close()


async def test_a_need_goes_round_the_loop_on_both_channels(
    fake_telegram: FakeTelegram, start_bot: Any, browser: Any, e2e_database_url: str
) -> None:
    fake = fake_telegram
    bot = await start_bot(BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)
    await onboard(fake, RESIDENT, "Rita", english=True)
    await onboard(fake, WORKER, "韩主任")
    await onboard(fake, SOCIAL, "Sam")
    bot.cli(
        "admin",
        "grant",
        "--telegram-id",
        str(WORKER),
        "--role",
        "community_worker",
        "--community",
        "1",
    )
    bot.cli(
        "admin",
        "grant",
        "--telegram-id",
        str(SOCIAL),
        "--role",
        "social_worker",
        "--community",
        "1",
    )

    reference = await file_on_telegram(fake, "The stairway light is broken; my mother fell.")
    web_reference = await file_in_browser(browser, bot.url)
    assert reference != web_reference and web_reference.startswith("CQK-")

    # The worker is told and triages from the notice (in Chinese, their language).
    await tap(fake, WORKER, f"有新诉求 {reference}", "打开")
    await tap(fake, WORKER, reference, "受理")
    await fake.wait_for_bot_message(WORKER, contains="已受理——正在安排承办人")
    fake.user_clicks(WORKER, fake.last_bot_message(WORKER)["message_id"], "分派")
    await fake.wait_for_bot_message(WORKER, predicate=lambda m: "Sam" in str(m.get("reply_markup")))
    fake.user_clicks(WORKER, fake.last_bot_message(WORKER)["message_id"], "👤 Sam")
    await fake.wait_for_bot_message(WORKER, contains="承办：Sam")

    # The social worker takes it, and resolves it from /tasks.
    await tap(fake, SOCIAL, f"诉求 {reference} 已分派给您", "开始办理")
    await fake.wait_for_bot_message(SOCIAL, contains="办理中")
    fake.user_sends(SOCIAL, "/tasks")
    await tap(fake, SOCIAL, "分派给我的诉求", reference)
    await tap(fake, SOCIAL, "处理记录", "办结")
    await fake.wait_for_bot_message(SOCIAL, contains="办理了什么")
    fake.user_sends(SOCIAL, "The property company replaced the bulb.")
    await fake.wait_for_bot_message(SOCIAL, contains="已请居民确认")

    # The resident, in English, heard each step and confirms with a rating.
    for step in ("Accepted", "Assigned", "In progress"):
        await fake.wait_for_bot_message(RESIDENT, contains=step, after=0)
    await tap(fake, RESIDENT, "Is it solved?", "Solved")
    await tap(fake, RESIDENT, "How satisfied", "★★★★")
    await fake.wait_for_bot_message(RESIDENT, contains=f"{reference} is closed as solved")

    # Nobody outside: the worker of another community sees nothing; the web need is queued.
    fake.user_sends(WORKER, "/queue")
    queue = await fake.wait_for_bot_message(WORKER, contains="诉求队列")
    assert web_reference in queue["text"] and reference not in queue["text"]
    assert await audit_actions(e2e_database_url) == [
        "need.filed",
        "need.filed",
        "need.accepted",
        "need.assigned",
        "need.in_progress",
        "need.resolved",
        "need.confirmed",
    ]


async def test_an_overdue_need_is_escalated_after_a_restart_and_only_once(
    fake_telegram: FakeTelegram, start_bot: Any, e2e_database_url: str
) -> None:
    fake = fake_telegram
    env = {"BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url, "NEEDS_CHECK_SECONDS": "0.5"}
    bot = await start_bot(**env)
    await onboard(fake, RESIDENT, "Rita", english=True)
    await onboard(fake, STREET_ADMIN, "街道王")
    bot.cli(
        "admin",
        "grant",
        "--telegram-id",
        str(STREET_ADMIN),
        "--role",
        "street_admin",
        "--street",
        "1",
    )
    reference = await file_on_telegram(fake, "Water leaking from the ceiling", urgency="Urgent")
    assert await bot.stop() == 0

    # While the bot is down the deadline passes.
    engine = make_engine(e2e_database_url)
    past = datetime.now(UTC) - timedelta(hours=1)
    async with engine.begin() as connection:
        await connection.execute(
            update(Need).values(due_at=past, remind_at=past - timedelta(hours=1))
        )
    await engine.dispose()

    await start_bot(demo=False, **env)
    escalation = await fake.wait_for_bot_message(
        STREET_ADMIN, contains=f"逾期：磁器口社区的诉求 {reference}", timeout=20
    )
    assert escalation["reply_markup"]["inline_keyboard"][0][0]["text"] == "打开"
    await start_bot(demo=False, **env)  # a second process on the same store, as after a restart
    await asyncio.sleep(2)
    escalations = [m for m in fake.bot_messages(STREET_ADMIN) if "逾期" in m.get("text", "")]
    assert len(escalations) == 1
