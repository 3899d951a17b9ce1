"""Indicators through the real bot process, the fake Bot API and headless Chromium: /stats, the
chart, the XLSX and the dashboard page show the same numbers; a dashboard link opens once and
not after ten minutes; a community worker sees their community only and gets no dashboard."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select, update

from storage.db import make_engine
from storage.models import Community, DashboardLink
from tests.e2e.test_matching_e2e import make_volunteer
from tests.e2e.test_needs_e2e import onboard
from tests.e2e.test_volunteers_e2e import said
from tests.support.fake_telegram import FakeTelegram

ADMIN, WORKER, HELPER = 9701, 9702, 9703
SHARE = "实名认证志愿者占常住人口比例"


async def small_population(database_url: str) -> int:
    """Every demo community gets 100 residents; returns how many communities there are."""
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(update(Community).values(resident_population=100))
            return int(await connection.scalar(select(func.count()).select_from(Community)) or 0)
    finally:
        await engine.dispose()


async def expire_links(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(DashboardLink).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
    finally:
        await engine.dispose()


def volunteer_share(text: str) -> str:
    found = re.search(SHARE + r"：([0-9.]+%)", text)
    assert found is not None, text
    return found.group(1)


async def dashboard_link(fake: FakeTelegram, user: int) -> str:
    fake.user_sends(user, "/dashboard")
    sent = await said(fake, user, "指标看板链接")
    found = re.search(r"(http://\S+/dashboard\?t=\S+)", sent["text"])
    assert found is not None, sent["text"]
    return found.group(1)


async def test_stats_chart_export_and_dashboard_agree_and_links_open_once(
    fake_telegram: FakeTelegram, start_bot: Any, browser: Any, e2e_database_url: str
) -> None:
    fake = fake_telegram
    bot = await start_bot(BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)
    for user, name in ((ADMIN, "区民政局"), (WORKER, "韩主任"), (HELPER, "王芳")):
        await onboard(fake, user, name)
    bot.cli(
        "admin", "grant", "--telegram-id", str(ADMIN), "--role", "district_admin", "--district", "1"
    )
    bot.cli(
        "admin", "grant", "--telegram-id", str(WORKER), "--role", "community_worker",
        "--community", "1",
    )  # fmt: skip
    await make_volunteer(e2e_database_url, HELPER, "王芳", n=23)

    communities = await small_population(e2e_database_url)

    fake.user_sends(ADMIN, "/stats")
    summary = await said(fake, ADMIN, "对照 2025 年目标的指标")
    share = volunteer_share(summary["text"])
    assert share == f"{100 / (100 * communities):.1f}%"  # one verified volunteer
    chart = await fake.wait_for_bot_message(
        ADMIN, predicate=lambda m: "photo" in m and "reply_markup" in m
    )
    assert any("导出" in b["text"] for row in chart["reply_markup"]["inline_keyboard"] for b in row)
    assert len([m for m in fake.bot_messages(ADMIN) if "photo" in m]) == 2  # targets, trend

    fake.user_sends(ADMIN, "/export")
    document = await said(fake, ADMIN, "的指标与工作情况")
    book = load_workbook(io.BytesIO(fake.file_bytes(document["document"]["file_id"])))
    district = book.worksheets[0]
    rows = {r[1]: r for r in district.iter_rows(min_row=2, values_only=True)}
    assert f"{rows[SHARE][2]:.1f}%" == share
    assert [s.title for s in book.worksheets] == ["区县", "街道", "社区", "按月"]

    link = await dashboard_link(fake, ADMIN)
    page = await browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        await page.goto(link)  # a page with a button: a link preview would not use the link
        await page.goto(link)  # (opening it twice before the tap changes nothing)
        await page.get_by_role("button", name="打开指标看板").click()
        await page.wait_for_url("**/dashboard")
        assert page.url.endswith("/dashboard")  # the token left the address bar
        cell = page.locator('tr[data-kpi="volunteer_share"] td.n').first
        assert (await cell.inner_text()).strip() == share
        assert "对照 2025 年目标的指标" in await page.locator("h1").inner_text()
        assert await page.locator("img").count() == 2
        await page.reload()  # the session cookie keeps it open
        assert (await cell.inner_text()).strip() == share
        # The same link again, in another browser context: refused.
        other = await browser.new_page()
        try:
            await other.goto(link)
            async with other.expect_response(lambda r: r.request.method == "POST") as posted:
                await other.get_by_role("button", name="打开指标看板").click()
            assert (await posted.value).status == 403
            assert "此链接无效、已使用或已过期" in await other.content()
            # A forged cookie is refused too.
            await other.context.add_cookies(
                [{"name": "wushe_dashboard", "value": "e30.bad", "url": bot.url + "/dashboard"}]
            )
            response = await other.goto(bot.url + "/dashboard")
            assert response is not None and response.status == 403
        finally:
            await other.close()
    finally:
        await page.close()

    # A link left unused for ten minutes no longer opens.
    late = await dashboard_link(fake, ADMIN)
    await expire_links(e2e_database_url)
    page = await browser.new_page()
    try:
        await page.goto(late)
        async with page.expect_response(lambda r: r.request.method == "POST") as posted:
            await page.get_by_role("button", name="打开指标看板").click()
        assert (await posted.value).status == 403
    finally:
        await page.close()

    # A community worker: their community only, and no dashboard.
    fake.user_sends(WORKER, "/stats")
    mine = await said(fake, WORKER, "对照 2025 年目标的指标")
    assert mine["text"].startswith("磁器口社区")
    fake.user_sends(WORKER, "/dashboard")
    await said(fake, WORKER, "指标看板供街道和区级管理员使用")
