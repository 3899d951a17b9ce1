"""Notices outside WeChat's 48-hour window: a template message when one is configured for the
notice's kind (`WECHAT_TEMPLATES`), else — or when WeChat refuses it — the notice list, against
the fake WeChat on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.channels.wechat import chat_id_of
from bot.services.ports import Notice
from storage.db import make_engine, make_session_factory
from storage.models import ChannelAccount
from storage.uow import UnitOfWork
from tests.integration.test_wechat_channel import RESIDENT, onboard
from tests.support.factories import make_map
from tests.support.fake_wechat import FakeWeChat
from tests.support.wechat_app import serving, started

TEMPLATE = "tmpl-need-progress"


@pytest.fixture
async def served(
    database_url: str, wechat: FakeWeChat, uow: UnitOfWork
) -> AsyncIterator[Application]:
    await make_map(uow)
    application = await started(
        database_url, wechat, wechat_templates={"need.public_note": TEMPLATE}
    )
    async with serving(application, wechat):
        yield application


async def person_of(database_url: str, openid: str = RESIDENT) -> int:
    engine = make_engine(database_url)
    async with make_session_factory(engine)() as session:
        person_id = await session.scalar(
            select(ChannelAccount.person_id).where(ChannelAccount.channel == "wechat")
        )
    await engine.dispose()
    assert person_id is not None
    return int(person_id)


def note(person_id: int, text: str = "师傅明天上午到") -> Notice:
    return Notice(person_id, "need.public_note", {"reference": "N-0042", "text": text})


async def test_a_refused_notice_with_a_template_goes_as_a_template_message(
    served: Application, wechat: FakeWeChat, database_url: str
) -> None:
    await onboard(wechat)
    person_id = await person_of(database_url)
    wechat.window_closed.add(RESIDENT)  # WeChat answers 45015
    await served.notifier.send([note(person_id)])
    [sent] = wechat.templates
    assert sent["touser"] == RESIDENT and sent["template_id"] == TEMPLATE
    assert set(sent["data"]) == {"first", "keyword1", "remark"}
    assert "N-0042" in sent["data"]["keyword1"]["value"]
    assert "师傅明天上午到" in sent["data"]["keyword1"]["value"]
    assert "回复" in sent["data"]["remark"]["value"]  # in the resident's language
    # Sent whole as a template: it does not come again with the next message.
    wechat.window_closed.clear()
    reply = await wechat.user_sends(RESIDENT, "/help")
    assert "师傅明天上午到" not in reply


async def test_after_48_hours_a_notice_goes_as_a_template_and_a_kind_without_one_waits(
    served: Application, wechat: FakeWeChat, database_url: str
) -> None:
    await onboard(wechat)
    person_id = await person_of(database_url)
    assert served.wechat is not None
    await served.wechat.state.put(f"seen:{chat_id_of(RESIDENT)}", "", -1)  # 48 hours passed
    await served.notifier.send([note(person_id)])
    assert len(wechat.templates) == 1
    other = Notice(person_id, "need.new_in_queue", {"reference": "N-0043"})
    await served.notifier.send([other])
    assert len(wechat.templates) == 1  # no template for need.new_in_queue
    reply = await wechat.user_sends(RESIDENT, "/help")
    assert "N-0043" in reply.split("\n\n")[0]  # the waiting notice comes first


async def test_a_template_wechat_refuses_falls_back_to_the_notice_list(
    served: Application, wechat: FakeWeChat, database_url: str
) -> None:
    await onboard(wechat)
    person_id = await person_of(database_url)
    wechat.window_closed.add(RESIDENT)
    wechat.not_following.add(RESIDENT)  # 43004
    await served.notifier.send([note(person_id, "第一条")])
    wechat.not_following.clear()
    wechat.known_templates.add("another-template")  # 40037: our template id is wrong
    await served.notifier.send([note(person_id, "第二条")])
    assert wechat.templates == []
    wechat.window_closed.clear()
    reply = await wechat.user_sends(RESIDENT, "/help")
    assert reply.index("第一条") < reply.index("第二条")  # both waited, in order


async def test_a_long_notice_shows_its_start_in_the_template_and_waits_in_full(
    served: Application, wechat: FakeWeChat, database_url: str
) -> None:
    await onboard(wechat)
    person_id = await person_of(database_url)
    wechat.window_closed.add(RESIDENT)
    long_text = "甲" * 150 + "乙" * 150
    await served.notifier.send([note(person_id, long_text)])
    [sent] = wechat.templates
    assert sent["data"]["keyword1"]["value"].endswith("…")
    assert "乙" * 150 not in sent["data"]["keyword1"]["value"]
    wechat.window_closed.clear()
    reply = await wechat.user_sends(RESIDENT, "/help")
    assert "乙" * 150 in reply


async def test_following_again_says_the_data_is_kept_and_how_to_erase_it(
    served: Application, wechat: FakeWeChat
) -> None:
    await onboard(wechat)
    assert served.wechat is not None
    assert await wechat.user_event(RESIDENT, "unsubscribe") == ""
    await served.wechat.drain()
    await asyncio.sleep(1.1)  # WeChat tells events apart by sender and second
    back = await wechat.user_event(RESIDENT, "subscribe")
    assert back.startswith("欢迎回来") and "/deleteme" in back
    await asyncio.sleep(1.1)
    wechat.seen.clear()
    await wechat.user_event(RESIDENT, "unsubscribe")
    await served.wechat.drain()
    await asyncio.sleep(1.1)
    # Said on every return, and never to someone following for the first time.
    again = await wechat.user_event(RESIDENT, "subscribe")
    assert again.startswith("欢迎回来")
    await asyncio.sleep(1.1)
    first = await wechat.user_event("oWushe_newcomer_0002", "subscribe")
    assert "欢迎回来" not in first and "/deleteme" not in first
