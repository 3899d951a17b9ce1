"""A resident's first hour on the web chat page, through the real bot process (issue 14, "Done
when", second bullet), on SQLite and PostgreSQL.

A fresh install with only the places imported (docs/places-example.csv) and one community
worker. On a phone-sized page in Chinese the resident types "你好" first (onboarding starts),
gives their name, types an emergency (the 120 advice comes at once), then files a repair
request by typing its description at the category step, with a home visit, a phone and an
address. The worker, in a browser of their own, opens the request from /queue, sees the
resident's name and phone and opens Suggestions: no crash, and the reason why nobody fits.
The bot process is then stopped and started again; the resident reloads the page and sees
the whole conversation.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import BotProcess

ROOT = Path(__file__).resolve().parents[2]
PLACES = ROOT / "docs" / "places-example.csv"
PATH = ("沙坪坝区", "磁器口街道", "磁器口社区")
PHONE = {"width": 390, "height": 844}
WAIT = 20_000  # ms; the machine running the suite may be busy

EMERGENCY = "老伴摔倒了，胸口疼"
DESCRIPTION = "厨房水管漏水了，想请人来修"
MOBILE, ADDRESS = "13800138000", "3栋2单元501"


async def phone_page(browser: Any) -> tuple[Any, Any]:
    """A browser context of its own (its own cookie, so its own person) at phone size."""
    context = await browser.new_context(
        viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai", device_scale_factor=1
    )
    return context, await context.new_page()


async def say(page: Any, text: str) -> None:
    await page.fill("#composer-input", text)
    await page.click("#composer-send")


async def shown(page: Any, locator: Any) -> None:
    """Wait for `locator`; if it never comes, fail with the conversation as the page shows it."""
    try:
        await locator.wait_for(timeout=WAIT)
    except PlaywrightTimeout:
        log = await page.locator("#log").inner_text()
        raise AssertionError(f"not shown: {locator}\n--- the page ---\n{log}") from None


async def answer(page: Any, question: str, label: str) -> None:
    """Tap `label` on the newest bot message asking `question` (never an older keyboard)."""
    asked = page.locator(".msg.bot", has_text=question).last
    button = asked.locator("button.inline-btn:not([disabled])", has_text=label)
    await shown(page, button)
    await button.click()


async def bot_says(page: Any, text: str) -> str:
    """The text of the newest bot message containing `text`, once it is there."""
    message = page.locator(".msg.bot", has_text=text).last
    await shown(page, message)
    return str(await message.inner_text())


def community_id(bot: BotProcess, name: str) -> int:
    listing = bot.cli("admin", "places")
    found = re.search(rf"community (\d+) {name} ", listing)
    assert found, listing
    return int(found.group(1))


async def onboard(page: Any, name: str) -> None:
    """Language and place by tapping, the name typed at the 称呼 step."""
    await answer(page, "请选择语言", "中文")
    for question, label in zip(("您住在哪个社区", "请选择街道", "请选择社区"), PATH, strict=True):
        await answer(page, question, label)
    await bot_says(page, f"完成！您已登记为{PATH[-1]}的居民。")
    await bot_says(page, "请问怎么称呼您")
    await say(page, name)
    await bot_says(page, f"谢谢您，{name}！")
    await bot_says(page, "您可以使用以下功能")


async def make_worker(bot: BotProcess, browser: Any) -> tuple[Any, Any]:
    """A person who onboards on the page and is made a worker with `admin grant --code`."""
    context, page = await phone_page(browser)
    await page.goto(bot.url)
    await page.click("#welcome-start")
    await onboard(page, "李社工")
    await say(page, "/link")
    offer = await bot_says(page, "如需在其他聊天应用中使用同一份资料")
    found = re.search(r"/link ([A-Z0-9]{10})", offer)
    assert found, offer
    community = str(community_id(bot, PATH[-1]))
    granted = bot.cli(
        "admin", "grant", "--code", found.group(1), "--role", "community_worker",
        "--community", community,
    )  # fmt: skip
    assert "Granted community_worker" in granted, granted
    # /link waits for a code from another app: without /cancel, the next command is read as one.
    await say(page, "/cancel")
    await bot_says(page, "已取消")
    return context, page


async def file_repair_request(page: Any) -> str:
    """/need, the description typed at the category step, a visit with phone and address."""
    await say(page, "/need")
    await bot_says(page, "您的诉求属于哪一类？")
    await say(page, DESCRIPTION)
    guessed = await bot_says(page, "类别：维修，对吗？")
    assert "已记下您的诉求" in guessed and DESCRIPTION in guessed
    await answer(page, "类别：维修，对吗？", "是：维修")
    await bot_says(page, "您可以现在添加照片或位置")
    await answer(page, "或点击“跳过”", "跳过")  # no photo
    await answer(page, "有多紧急？", "一般")
    await answer(page, "为谁求助？", "本人")
    await answer(page, "需要有人上门吗", "需要，请上门")
    await bot_says(page, "打哪个电话")
    await say(page, MOBILE)
    await bot_says(page, "门牌")
    await say(page, ADDRESS)
    check = await bot_says(page, "请核对您的诉求")
    for line in ("类别：维修", DESCRIPTION, f"联系电话：{MOBILE}", f"地址：{ADDRESS}"):
        assert line in check, check
    await answer(page, "请核对您的诉求", "确认")
    filed = await bot_says(page, "您的诉求已登记")
    return filed.split("编号 ")[1].split("。")[0].strip()


async def worker_opens_suggestions(page: Any, reference: str) -> None:
    await say(page, "/queue")
    queue = await bot_says(page, "诉求队列")
    assert reference in queue and "王阿姨" in queue, queue
    await answer(page, "诉求队列", reference)
    card = await bot_says(page, "居民：王阿姨")
    assert f"联系电话：{MOBILE}" in card and f"地址：{ADDRESS}" in card, card
    await answer(page, "居民：王阿姨", "匹配建议")
    suggestions = await bot_says(page, f"{reference} 的匹配建议")
    assert "还没有已审核的志愿者服务这里" in suggestions, suggestions
    assert "出了点问题" not in await page.locator("#log").inner_text()


async def test_a_residents_first_hour_from_hello_to_a_worker_and_after_a_restart(
    start_bot: Any, browser: Any, tmp_path: Path
) -> None:
    bot = await start_bot(demo=False)
    bot.cli("admin", "import-places", str(PLACES))  # a fresh install: only the places
    worker_context, worker = await make_worker(bot, browser)
    context, resident = await phone_page(browser)
    try:
        await resident.goto(bot.url)
        # Any first message starts onboarding; a greeting is not kept as a request.
        await say(resident, "你好")
        await bot_says(resident, "请选择语言 / Please choose your language")
        await onboard(resident, "王阿姨")
        assert "您刚才写的是" not in await resident.locator("#log").inner_text()

        # An emergency typed outside any form: the numbers at once.
        await say(resident, EMERGENCY)
        alert = await bot_says(resident, "听起来情况紧急，请马上打电话")
        assert "急救 120" in alert
        assert await resident.locator(".msg.bot").last.inner_text() == alert  # the newest

        reference = await file_repair_request(resident)
        await worker_opens_suggestions(worker, reference)

        # The bot process is stopped and started again; the page reloads.
        before = await resident.locator(".msg").count()
        assert await bot.stop() == 0, bot.log()
        await bot.start()
        await resident.reload()
        await bot_says(resident, f"您的诉求已登记，编号 {reference}")
        # The answered steps as they were left (a tapped question is edited into its answer).
        for earlier in ("急救 120", "谢谢您，王阿姨！", "类别：维修。", "好的，会安排人上门"):
            await bot_says(resident, earlier)
        for typed in ("你好", "王阿姨", EMERGENCY, DESCRIPTION, MOBILE, ADDRESS):
            await shown(resident, resident.locator(".msg.user", has_text=typed).first)
        assert await resident.locator(".msg").count() == before
        await resident.screenshot(path=str(tmp_path / "first-hour-after-restart.png"))
    finally:
        await context.close()
        await worker_context.close()
