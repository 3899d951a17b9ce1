"""WeChat through the real `python -m bot run` process: a fake WeChat signs and encrypts
(safe mode) the resident's posts to the bot's /wechat and records what the bot sends back
(passive replies, customer-service messages); a worker triages on Telegram."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from storage.db import make_engine
from storage.models import Need
from tests.e2e.fake_telegram import FakeTelegram
from tests.e2e.test_needs_e2e import onboard, tap
from tests.support import fake_wechat
from tests.support.fake_wechat import FakeWeChat

RESIDENT = "oWushe_e2e_resident_01"
WORKER = 9300


def number_of(screen: str, label: str) -> str:
    """The number a menu shows for a choice ("3  磁器口社区" → "3")."""
    for line in screen.splitlines():
        number, _, text = line.strip().partition(" ")
        if number.isdigit() and label in text:
            return number
    raise AssertionError(f"{label!r} is not on the menu:\n{screen}")


async def reply(wechat: FakeWeChat, screen: str, label: str) -> str:
    return await wechat.user_sends(RESIDENT, number_of(screen, label))


async def count_needs(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(Need)) or 0)
    finally:
        await engine.dispose()


async def test_a_wechat_resident_files_a_request_and_hears_the_workers_steps(
    fake_telegram: FakeTelegram, start_bot: Any, e2e_database_url: str
) -> None:
    wechat = FakeWeChat()
    await wechat.start()
    try:
        bot = await start_bot(
            BOT_TOKEN=fake_telegram.token,
            TELEGRAM_API_URL=fake_telegram.base_url,
            WECHAT_TOKEN=fake_wechat.TOKEN,
            WECHAT_APP_ID=fake_wechat.APP_ID,
            WECHAT_APP_SECRET=fake_wechat.APP_SECRET,
            WECHAT_AES_KEY=fake_wechat.AES_KEY,
            WECHAT_API_URL=wechat.api_url,
        )
        wechat.bot_url = bot.url
        await onboard(fake_telegram, WORKER, "韩主任")
        bot.cli(
            "admin", "grant", "--telegram-id", str(WORKER), "--role", "community_worker",
            "--community", "1",
        )  # fmt: skip

        # Following the account starts onboarding; the resident replies with numbers.
        screen = await wechat.user_event(RESIDENT, "subscribe")
        assert "请选择语言" in screen and "回复数字" in screen
        for label in ("中文", "沙坪坝区", "磁器口街道", "磁器口社区"):
            screen = await reply(wechat, screen, label)
        assert "请问怎么称呼您" in screen, screen
        screen = await wechat.user_sends(RESIDENT, "李阿姨")
        assert "您可以使用以下功能" in screen, screen

        screen = await wechat.user_sends(RESIDENT, "/need")
        screen = await reply(wechat, screen, "儿童关爱")
        assert "请用您自己的话描述" in screen, screen
        screen = await wechat.user_sends(RESIDENT, "孩子放学后没人照看，希望有课后托管")
        for label in ("跳过", "不急", "家人", "不用上门"):
            screen = await reply(wechat, screen, label)
        assert "请核对" in screen, screen
        # WeChat retries a post it got no answer to, with the same MsgId: one request filed.
        confirm = wechat._message(RESIDENT, "text", Content=number_of(screen, "确认"))
        filed = await wechat.deliver(confirm)
        retried = [await wechat.deliver(confirm) for _ in range(2)]
        assert "您的诉求已登记" in filed, filed
        assert retried == [filed, filed]  # a retry gets the first try's answer
        reference = filed.split("编号 ")[1].split("。")[0].strip()
        assert await count_needs(e2e_database_url) == 1

        # The worker accepts it on Telegram; the resident hears it through the
        # customer-service API (the 48-hour window is open: they wrote a moment ago).
        await tap(fake_telegram, WORKER, f"有新诉求 {reference}", "打开")
        await tap(fake_telegram, WORKER, reference, "受理")
        await fake_telegram.wait_for_bot_message(WORKER, contains="已受理")
        notice = await wechat.wait_for(RESIDENT, reference)
        assert [s.how for s in wechat.seen[RESIDENT] if s.text == notice] == ["custom"]
        assert "已受理" in notice, notice
    finally:
        await wechat.stop()
