"""Matching in chat: the worker's suggestions with reasons and one-tap assignment; a low-risk
need offered to volunteers, taken by the first who accepts; /helpnearby."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Role, ScopeLevel
from bot.domain.volunteers import Skill
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person, make_volunteer

RESIDENT, WORKER, HELPER, OTHER_HELPER = 7201, 7202, 7203, 7204


@pytest.fixture
async def chat(engine: AsyncEngine) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine, auto_offer_categories="community_affairs")
    yield harness
    await harness.close()


async def setting(uow: UnitOfWork) -> Map:
    w = await make_map(uow)
    await make_person(uow, "居民老李", community=w.community_a1, web_id=RESIDENT)
    await make_person(
        uow,
        "韩主任",
        community=w.community_a1,
        grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),),
        web_id=WORKER,
    )
    await make_volunteer(uow, w, HELPER, "王芳", 1, Skill.ELDERLY_CARE)
    await make_volunteer(uow, w, OTHER_HELPER, "赵强", 2, Skill.REPAIRS)
    return w


async def file(chat: ChatHarness, category: str, text: str) -> str:
    await chat.send(RESIDENT, "/need")
    await chat.tap(RESIDENT, category)
    await chat.send(RESIDENT, text)
    await chat.tap(RESIDENT, "跳过")
    await chat.tap(RESIDENT, "一般")
    await chat.tap(RESIDENT, "本人")
    await chat.tap(RESIDENT, "不用上门")
    await chat.tap(RESIDENT, "确认")
    return chat.last_text(RESIDENT).split("编号 ")[1].split("。")[0].strip()


async def test_a_worker_assigns_the_suggested_volunteer_with_one_tap(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    await setting(uow)
    reference = await file(chat, "养老服务", "想找人陪老人去医院复查")
    await chat.send(WORKER, "/queue")
    await chat.tap(WORKER, reference)
    await chat.tap(WORKER, "匹配建议")
    text = chat.last_text(WORKER)
    assert f"{reference} 的匹配建议" in text
    first, second = text.split("1. ")[1], text.split("2. ")[1]
    assert first.startswith("王芳 — 服务本社区; 特长：养老服务")  # the skilled one first
    assert second.startswith("赵强 — 服务本社区; 无对口特长")
    await chat.tap(WORKER, "分派给王芳")
    assert any(f"诉求 {reference} 已分派给您" in s for s in chat.screens(HELPER))
    await chat.send(HELPER, "/tasks")
    assert reference in chat.last_text(HELPER)


async def test_a_low_risk_need_goes_to_the_volunteer_who_accepts_first(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    await setting(uow)
    reference = await file(chat, "社区事务", "楼道灯坏了，想请人帮忙换灯泡")
    for volunteer in (HELPER, OTHER_HELPER):
        assert any(f"您附近的诉求 {reference}" in s for s in chat.screens(volunteer))
    await chat.tap(OTHER_HELPER, "我来接单")
    assert chat.last_text(OTHER_HELPER).startswith(f"诉求 {reference} 由您承接")
    await chat.tap(HELPER, "我来接单")
    assert chat.alerts(HELPER)[-1] == "已有其他志愿者承接了这条诉求。同样感谢您！"
    assert any(f"志愿者赵强已承接诉求 {reference}" in s for s in chat.screens(WORKER))


async def test_a_volunteer_offers_help_from_helpnearby(chat: ChatHarness, uow: UnitOfWork) -> None:
    await setting(uow)
    reference = await file(chat, "养老服务", "老人需要有人帮忙买菜")
    await chat.send(HELPER, "/helpnearby")
    assert reference in chat.last_text(HELPER) and "与您的特长相符" in chat.last_text(HELPER)
    await chat.tap(HELPER, "我可以帮忙")
    assert chat.last_text(HELPER).startswith("谢谢！已告知社区工作者")
    assert any(f"志愿者王芳愿意帮忙处理诉求 {reference}" in s for s in chat.screens(WORKER))


async def test_suggestions_on_a_fresh_install_say_why_nobody_fits(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    """No volunteer profile exists yet: filing a community-affairs request (auto-offer) and
    opening Suggestions answer normally instead of "系统出了点问题"."""
    w = await make_map(uow)
    await make_person(uow, "居民老李", community=w.community_a1, web_id=RESIDENT)
    await make_person(
        uow,
        "韩主任",
        community=w.community_a1,
        grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),),
        web_id=WORKER,
    )
    reference = await file(chat, "社区事务", "楼道灯坏了，想请人帮忙换灯泡")
    await chat.send(WORKER, "/queue")
    await chat.tap(WORKER, reference)
    await chat.tap(WORKER, "匹配建议")
    text = chat.last_text(WORKER)
    assert f"{reference} 的匹配建议" in text
    assert "还没有已审核的志愿者服务这里" in text
    assert "出了点问题" not in "".join(chat.screens(WORKER))
