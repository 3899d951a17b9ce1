"""The WeChat channel's pure parts: numbered menus and their pages, text WeChat shows safely,
WeChat's byte limits, chat ids, GCJ-02 against a published pair."""

from __future__ import annotations

import pytest

from bot.channels.wechat import (
    MemoryState,
    Menu,
    MenuItem,
    chat_id_of,
    cut_bytes,
    menu_items,
    openid_of,
    render_menu,
    split_text,
    wechat_text,
)
from bot.domain.coordinates import gcj02_to_wgs84, wgs84_to_gcj02
from bot.i18n import make_i18n


@pytest.fixture
def zh():  # type: ignore[no-untyped-def]
    i18n = make_i18n("zh")
    with i18n.context(), i18n.use_locale("zh"):
        yield


def twelve() -> Menu:
    return Menu(7, "请选择社区：", [MenuItem(f"社区{n}", f"pick:{n}") for n in range(1, 13)])


def test_a_long_menu_is_paged_and_numbers_run_on(zh: None) -> None:
    menu = twelve()
    first = render_menu(menu)
    assert "1  社区1" in first and "8  社区8" in first and "9  社区9" not in first
    assert "0  更多选项" in first
    menu.page = 1
    second = render_menu(menu)
    assert "9  社区9" in second and "12  社区12" in second and "0  更多选项" not in second
    assert menu.choice("10") == menu.items[9]
    assert menu.choice("13") is None and menu.choice("²") is None and menu.choice("０") is None
    assert menu.choice("社区3") == menu.items[2]  # the label typed out works too


def test_a_location_button_is_said_once_without_a_number(zh: None) -> None:
    keyboard = {"keyboard": [[{"text": "📍 发送我的位置", "request_location": True}]]}
    alone = render_menu(Menu(7, "请发送位置", menu_items(keyboard)))
    assert alone == "📍 发送我的位置：点 ＋，选择「位置」"
    keyboard["keyboard"].append([{"text": "取消"}])
    both = render_menu(Menu(7, "请发送位置", menu_items(keyboard))).splitlines()
    assert both == ["回复数字：", "📍 发送我的位置：点 ＋，选择「位置」", "2  取消"]


def test_what_people_typed_never_becomes_a_link_but_the_bots_links_stay() -> None:
    typed = "&lt;a href=&quot;http://evil&quot;&gt;点我&lt;/a&gt;"  # a handler escaped it
    shown = wechat_text(f"诉求：{typed}", "HTML")
    assert "<a" not in shown and "＜a href" in shown
    link = wechat_text('看板：<a href="https://example.org/d?t=1">打开</a>', "HTML")
    assert link == '看板：<a href="https://example.org/d?t=1">打开</a>'
    assert "<" not in wechat_text("a < b", None)


def test_pieces_and_menu_names_fit_wechats_byte_limits() -> None:
    text = "😀" * 1000  # 4 bytes each
    pieces = split_text(text, 2000)
    assert all(len(p.encode()) <= 2000 for p in pieces) and "".join(pieces) == text
    lines = "\n".join(["第一行"] * 400)
    assert all(len(p.encode()) <= 2000 for p in split_text(lines, 2000))
    assert cut_bytes("志愿服务与积分", 16) == "志愿服务与"  # 15 bytes


def test_chat_ids_are_reversible_and_distinct() -> None:
    assert openid_of(chat_id_of("oAbc_123")) == "oAbc_123"
    assert chat_id_of("\x00abc") != chat_id_of("abc")
    with pytest.raises(ValueError):
        openid_of(12345)


def test_gcj02_matches_a_published_pair() -> None:
    # Tiananmen: WGS-84 (39.915, 116.404) is GCJ-02 (39.91640428, 116.41024450).
    assert wgs84_to_gcj02(39.915, 116.404) == pytest.approx((39.91640428, 116.41024450), abs=1e-7)
    assert gcj02_to_wgs84(39.91640428, 116.41024450) == pytest.approx((39.915, 116.404), abs=1e-6)
    assert gcj02_to_wgs84(48.85, 2.35) == (48.85, 2.35)  # outside China: unchanged


async def test_the_state_keeps_a_menu_until_it_expires_and_notices_in_order() -> None:
    state = MemoryState()
    assert await state.add_once("msg:1", ttl=60) and not await state.add_once("msg:1", ttl=60)
    await state.push("later:1", "a", ttl=60, keep=2)
    await state.push("later:1", "b", ttl=60, keep=2)
    await state.push("later:1", "c", ttl=60, keep=2)
    assert await state.pop_all("later:1") == ["b", "c"] and await state.pop_all("later:1") == []
