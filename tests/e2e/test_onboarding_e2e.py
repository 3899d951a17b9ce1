"""The real bot process: a person onboards in a real browser (Chinese) and through the
Telegram Bot API (English), and both land as residents in the one database."""

from __future__ import annotations

from typing import Any

import aiohttp
from sqlalchemy import select

from bot.domain.enums import Channel, Role
from storage.db import make_engine, make_session_factory
from storage.models import ChannelAccount, Community, Person, RoleGrant
from tests.e2e.conftest import free_port
from tests.support.fake_telegram import FakeTelegram

TELEGRAM_USER = 424242


async def residents(database_url: str) -> dict[tuple[str, str], str]:
    """(channel, display name) → community name, for people holding an active resident grant."""
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session:
            rows = await session.execute(
                select(ChannelAccount.channel, Person.display_name, Community.name)
                .join(Person, Person.id == ChannelAccount.person_id)
                .join(Community, Community.id == Person.community_id)
                .join(RoleGrant, RoleGrant.person_id == Person.id)
                .where(RoleGrant.role == Role.RESIDENT, RoleGrant.revoked_at.is_(None))
            )
            return {(channel.value, name): community for channel, name, community in rows.all()}
    finally:
        await engine.dispose()


async def onboard_on_telegram(fake: FakeTelegram) -> None:
    fake.user_sends(TELEGRAM_USER, "/start", first_name="Alice", language_code="en")
    prompt = await fake.wait_for_bot_message(TELEGRAM_USER, contains="choose your language")
    fake.user_clicks(TELEGRAM_USER, prompt["message_id"], "English")
    steps = [
        ("Which community do you live in?", "Shapingba District"),
        ("Choose a street or township:", "Ciqikou Street"),
        ("Choose a community or village:", "Ciqikou Community"),
    ]
    for expected, tap in steps:
        screen = await fake.wait_for_bot_message(TELEGRAM_USER, contains=expected)
        fake.user_clicks(TELEGRAM_USER, screen["message_id"], tap)
    await fake.wait_for_bot_message(
        TELEGRAM_USER, contains="Done! You are now registered as a resident of Ciqikou Community."
    )
    # How to call them: their Telegram name is offered.
    asked = await fake.wait_for_bot_message(TELEGRAM_USER, contains="How should we call you?")
    fake.user_clicks(TELEGRAM_USER, asked["message_id"], "Keep “Alice”")
    await fake.wait_for_bot_message(TELEGRAM_USER, contains="Here is what you can do:")


async def onboard_in_browser(browser: Any, url: str) -> str:
    page = await browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        await page.goto(url)
        await page.fill("#composer-input", "/start")
        await page.click("#composer-send")
        for label in ("中文", "沙坪坝区", "磁器口街道", "金碧正街社区"):
            button = page.locator("button.inline-btn", has_text=label).last
            await button.wait_for(timeout=10_000)
            await button.click()
        done = page.locator(".msg.bot", has_text="完成！您已登记为金碧正街社区的居民。")
        await done.wait_for(timeout=10_000)
        await page.locator(".msg.bot", has_text="请问怎么称呼您").wait_for(timeout=10_000)
        await page.fill("#composer-input", "王阿姨")
        await page.click("#composer-send")
        await page.locator(".msg.bot", has_text="您可以使用以下功能").wait_for(timeout=10_000)
        # A reload keeps the conversation (signed cookie, same chat).
        await page.reload()
        await done.wait_for(timeout=10_000)
        return await page.locator(".msg.bot").last.inner_text()
    finally:
        await page.close()


async def test_browser_and_telegram_onboarding_land_in_the_same_database(
    fake_telegram: FakeTelegram, start_bot: Any, browser: Any, e2e_database_url: str
) -> None:
    bot = await start_bot(BOT_TOKEN=fake_telegram.token, TELEGRAM_API_URL=fake_telegram.base_url)
    await onboard_on_telegram(fake_telegram)
    last = await onboard_in_browser(browser, bot.url)
    assert "您可以使用以下功能" in last
    people = await residents(e2e_database_url)
    assert people[(Channel.TELEGRAM.value, "Alice")] == "磁器口社区"
    # The web resident is known by the name they gave, never by a chat id ("web-85245").
    assert people[(Channel.WEB.value, "王阿姨")] == "金碧正街社区"
    web = [community for (channel, _), community in people.items() if channel == "web"]
    assert web == ["金碧正街社区"]
    # The Telegram command menu was set in both languages.
    assert fake_telegram.my_commands(language_code="en")
    assert fake_telegram.my_commands()


async def test_without_a_token_the_web_page_runs_alone_and_says_so(start_bot: Any) -> None:
    bot = await start_bot(demo=False)
    head = bot.log().splitlines()[:5]
    assert any(f"Web chat page: {bot.url}/" in line for line in head), head
    assert any("No BOT_TOKEN set" in line for line in head), head


async def test_telegram_webhook_mode_checks_the_secret_token(
    fake_telegram: FakeTelegram, start_bot: Any
) -> None:
    port = free_port()
    bot = await start_bot(
        BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_URL=fake_telegram.base_url,
        WEB_PORT=str(port),
        WEBHOOK_BASE_URL=f"http://127.0.0.1:{port}",
        WEBHOOK_SECRET="s3cret",
    )
    assert fake_telegram.webhook["url"] == f"http://127.0.0.1:{port}/webhook/telegram"
    # Telegram pushes the update to the webhook with the secret; the bot answers.
    fake_telegram.user_sends(77, "/start", first_name="Bo", language_code="en")
    await fake_telegram.wait_for_bot_message(77, contains="choose your language")
    # Anyone else posting to the webhook is refused.
    forged = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 78, "type": "private"},
            "from": {"id": 78, "is_bot": False, "first_name": "Eve"},
            "text": "/start",
        },
    }
    async with aiohttp.ClientSession() as session:
        wrong = await session.post(
            f"{bot.url}/webhook/telegram",
            json=forged,
            headers={"X-Telegram-Bot-Api-Secret-Token": "nope"},
        )
        assert wrong.status == 401
