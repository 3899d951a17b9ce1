"""A consultation in chat, through the routers of handlers/consultations/: opened by a worker
(the form), discussed and voted by residents (one vote recorded from paper), closed and
counted, decided by the party reviewer, its minutes downloaded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Role, ScopeLevel
from storage.models import Consultation
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import make_map, make_person

WORKER, LI, ZHANG, PARTY = 7601, 7602, 7603, 7604


@pytest.fixture
async def chat(engine: AsyncEngine) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def move(uow: UnitOfWork, **ends: object) -> None:
    async with uow:
        await uow.session.execute(update(Consultation).values(**ends))
        await uow.commit()


async def open_page(chat: ChatHarness, user: int) -> str:
    await chat.send(user, "/consult")
    await chat.tap(user, "C1 ")
    return chat.last_text(user)


async def test_a_consultation_runs_from_the_form_to_the_decision(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    w = await make_map(uow)
    here = ((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    await make_person(uow, "韩主任", community=w.community_a1, grants=here, web_id=WORKER)
    await make_person(uow, "老李", community=w.community_a1, web_id=LI)
    zhang = await make_person(uow, "张大爷", community=w.community_a1, web_id=ZHANG)
    party = ((Role.PARTY_REVIEWER, ScopeLevel.COMMUNITY, w.community_a1),)
    await make_person(uow, "党委书记", community=w.community_a1, grants=party, web_id=PARTY)

    # The form.
    await chat.send(WORKER, "/consult")
    await chat.tap(WORKER, "发起新的协商议事")
    await chat.send(WORKER, "加装电梯费用分摊")
    await chat.send(WORKER, "三号楼居民申请加装电梯，需要商议费用如何分摊。")
    await chat.send(WORKER, "按楼层分摊\n平均分摊")
    await chat.send(WORKER, "1")
    await chat.send(WORKER, "1")
    await chat.tap(WORKER, "匿名")
    await chat.tap(WORKER, "是，重大事项")
    await chat.tap(WORKER, "不开会")
    await chat.tap(WORKER, "发起")
    assert any("已发起，正在通知居民" in s for s in chat.screens(WORKER))

    # Opinions.
    assert "加装电梯费用分摊" in await open_page(chat, LI)
    await chat.tap(LI, "发表意见")
    await chat.send(LI, "高层住户用得多，应该多出一些。")
    assert "您的意见已发表" in chat.last_text(LI)
    await open_page(chat, ZHANG)
    await chat.tap(ZHANG, "意见")
    assert "高层住户用得多" in chat.last_text(ZHANG)
    await chat.tap(ZHANG, "支持（0）")

    # The vote, one of them on paper.
    now = utcnow()
    await move(uow, discussion_ends_at=now - timedelta(minutes=1))
    assert "投票中" in await open_page(chat, LI)
    await chat.tap(LI, "投票")
    await chat.tap(LI, "按楼层分摊")
    await open_page(chat, WORKER)
    await chat.tap(WORKER, "录入纸质投票")
    await chat.send(WORKER, str(zhang))
    await chat.tap(WORKER, "平均分摊")

    # Closed and counted; decided by the party reviewer; the minutes.
    await move(uow, voting_ends_at=now - timedelta(seconds=1))
    await open_page(chat, WORKER)
    await chat.tap(WORKER, "结束并计票")
    result = next(s for s in reversed(chat.screens(WORKER)) if "C1 结果" in s)
    assert "按楼层分摊: 1" in result and "平均分摊: 1" in result
    await open_page(chat, PARTY)
    await chat.tap(PARTY, "记录决定")
    await chat.send(PARTY, "按楼层分摊，低层住户适当减免。")
    await chat.send(PARTY, now.date().isoformat())
    await chat.send(PARTY, "党委会议审议了居民投票结果，同意按楼层分摊。")
    assert any("决定已记录" in s for s in chat.screens(PARTY))
    assert "按楼层分摊，低层住户适当减免" in chat.last_text(PARTY)
    assert "已决定" in await open_page(chat, WORKER)
    await chat.tap(WORKER, "会议纪要")
    assert chat.hub.conversation(WORKER).events[-1]["type"] == "document"
