"""The web chat page in headless Chromium at phone size (390×844, Chinese), through the real bot
process: the first screen, large text kept after a reload, a photo upload that reaches a worker
on Telegram, and the transcript after the bot process is killed and started again."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Any

from PIL import Image

from tests.support.fake_telegram import FakeTelegram

PHONE = {"width": 390, "height": 844}
WORKER = 9301
IS_LARGE = "() => document.documentElement.classList.contains('large')"
SHOTS = os.environ.get("E2E_SCREENSHOTS")  # a folder to keep the screenshots in, if set


async def shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path))
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(SHOTS) / path.name)


async def phone_page(browser: Any) -> tuple[Any, Any]:
    context = await browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=1)
    return context, await context.new_page()


async def tap_button(page: Any, label: str) -> None:
    button = page.locator("button.inline-btn:not([disabled])", has_text=label).last
    await button.wait_for(timeout=10_000)
    await button.click()


async def say(page: Any, text: str) -> None:
    await page.fill("#composer-input", text)
    await page.click("#composer-send")


async def test_first_screen_large_text_and_the_conversation_after_the_bot_is_killed(
    start_bot: Any, browser: Any, tmp_path: Path
) -> None:
    # Conversation state in Redis, as in production, so the half-done onboarding survives too.
    bot = await start_bot(REDIS_URL=os.environ.get("TEST_REDIS_URL", ""))
    context, page = await phone_page(browser)
    try:
        await page.goto(bot.url)
        # The first screen: two big buttons in Chinese, not "type /start".
        welcome = page.locator("#welcome")
        await welcome.wait_for(state="visible", timeout=10_000)
        start = page.locator("#welcome-start")
        need = page.locator("#welcome-need")
        assert (await start.inner_text(), await need.inner_text()) == ("开始", "我要求助")
        for button in (start, need):
            box = await button.bounding_box()
            assert box is not None and box["height"] >= 60 and box["width"] >= 300, box
        assert "/start" not in await page.locator("#log").inner_text()
        await page.locator("#menu-btn").wait_for(state="visible", timeout=10_000)  # the menu too
        await shot(page, tmp_path, "01-first-screen")

        # Large text: on, kept on the person, there again after a reload.
        body_size = (
            "() => parseFloat(getComputedStyle(document.querySelector('.welcome-text')).fontSize)"
        )
        normal = await page.evaluate(body_size)
        async with page.expect_response("**/chat/api/settings") as saved:
            await page.click("#large-text")
        assert (await saved.value).ok
        assert await page.get_attribute("#large-text", "aria-pressed") == "true"
        await page.reload()
        await page.wait_for_function(IS_LARGE)
        assert await page.evaluate(body_size) >= normal * 1.3
        await shot(page, tmp_path, "02-large-text-after-reload")

        # 开始 sends /start; the buttons go once a conversation exists.
        await start.click()
        await tap_button(page, "中文")
        await page.locator(".msg.bot", has_text="沙坪坝区").wait_for(timeout=10_000)
        assert await welcome.is_hidden()
        await shot(page, tmp_path, "03-conversation")
        before = await page.locator(".msg").count()

        # The bot process is killed (no clean shutdown) and started again; the page reloads.
        assert bot.process is not None
        bot.process.kill()
        bot.process.wait()
        await bot.start()
        await page.reload()
        await page.locator(".msg.user", has_text="/start").wait_for(timeout=10_000)
        await page.locator(".msg.bot", has_text="请选择区县").wait_for(timeout=10_000)
        assert await page.locator(".msg").count() == before
        assert await welcome.is_hidden()
        await page.wait_for_function(IS_LARGE)
        await shot(page, tmp_path, "04-after-restart")
        # The buttons of the message from before the restart still work.
        for label in ("沙坪坝区", "磁器口街道", "磁器口社区"):
            await tap_button(page, label)
        await page.locator(".msg.bot", has_text="完成！").wait_for(timeout=10_000)
        await shot(page, tmp_path, "05-onboarded")
    finally:
        await context.close()


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (220, 120, 20)).save(buffer, "JPEG")
    return buffer.getvalue()


async def test_a_photo_uploaded_on_the_page_reaches_a_worker_on_telegram(
    fake_telegram: FakeTelegram, start_bot: Any, browser: Any, tmp_path: Path
) -> None:
    fake = fake_telegram
    bot = await start_bot(BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)
    fake.user_sends(WORKER, "/start", first_name="韩主任", language_code="zh")
    for screen, button in (
        ("choose your language", "中文"),
        ("您住在哪个社区", "沙坪坝区"),
        ("请选择街道", "磁器口街道"),
        ("请选择社区", "磁器口社区"),
    ):
        message = await fake.wait_for_bot_message(WORKER, contains=screen)
        fake.user_clicks(WORKER, message["message_id"], button)
    await fake.wait_for_bot_message(WORKER, contains="完成！")
    bot.cli(
        "admin", "grant", "--telegram-id", str(WORKER), "--role", "community_worker",
        "--community", "1",
    )  # fmt: skip

    picture = jpeg_bytes()
    context, page = await phone_page(browser)
    try:
        await page.goto(bot.url)
        await page.click("#welcome-start")
        for label in ("中文", "沙坪坝区", "磁器口街道", "磁器口社区"):
            await tap_button(page, label)
        await page.locator(".msg.bot", has_text="完成！").wait_for(timeout=10_000)
        await tap_button(page, "跳过")  # the name (称呼) step
        await say(page, "/need")
        await tap_button(page, "养老服务")
        await page.locator(".msg.bot", has_text="请用您自己的话描述").wait_for(timeout=10_000)
        await say(page, "卫生间的扶手松了，老人怕摔")
        await page.locator(".msg.bot", has_text="照片").last.wait_for(timeout=10_000)
        # The upload control is on the page wherever the bot asks for a photo.
        upload = {"name": "扶手.jpg", "mimeType": "image/jpeg", "buffer": picture}
        await page.set_input_files("#photo-input", files=[upload])
        await page.locator(".msg.user .media img").last.wait_for(timeout=10_000)
        await page.locator(".msg.bot", has_text="已添加照片").wait_for(timeout=10_000)
        own = page.locator(".msg.user .media img").last
        await page.wait_for_function(
            "(img) => img.complete && img.naturalWidth === 64", arg=await own.element_handle()
        )
        await shot(page, tmp_path, "06-photo-uploaded")
        await tap_button(page, "一般")
        await tap_button(page, "本人")
        await tap_button(page, "不用上门")
        await tap_button(page, "确认")
        filed = page.locator(".msg.bot", has_text="您的诉求已登记")
        await filed.wait_for(timeout=10_000)
        reference = (await filed.inner_text()).split("编号 ")[1].split("。")[0].strip()
    finally:
        await context.close()

    # The worker on Telegram opens it from the notice and gets the photo itself.
    notice = await fake.wait_for_bot_message(WORKER, contains=f"有新诉求 {reference}", after=0)
    fake.user_clicks(WORKER, notice["message_id"], "打开")
    photo = await fake.wait_for_bot_message(WORKER, predicate=lambda m: "photo" in m)
    assert fake.file_bytes(photo["photo"][-1]["file_id"]) == picture
    await fake.wait_for_bot_message(WORKER, contains="卫生间的扶手松了")
