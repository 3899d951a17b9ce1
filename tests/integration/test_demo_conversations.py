"""The demo district seen in chat: a worker, a volunteer and a resident of 磁器口 open their
screens and each finds something there (python -m bot demo-data)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Channel
from bot.services import demo, demo_activity
from bot.services.crypto import PersonalDataCipher
from storage.models import ChannelAccount
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness

WORKER, VOLUNTEER, RESIDENT = 7301, 7302, 7303


@pytest.fixture
async def chat(engine: AsyncEngine) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def _demo_with_chats(uow: UnitOfWork) -> None:
    await demo.load_demo(uow)
    communities, person_ids = await demo.demo_names(uow)
    await demo_activity.load_activity(
        uow,
        PersonalDataCipher(b"test-secret"),  # the harness's cipher
        communities=communities,
        person_ids=person_ids,
        tz=ZoneInfo("Asia/Shanghai"),
    )
    async with uow:
        for name, web_id in (("王丽", WORKER), ("李明", VOLUNTEER), ("杨大爷", RESIDENT)):
            await uow.people.add_account(
                ChannelAccount(
                    person_id=person_ids[name],
                    channel=Channel.WEB,
                    external_id=str(web_id),
                    chat_id=str(web_id),
                )
            )
        await uow.commit()


def _all(chat: ChatHarness, user: int) -> str:
    """Every bot message's text and button labels in the chat."""
    conversation = chat.hub.conversation(user)
    labels = [
        button["text"]
        for message in conversation.messages.values()
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for button in row
    ]
    return "\n".join(chat.screens(user) + labels)


async def test_every_screen_of_the_demo_district_shows_something(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    await _demo_with_chats(uow)

    await chat.send(WORKER, "/queue")
    assert "诉求队列：未办结，共 2 件" in _all(chat, WORKER) and "CQK-" in _all(chat, WORKER)
    await chat.send(WORKER, "/volunteers")
    assert "待认证：1 人" in _all(chat, WORKER)  # 罗婷 waits for verification
    await chat.send(WORKER, "/records")
    await chat.send(WORKER, "/projects")
    assert "银龄陪伴计划" in _all(chat, WORKER)
    await chat.send(WORKER, "/resources")
    assert "磁器口社区活动室" in _all(chat, WORKER)
    await chat.send(WORKER, "/consult")
    assert "老街停车位怎么划" in _all(chat, WORKER)
    await chat.send(WORKER, "/stats")
    assert "对照 2025 年目标的指标" in _all(chat, WORKER)

    await chat.send(VOLUNTEER, "/shifts")
    assert "老街环境清洁" in _all(chat, VOLUNTEER)
    await chat.send(VOLUNTEER, "/myshifts")
    assert "✅ 您已报名" in chat.last_text(VOLUNTEER)
    await chat.send(VOLUNTEER, "/hours")
    assert "小时" in chat.last_text(VOLUNTEER)
    await chat.send(VOLUNTEER, "/tasks")
    assert "分派给我的诉求：1 件" in _all(chat, VOLUNTEER)

    await chat.send(RESIDENT, "/mine")
    assert "CQK-" in _all(chat, RESIDENT)  # his two requests
