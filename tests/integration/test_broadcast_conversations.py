"""Broadcasts in chat: a worker composes for verified volunteers, sees the count and a preview,
sends; each volunteer reads their own language; the progress message and the report follow.
Opt-outs by topic are respected except in an emergency; pause and cancel hold the rows."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.telegram.sender import OutboxSender, ProgressReporter
from bot.domain.broadcasts import DeliveryState
from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.principal import Grant, Principal
from bot.domain.surveys import parse_survey
from bot.domain.volunteers import Skill
from bot.services import surveys
from storage.models import AuditEntry, OutboxMessage
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person, make_volunteer

WORKER, HELPER, ENGLISH_HELPER, RESIDENT, OUTSIDER = 7301, 7302, 7303, 7304, 7305


@pytest.fixture
async def chat(engine: AsyncEngine) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def setting(uow: UnitOfWork) -> Map:
    w = await make_map(uow)
    await make_person(
        uow,
        "韩主任",
        community=w.community_a1,
        grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),),
        web_id=WORKER,
    )
    await make_volunteer(uow, w, HELPER, "王芳", 1, Skill.ELDERLY_CARE)
    await make_volunteer(uow, w, ENGLISH_HELPER, "Tom", 2, Skill.REPAIRS, locale="en")
    await make_person(uow, "居民老李", community=w.community_a1, web_id=RESIDENT)
    # A volunteer of another street: never in this worker's audience.
    await make_volunteer(
        uow, w, OUTSIDER, "乙村志愿者", 3, Skill.ELDERLY_CARE, community=w.community_b1
    )
    return w


def workers(chat: ChatHarness, uow: UnitOfWork) -> tuple[OutboxSender, ProgressReporter]:
    args = (lambda: UnitOfWork(chat.session_factory), chat.i18n, {Channel.WEB: chat.bot})
    return OutboxSender(*args, chat.settings), ProgressReporter(*args, chat.settings)


async def compose_to_volunteers(chat: ChatHarness, zh: str, en: str | None) -> None:
    await chat.send(WORKER, "/broadcast")
    await chat.tap(WORKER, "已认证志愿者")
    await chat.tap(WORKER, "下一步")  # no skill filter
    await chat.tap(WORKER, "所有人")  # readers of both languages
    await chat.send(WORKER, zh)
    if en is None:
        await chat.tap(WORKER, "跳过")
    else:
        await chat.send(WORKER, en)
    await chat.tap(WORKER, "跳过")  # no photo
    await chat.tap(WORKER, "不加按钮")


async def rows(uow: UnitOfWork) -> dict[int, DeliveryState]:
    async with uow:
        found = await uow.session.execute(select(OutboxMessage.person_id, OutboxMessage.state))
        return {int(p): DeliveryState(s) for p, s in found}


async def test_a_worker_broadcasts_and_each_volunteer_reads_their_language(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    await setting(uow)
    sender, reporter = workers(chat, uow)
    await compose_to_volunteers(
        chat, "周六上午清扫楼道，欢迎参加。", "Stairwell clean-up Saturday."
    )
    assert "将发送给 2 人。" in chat.screens(WORKER)
    screens = chat.screens(WORKER)
    assert "使用中文的读者将收到：\n\n周六上午清扫楼道，欢迎参加。" in screens
    assert "使用英文的读者将收到：\n\nStairwell clean-up Saturday." in screens
    assert not any("[zh]" in s or "[en]" in s for s in screens)
    await chat.tap(WORKER, "立即发送")
    assert "正在发送给 2 人" in chat.last_text(WORKER)

    await sender.send_pending()
    assert chat.last_text(HELPER) == "周六上午清扫楼道，欢迎参加。"
    assert chat.last_text(ENGLISH_HELPER) == "Stairwell clean-up Saturday."
    assert "周六" not in " ".join(chat.screens(OUTSIDER))
    assert "周六" not in " ".join(chat.screens(RESIDENT))

    await reporter.refresh()  # marks it done, edits the progress, sends the report once
    await reporter.refresh()
    screens = chat.screens(WORKER)
    assert any("已发 2 · 失败 0 · 剩余 0 · 共 2" in s for s in screens), screens
    reports = [s for s in screens if s.startswith("群发 #1 报告")]
    assert len(reports) == 1 and "已送达：2" in reports[0], screens
    async with uow:
        audit = await uow.session.scalar(
            select(func.count()).where(AuditEntry.action == "broadcast.create")
        )
    assert audit == 1


async def test_only_the_chinese_is_sent_when_no_english_was_given(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    await setting(uow)
    sender, _ = workers(chat, uow)
    await compose_to_volunteers(chat, "明天停水，请提前储水。", None)
    assert "所有读者都将收到：\n\n明天停水，请提前储水。" in chat.screens(WORKER)  # preview
    await chat.tap(WORKER, "立即发送")
    await sender.send_pending()
    assert chat.last_text(ENGLISH_HELPER) == "明天停水，请提前储水。"


async def test_opted_out_people_are_skipped_but_emergencies_reach_them(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    w = await setting(uow)
    sender, _ = workers(chat, uow)
    await chat.send(HELPER, "/settings")
    await chat.tap(HELPER, "社区消息")
    assert "已关闭：社区消息" in chat.alerts(HELPER)
    await compose_to_volunteers(chat, "社区消息：下周体检。", None)
    await chat.tap(WORKER, "立即发送")
    await sender.send_pending()
    states = await rows(uow)
    assert sorted(states.values()) == [DeliveryState.OPTED_OUT, DeliveryState.SENT]
    assert "下周体检" not in " ".join(chat.screens(HELPER))
    assert "下周体检" in chat.last_text(ENGLISH_HELPER)

    # The emergency mobilisation ignores the opt-out.
    await chat.send(WORKER, "/emergency")
    await chat.tap(WORKER, "甲一社区")
    await chat.send(WORKER, "暴雨导致二号楼进水")
    await chat.tap(WORKER, "是的，开启")
    await sender.send_pending()
    assert "暴雨导致二号楼进水" in chat.last_text(HELPER)
    assert w.community_a1


async def test_a_paused_broadcast_sends_nothing_until_resumed_and_cancel_stops_it(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    await setting(uow)
    sender, reporter = workers(chat, uow)
    await compose_to_volunteers(chat, "第一条", None)
    await chat.tap(WORKER, "立即发送")
    await reporter.refresh()  # the progress message with its buttons
    await chat.tap(WORKER, "暂停")
    await sender.send_pending()
    assert set((await rows(uow)).values()) == {DeliveryState.QUEUED}
    await chat.tap(WORKER, "继续")
    await sender.send_pending()
    assert set((await rows(uow)).values()) == {DeliveryState.SENT}

    await compose_to_volunteers(chat, "第二条", None)
    await chat.tap(WORKER, "立即发送")
    await reporter.refresh()
    await chat.tap(WORKER, "取消群发")
    await sender.send_pending()
    async with uow:
        second = await uow.session.execute(
            select(OutboxMessage.state).where(OutboxMessage.broadcast_id == 2)
        )
        assert {DeliveryState(s) for (s,) in second} == {DeliveryState.CANCELLED}
    assert "第二条" not in " ".join(chat.screens(HELPER))


async def test_only_the_author_controls_a_broadcast(chat: ChatHarness, uow: UnitOfWork) -> None:
    await setting(uow)
    _, reporter = workers(chat, uow)
    await compose_to_volunteers(chat, "一条通知", None)
    await chat.tap(WORKER, "立即发送")
    await reporter.refresh()
    message_id, data = chat.find_button(WORKER, "暂停")
    # A volunteer forges the pause button's data into their own chat: refused, nothing changes.
    await chat.send(HELPER, "/settings")
    helper_message = max(chat.hub.conversation(HELPER).messages)
    chat.hub.conversation(HELPER).messages[helper_message]["reply_markup"] = {
        "inline_keyboard": [[{"text": "x", "callback_data": data}]]
    }
    await chat.tap_data(HELPER, helper_message, data)
    assert "抱歉，您无权在此进行该操作。" in chat.alerts(HELPER)
    assert set((await rows(uow)).values()) == {DeliveryState.QUEUED}
    assert message_id


async def test_residents_cannot_broadcast(chat: ChatHarness, uow: UnitOfWork) -> None:
    await setting(uow)
    await chat.send(RESIDENT, "/broadcast")
    assert "群发由社区工作者" in chat.last_text(RESIDENT)


async def test_a_survey_is_pushed_and_answered_from_the_broadcast_button(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    w = await setting(uow)
    sender, _ = workers(chat, uow)
    author = await make_person(uow, "社工小周", community=w.community_a1)
    worker = Principal(
        author, "zh", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    )
    await surveys.create_survey(
        uow,
        worker,
        spec=parse_survey("养老需求调查\n? 家里有独居老人吗？\n- 有\n- 没有"),
        community_ids=[w.community_a1],
    )
    await chat.send(WORKER, "/broadcast")
    await chat.tap(WORKER, "居民")
    await chat.tap(WORKER, "所有人")
    await chat.send(WORKER, "请花一分钟填写养老需求调查。")
    await chat.tap(WORKER, "跳过")
    await chat.tap(WORKER, "跳过")
    await chat.tap(WORKER, "“填写”我的一份问卷")
    await chat.tap(WORKER, "养老需求调查")
    # Everyone living in A1 with a chat: the worker, both volunteers and the resident.
    assert "将发送给 4 人。" in chat.screens(WORKER)
    # The preview shows each language's readers their button, as they will get it.
    assert "使用中文的读者将收到：\n\n请花一分钟填写养老需求调查。\n[ 填写 ]" in chat.screens(
        WORKER
    )
    assert "使用英文的读者将收到：\n\n请花一分钟填写养老需求调查。\n[ Answer ]" in chat.screens(
        WORKER
    )
    await chat.tap(WORKER, "立即发送")
    await sender.send_pending()
    assert chat.last_text(RESIDENT) == "请花一分钟填写养老需求调查。"
    await chat.tap(RESIDENT, "填写")
    assert "家里有独居老人吗？" in chat.last_text(RESIDENT)
