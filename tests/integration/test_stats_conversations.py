"""/stats and /export in chat on the hand-counted fixture of tests/unit/test_kpis.py: the text,
the workbook and the CSV carry the same figures, and a community worker's forged button for
their street is refused."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import AsyncIterator

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.documents.workbook import text_width
from bot.domain.enums import Role, ScopeLevel
from bot.services.dashboards import Session
from bot.web.dashboard_page import render_page
from handlers.kpis.router import button_url_allowed
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import make_person
from tests.unit.test_kpis import fixture

ADMIN, WORKER = 7501, 7502
SHARE = "实名认证志愿者占常住人口比例"


@pytest.fixture
async def chat(engine: AsyncEngine) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


def files(chat: ChatHarness, user: int) -> dict[str, bytes]:
    return {f.filename: f.content for f in chat.hub.files.values() if f.chat_id == user}


async def test_stats_and_export_show_the_same_street_figures(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    w = await fixture(uow)
    await make_person(
        uow, "街道管理员", community=w.community_a1,
        grants=((Role.STREET_ADMIN, ScopeLevel.STREET, w.street_a),), web_id=ADMIN,
    )  # fmt: skip
    await chat.send(ADMIN, "/stats")
    summary = next(s for s in chat.screens(ADMIN) if "对照 2025 年目标的指标" in s)
    assert f"{SHARE}：14.0%（目标 22.0%）— 差 8.0 个百分点" in summary
    assert "每万城镇常住人口社区工作者数：300.0（目标 18.0）— 已达标" in summary
    await chat.tap(ADMIN, "导出 XLSX 和 CSV")
    sent = files(chat, ADMIN)
    book = load_workbook(io.BytesIO(sent[f"indicators-street-{w.street_a}.xlsx"]))
    assert [s.title for s in book.worksheets] == ["街道", "社区", "按月"]
    street = {r[1]: r for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    assert street[SHARE][2:6] == (14.0, 22.0, "%", "否")  # not True/False
    indicator_width = book.worksheets[0].column_dimensions["B"].width
    assert indicator_width >= max(text_width(name) for name in street)
    communities = [r for r in book.worksheets[1].iter_rows(min_row=2, values_only=True)]
    assert [(r[0], r[2]) for r in communities if r[1] == SHARE] == [
        ("甲一社区", 50.0),
        ("甲二社区", 10.0),
    ]
    rows = list(
        csv.reader(io.StringIO(sent[f"indicators-street-{w.street_a}.csv"].decode("utf-8-sig")))
    )
    assert ["街道", "甲街道", SHARE, "14.0", "22.0", "%", "否", "差 8.0 个百分点"] in rows
    # The caption's time is Chongqing's, not UTC.
    caption = next(s for s in chat.screens(ADMIN) if "计算时间" in s)
    local = utcnow().astimezone(chat.settings.tz).strftime("%Y-%m-%d")
    assert local in caption


async def test_the_dashboard_link_is_a_real_link_and_a_button_on_the_web_page(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    w = await fixture(uow)
    await make_person(
        uow, "街道管理员", community=w.community_a1,
        grants=((Role.STREET_ADMIN, ScopeLevel.STREET, w.street_a),), web_id=ADMIN,
    )  # fmt: skip
    await chat.send(ADMIN, "/dashboard")
    conversation = chat.hub.conversation(ADMIN)
    message = conversation.messages[max(conversation.messages)]
    found = re.search(r'<a href="(http://[^"]+/dashboard\?t=[^"]+)">', message["_html"])
    assert found is not None, message["_html"]
    buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == [{"text": "📊 打开指标看板", "url": html.unescape(found.group(1))}]


def test_telegram_gets_a_url_button_only_for_an_address_it_can_open() -> None:
    assert button_url_allowed("https://wushe.example.cn/dashboard?t=x")
    assert not button_url_allowed("http://127.0.0.1:8080/dashboard?t=x")
    assert not button_url_allowed("http://localhost:8080/dashboard?t=x")
    assert not button_url_allowed("http://192.168.1.5/dashboard?t=x")


async def test_a_community_worker_cannot_open_their_streets_figures(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    w = await fixture(uow)
    await make_person(
        uow, "韩主任", community=w.community_a1,
        grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),), web_id=WORKER,
    )  # fmt: skip
    await chat.send(WORKER, "/stats")
    assert any(s.startswith("甲一社区：对照") for s in chat.screens(WORKER))
    # A forged "export the street" button on one of their messages: refused, nothing sent.
    conversation = chat.hub.conversation(WORKER)
    message = max(conversation.messages)
    forged = f"kp:export:street:{w.street_a}"
    conversation.messages[message]["reply_markup"] = {
        "inline_keyboard": [[{"text": "x", "callback_data": forged}]]
    }
    before = dict(files(chat, WORKER))
    await chat.tap_data(WORKER, message, forged)
    # (the tap was already answered, so the refusal comes as a message)
    assert chat.last_text(WORKER) == "抱歉，您无权在此进行该操作。"
    assert files(chat, WORKER) == before


# The social-work indicators (issue 20) of street A in the hand-counted fixture, as each reader
# sees them: (name, text in chat, number in the workbook, target in the workbook).
SOCIAL_WORK = {
    "社会工作专业人才（持证或社工）": ("• 社会工作专业人才（持证或社工）：3", 3.0, 0.0),
    "持社工证（已核验）人数": ("• 持社工证（已核验）人数：2", 2.0, 0.0),
    "今年社区工作者人均培训学时": ("• 今年社区工作者人均培训学时：1.0", 1.0, 0.0),
    "持社会工作职业资格证书的社区工作者": (
        "持社会工作职业资格证书的社区工作者：33.3%（目标 15.0%）— 已达标",
        33.33,
        15.0,
    ),
    "由社工室或社工站提供服务的社区比例": (
        "由社工室或社工站提供服务的社区比例：100.0%（目标 100.0%）— 已达标",
        100.0,
        100.0,
    ),
}


async def test_the_social_work_indicators_match_in_chat_the_export_and_the_dashboard(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    w = await fixture(uow)
    admin = await make_person(
        uow, "街道管理员", community=w.community_a1,
        grants=((Role.STREET_ADMIN, ScopeLevel.STREET, w.street_a),), web_id=ADMIN,
    )  # fmt: skip
    await chat.send(ADMIN, "/stats")
    summary = next(s for s in chat.screens(ADMIN) if "对照 2025 年目标的指标" in s)
    for line, _number, _target in SOCIAL_WORK.values():
        assert line in summary
    await chat.tap(ADMIN, "导出 XLSX 和 CSV")
    sent = files(chat, ADMIN)
    book = load_workbook(io.BytesIO(sent[f"indicators-street-{w.street_a}.xlsx"]))
    street = {r[1]: r for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    rows = list(
        csv.reader(io.StringIO(sent[f"indicators-street-{w.street_a}.csv"].decode("utf-8-sig")))
    )
    by_name = {r[2]: r for r in rows if r[0] == "街道"}
    for name, (_line, number, target) in SOCIAL_WORK.items():
        assert street[name][2:4] == (number, target)
        assert (float(by_name[name][3]), float(by_name[name][4])) == (number, target)

    settings = chat.settings
    session = Session(admin, ScopeLevel.STREET, w.street_a, "zh")
    status, page = await render_page(
        lambda: UnitOfWork(chat.session_factory), chat.i18n, settings, session, "zh", None
    )
    assert status == 200
    for kpi, shown in (
        ("social_work_professionals", "3"),
        ("certificate_holders", "2"),
        ("training_hours_per_worker", "1.0"),
        ("certified_share", "33.3%"),
        ("social_work_coverage", "100.0%"),
    ):
        row = re.search(rf'<tr class="\w+" data-kpi="{kpi}">(.*?)</tr>', page)
        assert row is not None, kpi
        assert f'<td class="n">{shown}</td>' in row.group(1)
