"""Shifts in chat: /newshift takes the time as people say it (and confirms what it
understood), volunteers whom a new shift fits hear of it (unless they switched it off), a late
sign-up says it cannot be cancelled in chat, and a volunteer still waiting for verification is
told so — through the real Dispatcher on the web chat channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Role, ScopeLevel
from bot.domain.principal import Grant, Place, Principal
from bot.domain.volunteers import Skill, check_character
from bot.services import shifts, volunteers
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import RecordingNotifier
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person, make_volunteer

WORKER, COOK, DRIVER, QUIET, NEWCOMER = 7101, 7102, 7103, 7104, 7105


@pytest.fixture
async def chat(engine: AsyncEngine) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def _worker(uow: UnitOfWork, world: Map, locale: str = "zh") -> Principal:
    person = await make_person(
        uow,
        "李社工",
        community=world.community_a1,
        web_id=WORKER,
        locale=locale,
        grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    return Principal(
        person,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )


def _said(chat: ChatHarness, user: int, words: str) -> bool:
    return any(words in screen for screen in chat.screens(user))


async def test_a_worker_posts_a_shift_for_tomorrow_morning_in_words_and_fitting_volunteers_hear(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await make_map(uow)
    await _worker(uow, world)
    await make_volunteer(uow, world, COOK, "王芳", 1, Skill.COOKING)
    await make_volunteer(uow, world, DRIVER, "张伟", 2, Skill.DRIVING)
    await make_volunteer(uow, world, QUIET, "赵敏", 3, Skill.COOKING)
    await chat.send(QUIET, "/settings")
    await chat.tap(QUIET, "适合我的新班次")  # switched off

    await chat.send(WORKER, "/newshift")
    await chat.tap(WORKER, "甲一社区")
    await chat.send(WORKER, "助餐送餐")
    await chat.send(WORKER, "社区食堂")
    await chat.send(WORKER, "不设位置：仅用现场签到码")
    assert "明天上午9点到11点" in chat.last_text(WORKER)  # the prompt shows how to say it

    await chat.send(WORKER, "明天上午9点到11点")
    tomorrow = (utcnow().astimezone(chat.settings.tz) + timedelta(days=1)).strftime("%Y-%m-%d")
    understood = chat.last_text(WORKER)
    assert "我理解的时间是" in understood
    assert f"{tomorrow} 09:00–11:00" in understood
    await chat.tap(WORKER, "取消")  # not what was meant: type it again
    assert "请重新输入时间" in chat.last_text(WORKER)
    await chat.send(WORKER, "下周六下午2点半到4点")
    assert "周六" in chat.last_text(WORKER) and "14:30–16:00" in chat.last_text(WORKER)
    await chat.send(WORKER, "明天上午9点到11点")  # typing again at the check also works
    await chat.tap(WORKER, "确认")
    assert "需要多少名志愿者" in chat.last_text(WORKER)
    await chat.send(WORKER, "2")
    await chat.tap(WORKER, "烹饪")
    await chat.tap(WORKER, "下一步")
    assert f"{tomorrow} 09:00–11:00" in chat.last_text(WORKER)
    await chat.tap(WORKER, "确认")
    assert _said(chat, WORKER, "班次已发布")
    assert "已通知 1 位" in chat.last_text(WORKER)

    async with uow:
        shift = await uow.shifts.get(1)
        assert shift is not None
        local = shift.starts_at.astimezone(chat.settings.tz)
        assert (local.strftime("%Y-%m-%d"), local.hour, shift.ends_at - shift.starts_at) == (
            tomorrow,
            9,
            timedelta(hours=2),
        )

    assert _said(chat, COOK, "适合您的新班次") and _said(chat, COOK, "助餐送餐")
    assert not _said(chat, DRIVER, "新班次")  # not their skill
    assert not _said(chat, QUIET, "新班次")  # opted out of "shifts"
    await chat.tap(COOK, "报名")
    assert "✅ 您已报名" in chat.last_text(COOK)


async def test_an_english_phrase_is_understood_and_shown_in_english(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await make_map(uow)
    await _worker(uow, world, locale="en")
    await chat.send(WORKER, "/newshift", language="en")
    await chat.tap(WORKER, "A-One", language="en")
    await chat.send(WORKER, "Meals", language="en")
    await chat.send(WORKER, "Canteen", language="en")
    await chat.send(WORKER, "No location: site code only", language="en")
    await chat.send(WORKER, "tomorrow 2pm to 4", language="en")
    tomorrow = utcnow().astimezone(chat.settings.tz) + timedelta(days=1)
    text = chat.last_text(WORKER)
    assert "I understood" in text and f"{tomorrow:%Y-%m-%d} 14:00–16:00" in text
    assert tomorrow.strftime("%a") in text
    await chat.send(WORKER, "whenever suits", language="en")
    assert "Write it like" in chat.last_text(WORKER)
    await chat.send(WORKER, "yesterday 9am to 11am", language="en")
    assert "already passed" in chat.last_text(WORKER)


async def test_a_sign_up_after_the_cancel_deadline_says_it_cannot_be_cancelled_in_chat(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await make_map(uow)
    worker = await _worker(uow, world)
    await make_volunteer(uow, world, COOK, "王芳", 1, Skill.COOKING)
    start = utcnow() + timedelta(hours=5)  # the cancel deadline (12 h before) is past
    await shifts.create_shift(
        uow,
        worker,
        community_id=world.community_a1,
        title="助餐送餐",
        place="社区食堂",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        capacity=3,
    )
    await chat.send(COOK, "/shifts")
    await chat.tap(COOK, "报名")
    text = chat.last_text(COOK)
    assert "✅ 您已报名" in text
    assert "无法在聊天中取消" in text and "请直接告诉组织者" in text
    assert "前操作" not in text  # no deadline that has already passed
    await chat.send(COOK, "/myshifts")
    assert "无法在聊天中取消" in chat.last_text(COOK)
    with pytest.raises(AssertionError, match="no button"):
        chat.find_button(COOK, "取消报名")


async def test_a_sign_up_before_the_deadline_shows_when_it_can_be_cancelled(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await make_map(uow)
    worker = await _worker(uow, world)
    await make_volunteer(uow, world, COOK, "王芳", 1, Skill.COOKING)
    start = utcnow() + timedelta(days=3)
    await shifts.create_shift(
        uow,
        worker,
        community_id=world.community_a1,
        title="助餐送餐",
        place="社区食堂",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        capacity=3,
    )
    await chat.send(COOK, "/shifts")
    await chat.tap(COOK, "报名")
    deadline = (start - timedelta(hours=12)).astimezone(chat.settings.tz)
    assert f"请在 {deadline:%Y-%m-%d %H:%M} 前操作" in chat.last_text(COOK)
    await chat.send(COOK, "/myshifts")
    await chat.tap(COOK, "取消报名")
    assert chat.last_text(COOK).startswith("您的报名已取消。")


async def test_a_volunteer_waiting_for_verification_is_told_so_by_shifts(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await make_map(uow)
    person = await make_person(uow, "钱多多", community=world.community_a1, web_id=NEWCOMER)
    first17 = "50010619850612123"
    await volunteers.register(
        uow,
        PersonalDataCipher(b"test-secret"),
        RecordingNotifier(),
        Principal(person, "zh", home=Place(world.community_a1, world.street_a, world.district)),
        real_name="钱多多",
        id_number=first17 + check_character(first17),
        phone="13800138000",
        skills=[Skill.COOKING],
        tags=[],
        availability=[],
        community_ids=[],
    )
    await chat.send(NEWCOMER, "/shifts")
    text = chat.last_text(NEWCOMER)
    assert "正在等待实名认证" in text
    assert "/volunteer" not in text
