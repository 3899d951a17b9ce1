"""The WeChat channel in one process: the bot's real aiohttp app and Dispatcher, called by a
fake WeChat that signs, encrypts and retries as WeChat does, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.app import Application
from bot.channels.wechat import chat_id_of, openid_of
from storage.db import make_engine, make_session_factory
from storage.models import ChannelAccount
from storage.uow import UnitOfWork
from tests.support.factories import make_map
from tests.support.fake_wechat import FakeWeChat
from tests.support.wechat_app import started

RESIDENT = "oWushe_resident_0001"


def number_of(screen: str, label: str) -> str:
    """The number a menu shows for a choice ("3  甲一社区" → "3")."""
    for line in screen.splitlines():
        number, _, text = line.strip().partition(" ")
        if number.isdigit() and text.strip() == label:
            return number
    raise AssertionError(f"{label!r} is not on the menu:\n{screen}")


async def onboard(wechat: FakeWeChat, openid: str = RESIDENT) -> None:
    """Follow the account, then reply with numbers: Chinese, the district, street, community."""
    first = await wechat.user_event(openid, "subscribe")
    assert "请选择语言" in first and "回复数字" in first
    screen = await wechat.user_sends(openid, number_of(first, "中文"))
    for label in ("渝北区", "甲街道", "甲一社区"):
        screen = await wechat.user_sends(openid, number_of(screen, label))
    assert "甲一社区的居民" in screen


def test_an_openid_is_a_reversible_chat_id() -> None:
    assert openid_of(chat_id_of(RESIDENT)) == RESIDENT


async def test_the_url_check_answers_the_echo_only_when_signed(
    served: Application, wechat: FakeWeChat
) -> None:
    query, _ = wechat.signed_request({"FromUserName": RESIDENT})
    async with aiohttp.ClientSession() as http:
        ok = await http.get(f"{wechat.bot_url}/wechat", params={**query, "echostr": "e42"})
        assert ok.status == 200 and await ok.text() == "e42"
        forged = {**query, "signature": "0" * 40, "echostr": "e42"}
        refused = await http.get(f"{wechat.bot_url}/wechat", params=forged)
        assert refused.status == 403
        stale = {**query, "timestamp": "1409735669", "echostr": "e42"}
        assert (await http.get(f"{wechat.bot_url}/wechat", params=stale)).status == 403


async def test_a_resident_follows_and_onboards_by_replying_numbers(
    served: Application, wechat: FakeWeChat, database_url: str
) -> None:
    await onboard(wechat)
    engine = make_engine(database_url)
    async with make_session_factory(engine)() as session:
        accounts = await session.scalar(
            select(func.count()).where(
                ChannelAccount.channel == "wechat",
                ChannelAccount.external_id == str(chat_id_of(RESIDENT)),
            )
        )
    await engine.dispose()
    assert accounts == 1


async def test_commands_work_typed_and_by_their_chinese_names(
    served: Application, wechat: FakeWeChat
) -> None:
    await onboard(wechat)
    by_name = await wechat.user_sends(RESIDENT, "求助")
    typed = await wechat.user_sends(RESIDENT, "/cancel")
    again = await wechat.user_sends(RESIDENT, "/need")
    assert "您的诉求属于哪一类" in by_name and "回复数字" in by_name  # the category menu
    assert "您的诉求属于哪一类" in again
    assert "已取消" in typed or "取消" in typed, typed


async def test_a_number_not_on_the_menu_never_becomes_a_button(
    served: Application, wechat: FakeWeChat
) -> None:
    first = await wechat.user_event(RESIDENT, "subscribe")
    assert "2  English" in first and "3 " not in first
    await wechat.user_sends(RESIDENT, "7")  # not on the menu: plain text, no tap
    assert "Which community" not in wechat.last(RESIDENT)
    assert "哪个社区" not in wechat.last(RESIDENT)
    await wechat.user_sends(RESIDENT, "English")  # a button's text works like its number
    await wechat.wait_for(RESIDENT, "Which community do you live in?")


async def test_wechats_retries_of_one_message_are_handled_once(
    database_url: str, wechat: FakeWeChat, uow: UnitOfWork
) -> None:
    """The handler is slower than WeChat waits (a budget below the work): the callback answers
    `success`, WeChat's three tries arrive, the answer comes once through the
    customer-service API."""
    await make_map(uow)
    application = await started(database_url, wechat, wechat_reply_budget_seconds=0.001)
    server = TestServer(application.web_app)
    await server.start_server()
    wechat.bot_url = str(server.make_url("")).rstrip("/")
    try:
        message = wechat._message(RESIDENT, "event", Event="subscribe")
        for _ in range(3):
            assert await wechat.deliver(message) == ""
        assert application.wechat is not None
        await application.wechat.drain()
        prompts = [s for s in wechat.screens(RESIDENT) if "请选择语言" in s]
        assert len(prompts) == 1
        assert [s.how for s in wechat.seen[RESIDENT]] == ["custom"]
    finally:
        await server.close()
        await application.close()


async def test_an_expired_token_is_refreshed_once_and_the_message_sent(
    database_url: str, wechat: FakeWeChat, uow: UnitOfWork
) -> None:
    await make_map(uow)
    application = await started(database_url, wechat, wechat_reply_budget_seconds=0.001)
    server = TestServer(application.web_app)
    await server.start_server()
    wechat.bot_url = str(server.make_url("")).rstrip("/")
    try:
        await wechat.user_event(RESIDENT, "subscribe")
        assert application.wechat is not None
        await application.wechat.drain()
        wechat.expire_token_once()
        await wechat.user_sends(RESIDENT, "1")
        await application.wechat.drain()
        assert "渝北区" in wechat.last(RESIDENT)  # the district menu after the language
        assert wechat.tokens_issued == 2
    finally:
        await server.close()
        await application.close()


async def test_outside_the_window_a_notice_waits_for_the_next_message(
    served: Application, wechat: FakeWeChat
) -> None:
    await onboard(wechat)
    assert served.wechat is not None
    wechat.window_closed.add(RESIDENT)
    await served.wechat.bot.send_message(chat_id_of(RESIDENT), "您的诉求有了新进展")
    assert "您的诉求有了新进展" not in wechat.screens(RESIDENT)
    wechat.window_closed.clear()
    reply = await wechat.user_sends(RESIDENT, "/help")
    assert reply.startswith("您的诉求有了新进展")


async def test_hostile_or_forged_posts_are_refused(served: Application, wechat: FakeWeChat) -> None:
    message = wechat._message(RESIDENT, "text", Content="你好")
    query, body = wechat.signed_request(message)
    async with aiohttp.ClientSession() as http:
        url = f"{wechat.bot_url}/wechat"
        forged = {**query, "msg_signature": "0" * 40}
        assert (await http.post(url, params=forged, data=body)).status == 400
        doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><xml><a>&e;</a></xml>'
        assert (await http.post(url, params=query, data=doctype)).status == 400
        huge = b"<xml>" + b"a" * 100_000 + b"</xml>"
        assert (await http.post(url, params=query, data=huge)).status == 413
    assert wechat.screens(RESIDENT) == []


async def test_a_location_in_gcj02_reaches_the_bot_in_wgs84(
    served: Application, wechat: FakeWeChat
) -> None:
    from bot.domain.coordinates import gcj02_to_wgs84, wgs84_to_gcj02

    gcj = wgs84_to_gcj02(29.5570, 106.5770)
    assert gcj02_to_wgs84(*gcj) == pytest.approx((29.5570, 106.5770), abs=1e-6)
    assert served.wechat is not None
    update = await served.wechat.update_for(
        chat_id_of(RESIDENT),
        {"MsgType": "location", "Location_X": str(gcj[0]), "Location_Y": str(gcj[1])},
    )
    assert update is not None and update.message is not None and update.message.location
    assert update.message.location.latitude == pytest.approx(29.5570, abs=1e-6)
    assert update.message.location.longitude == pytest.approx(106.5770, abs=1e-6)


async def test_unfollowing_marks_the_account_blocked_and_following_again_clears_it(
    served: Application, wechat: FakeWeChat, database_url: str
) -> None:
    await onboard(wechat)

    async def blocked() -> bool:
        engine = make_engine(database_url)
        async with make_session_factory(engine)() as session:
            at = await session.scalar(
                select(ChannelAccount.blocked_at).where(ChannelAccount.channel == "wechat")
            )
        await engine.dispose()
        return at is not None

    assert await wechat.user_event(RESIDENT, "unsubscribe") == ""
    assert served.wechat is not None
    await served.wechat.drain()
    assert await blocked()
    await asyncio.sleep(1.1)  # WeChat tells events apart by sender and second
    await wechat.user_event(RESIDENT, "subscribe")
    assert not await blocked()


async def test_the_account_menu_is_set_from_the_command_list(
    served: Application, wechat: FakeWeChat
) -> None:
    menu = wechat.menus[-1]
    assert menu[0] == {"type": "click", "name": "求助", "key": "/need"}
    keys = [sub["key"] for button in menu for sub in button.get("sub_button", [button])]
    assert "/mine" in keys and "/volunteer" in keys and len(menu) <= 3
    await onboard(wechat)
    clicked = await wechat.user_event(RESIDENT, "CLICK", "/mine")
    typed = await wechat.user_sends(RESIDENT, "/mine")
    assert clicked and clicked == typed  # the same flow as typing /mine


async def test_a_plaintext_post_is_refused_when_the_account_is_in_safe_mode(
    served: Application, wechat: FakeWeChat
) -> None:
    """Without safe mode a signature covers no body: with a key set, plaintext is refused,
    or anyone holding one signed URL could post as any follower."""
    wechat.safe_mode = False
    query, body = wechat.signed_request(wechat._message(RESIDENT, "text", Content="/help"))
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{wechat.bot_url}/wechat", params=query, data=body.encode())
    assert response.status == 400
    assert wechat.screens(RESIDENT) == []


async def test_an_old_menus_number_is_plain_text_once_a_message_without_buttons_came(
    served: Application, wechat: FakeWeChat
) -> None:
    await onboard(wechat)
    await wechat.user_sends(RESIDENT, "/need")  # the category menu
    assert served.wechat is not None
    await served.wechat.bot.send_message(chat_id_of(RESIDENT), "社区通知：明天停水")
    await wechat.user_sends(RESIDENT, "1")
    # "1" was not a tap on the first category: the category step took it as typed text.
    assert wechat.last(RESIDENT).startswith("已记下您的诉求：\n1\n")


async def test_a_slow_answer_comes_once_in_order_and_a_retry_gets_the_first_answer(
    database_url: str, wechat: FakeWeChat, uow: UnitOfWork
) -> None:
    await make_map(uow)
    application = await started(database_url, wechat, wechat_reply_budget_seconds=0.001)
    server = TestServer(application.web_app)
    await server.start_server()
    wechat.bot_url = str(server.make_url("")).rstrip("/")
    try:
        assert application.wechat is not None
        first = await wechat.user_event(RESIDENT, "subscribe")
        await application.wechat.drain()
        screen = wechat.last(RESIDENT)
        await wechat.user_sends(RESIDENT, number_of(screen, "中文"))
        await application.wechat.drain()
        for label in ("渝北区", "甲街道", "甲一社区"):
            await wechat.user_sends(RESIDENT, number_of(wechat.last(RESIDENT), label))
            await application.wechat.drain()
        seen = wechat.seen[RESIDENT]
        assert first == "" and all(s.how == "custom" for s in seen)
        assert len(seen) == 5  # one message per update, however many the handler sent
        done = seen[-1].text
        assert done.index("甲一社区的居民") < done.index("请问怎么称呼您")  # in order
    finally:
        await server.close()
        await application.close()
