"""Whole conversations through the real Dispatcher, answered by a recording session."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Channel, Role, ScopeLevel
from bot.services import people
from handlers.common.deeplinks import deep_link
from storage.db import make_session_factory
from storage.models import ChannelAccount, Person, RoleGrant
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person

USER = 5001
OPENED_TEST_LINKS: list[str] = []


@deep_link("test_")
async def open_test_link(message: object, rest: str, data: object) -> None:
    OPENED_TEST_LINKS.append(rest)


@pytest.fixture
async def world(uow: UnitOfWork) -> Map:
    return await make_map(uow, extra_communities_in_a=9)


@pytest.fixture
async def chat(engine: AsyncEngine, world: Map) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def resident_rows(engine: AsyncEngine) -> list[tuple[str, str, int | None]]:
    async with make_session_factory(engine)() as session:
        rows = await session.execute(
            select(ChannelAccount.channel, ChannelAccount.external_id, Person.community_id)
            .join(Person, Person.id == ChannelAccount.person_id)
            .order_by(ChannelAccount.id)
        )
        return [(c.value, e, p) for c, e, p in rows.all()]


async def test_onboarding_in_chinese_makes_a_resident(
    chat: ChatHarness, engine: AsyncEngine, world: Map
) -> None:
    await chat.send(USER, "/start")
    assert chat.last_text(USER) == "请选择语言 / Please choose your language"
    await chat.tap(USER, "中文")
    assert "您住在哪个社区？" in chat.last_text(USER)
    assert "请选择区县" in chat.last_text(USER)
    await chat.tap(USER, "渝北区")
    assert "请选择街道或乡镇" in chat.last_text(USER)
    await chat.tap(USER, "甲街道")
    assert "请选择社区或村" in chat.last_text(USER)
    await chat.tap(USER, "甲一社区")
    screens = chat.screens(USER)
    assert "完成！您已登记为甲一社区的居民。" in screens
    # Then how to call them (称呼): offered, and skippable.
    assert screens[-1].startswith("请问怎么称呼您？")
    await chat.tap(USER, "跳过")
    assert chat.last_text(USER).startswith("您可以使用以下功能：")
    assert await resident_rows(engine) == [("web", str(USER), world.community_a1)]


async def test_onboarding_in_english_speaks_english_from_the_language_choice_on(
    chat: ChatHarness,
) -> None:
    await chat.onboard(USER, language="English", path=("Yubei", "Street B", "B-One"))
    screens = chat.screens(USER)
    assert "Done! You are now registered as a resident of B-One Village." in screens
    await chat.send(USER, "/help")
    assert "/me — Your profile, roles and community" in chat.last_text(USER)


async def test_long_lists_are_paged(chat: ChatHarness) -> None:
    await chat.send(USER, "/start")
    await chat.tap(USER, "中文")
    await chat.tap(USER, "渝北区")
    await chat.tap(USER, "甲街道")
    first = chat.last_text(USER)
    _, page_button = chat.find_button(USER, "1/2")
    assert page_button
    await chat.tap(USER, "›")
    second_ids = chat.find_button(USER, "2/2")
    assert second_ids
    assert "甲附07社区" in str(chat.hub.conversation(USER).events[-2:])
    assert first == chat.last_text(USER)  # same title, next page of buttons
    await chat.tap(USER, "‹")
    chat.find_button(USER, "甲一社区")


async def test_back_goes_up_one_level(chat: ChatHarness) -> None:
    await chat.send(USER, "/start")
    await chat.tap(USER, "中文")
    await chat.tap(USER, "渝北区")
    await chat.tap(USER, "乙街道")
    await chat.tap(USER, "返回")
    assert "请选择街道或乡镇" in chat.last_text(USER)
    await chat.tap(USER, "返回")
    assert "请选择区县" in chat.last_text(USER)


async def test_typing_instead_of_tapping_asks_the_question_again(chat: ChatHarness) -> None:
    await chat.send(USER, "/start")
    await chat.send(USER, "hello")
    assert chat.last_text(USER) == (
        "请点下面的按钮回答（不想继续请发送 /cancel）。\n\n请选择语言 / Please choose your language"
    )
    assert chat.find_button(USER, "中文")


async def test_cancel_works_in_any_state_and_says_when_there_is_nothing(
    chat: ChatHarness,
) -> None:
    await chat.send(USER, "/start")
    await chat.send(USER, "/cancel")
    assert chat.last_text(USER).startswith("已取消")
    await chat.send(USER, "/cancel")
    assert chat.last_text(USER).startswith("当前没有可取消的操作")


async def test_unknown_text_and_commands_get_a_hint(chat: ChatHarness) -> None:
    await chat.onboard(USER, path=("渝北区", "乙街道", "乙一村"))
    await chat.send(USER, "你好")
    assert chat.last_text(USER) == "抱歉，我没有理解。发送 /help 查看可用功能。"
    await chat.send(USER, "/frobnicate")
    assert chat.last_text(USER) == "没有这个指令。发送 /help 查看可用功能。"


async def test_me_shows_number_community_and_roles(chat: ChatHarness, engine: AsyncEngine) -> None:
    await chat.onboard(USER, path=("渝北区", "乙街道", "乙一村"))
    await chat.send(USER, "/me")
    text = chat.last_text(USER)
    assert "所在社区：渝北区 / 乙街道 / 乙一村" in text
    assert "• 居民 — 社区/村 乙一村" in text
    assert "已关联的聊天应用：网页聊天" in text


async def test_language_can_be_changed_later(chat: ChatHarness) -> None:
    await chat.onboard(USER, path=("渝北区", "乙街道", "乙一村"))
    await chat.send(USER, "/language")
    await chat.tap(USER, "English")
    assert chat.last_text(USER) == "Language set to English."
    await chat.send(USER, "/me")
    assert "Community: Yubei District / Street B / B-One Village" in chat.last_text(USER)
    commands = [e for e in chat.hub.conversation(USER).events if e["type"] == "commands"]
    assert commands[-1]["commands"][0]["description"] == "Start, or go back to the beginning"


async def test_a_forged_community_id_is_refused_and_changes_nothing(
    chat: ChatHarness, engine: AsyncEngine
) -> None:
    await chat.send(USER, "/start")
    await chat.tap(USER, "中文")
    # A client that invents callback data is stopped at the adapter...
    message_id, _ = chat.find_button(USER, "渝北区")
    with pytest.raises(AssertionError):
        await chat.tap_data(USER, message_id, "pl:h:pick:c:0:99999:0")
    # ...and data that reaches the bot anyway (any channel) is re-checked by the service.
    update = {
        "update_id": 1,
        "callback_query": {
            "id": "forged",
            "from": chat.webchat.user(USER, "zh"),
            "chat_instance": "1",
            "message": {
                k: v
                for k, v in chat.hub.conversation(USER).messages[message_id].items()
                if not k.startswith("_")
            },
            "data": "pl:h:pick:c:0:99999:0",
        },
    }
    from aiogram.types import Update

    chat.hub.remember_query("forged", USER)
    await chat.dispatcher.feed_update(chat.bot, Update.model_validate(update), channel=Channel.WEB)
    assert chat.alerts(USER)[-1] == "该记录已不存在，请重新开始。"
    assert await resident_rows(engine) == [("web", str(USER), None)]


async def test_a_deep_link_opened_before_onboarding_is_followed_after_it(
    chat: ChatHarness,
) -> None:
    opened = OPENED_TEST_LINKS
    opened.clear()
    await chat.send(USER, "/start test_abc")
    assert opened == []
    await chat.tap(USER, "中文")
    for label in ("渝北区", "乙街道", "乙一村"):
        await chat.tap(USER, label)
    # The name step comes first and keeps the link: followed once the name is given.
    assert opened == []
    await chat.send(USER, "王阿姨")
    assert opened == ["abc"]
    await chat.send(USER, "/start test_again")
    assert opened == ["abc", "again"]
    await chat.send(USER, "/start nobody_owns_this")
    assert chat.last_text(USER) == "此链接无效或已过期。"


async def test_an_unexpected_error_gets_an_apology_not_silence(
    chat: ChatHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await chat.onboard(USER, path=("渝北区", "乙街道", "乙一村"))

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(people, "profile", broken)
    await chat.send(USER, "/me")
    assert chat.last_text(USER) == "抱歉，系统出了点问题，请稍后再试。"


async def test_residents_cannot_grant_roles(chat: ChatHarness) -> None:
    await chat.onboard(USER, path=("渝北区", "乙街道", "乙一村"))
    await chat.send(USER, "/grant")
    assert chat.last_text(USER) == "只有街道和区县管理员可以授予角色。"


async def test_a_street_admin_grants_a_role_in_chat(
    chat: ChatHarness, uow: UnitOfWork, world: Map, engine: AsyncEngine
) -> None:
    admin = 6001
    await make_person(
        uow,
        "街道管理员",
        community=world.community_a1,
        web_id=admin,
        grants=((Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),),
    )
    worker = await make_person(uow, "张三", community=world.community_a2)
    await chat.send(admin, "/grant")
    await chat.send(admin, "abc")
    assert chat.last_text(admin) == "请发送对方的编号，例如 42。"
    await chat.send(admin, str(worker))
    assert "要授予 张三 什么角色？" in chat.last_text(admin)
    with pytest.raises(AssertionError):  # not offered: above the admin's level
        chat.find_button(admin, "街道管理员")
    await chat.tap(admin, "社会工作者")
    await chat.tap(admin, "渝北区")
    await chat.tap(admin, "甲街道")
    await chat.tap(admin, "甲二社区")
    await chat.tap(admin, "是")
    assert "确定授予 张三" in chat.last_text(admin)
    await chat.tap(admin, "确认")
    assert chat.last_text(admin) == "完成：张三 现为甲二社区的“社会工作者”。"
    async with make_session_factory(engine)() as session:
        grant = (
            await session.scalars(select(RoleGrant).where(RoleGrant.person_id == worker))
        ).one()
        assert (grant.role, grant.community_id, grant.certified) == (
            Role.SOCIAL_WORKER,
            world.community_a2,
            True,
        )


async def test_a_street_admin_cannot_grant_outside_the_street(
    chat: ChatHarness, uow: UnitOfWork, world: Map
) -> None:
    admin = 6001
    await make_person(
        uow,
        "街道管理员",
        community=world.community_a1,
        web_id=admin,
        grants=((Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),),
    )
    worker = await make_person(uow, "李四", community=world.community_b1)
    await chat.send(admin, "/grant")
    await chat.send(admin, str(worker))
    await chat.tap(admin, "社区工作者")
    await chat.tap(admin, "渝北区")
    await chat.tap(admin, "乙街道")
    await chat.tap(admin, "乙一村")
    await chat.tap(admin, "确认")
    # The tap was already answered, so the refusal comes as a message (as on Telegram).
    assert chat.last_text(admin) == "抱歉，您无权在此进行该操作。"


async def test_telegram_admins_from_settings_are_superadmins(
    engine: AsyncEngine, world: Map
) -> None:
    harness = ChatHarness(engine, channel=Channel.TELEGRAM, admin_telegram_ids="777")
    try:
        await harness.onboard(777, path=("渝北区", "乙街道", "乙一村"))
        await harness.send(777, "/grant")
        assert harness.last_text(777).startswith("要为谁授予角色？")
        await harness.onboard(778, path=("渝北区", "乙街道", "乙一村"))
        await harness.send(778, "/grant")
        assert harness.last_text(778) == "只有街道和区县管理员可以授予角色。"
    finally:
        await harness.close()


async def test_linking_joins_web_and_telegram_accounts(engine: AsyncEngine, world: Map) -> None:
    web = ChatHarness(engine, channel=Channel.WEB)
    telegram = ChatHarness(engine, channel=Channel.TELEGRAM)
    try:
        await web.onboard(USER, path=("渝北区", "乙街道", "乙一村"))
        await web.send(USER, "/link")
        code = web.last_text(USER).split("/link ")[1].split()[0]
        await telegram.send(9001, f"/link {code}")
        assert telegram.last_text(9001).startswith("关联成功")
        await telegram.send(9001, "/me")
        assert "已关联的聊天应用：Telegram, 网页聊天" in telegram.last_text(9001) or (
            "已关联的聊天应用：网页聊天, Telegram" in telegram.last_text(9001)
        )
        await telegram.send(9001, f"/link {code}")
        assert "无效、已使用或已过期" in telegram.last_text(9001) or "已关联" in telegram.last_text(
            9001
        )
    finally:
        await web.close()
        await telegram.close()


async def test_a_command_after_link_is_the_command_not_a_code(
    engine: AsyncEngine, world: Map
) -> None:
    web = ChatHarness(engine, channel=Channel.WEB)
    try:
        await web.onboard(USER, path=("渝北区", "乙街道", "乙一村"))
        await web.send(USER, "/link")
        await web.send(USER, "/mine")  # a command of a router after the link step's
        assert "无效、已使用或已过期" not in web.last_text(USER)
        assert "诉求" in web.last_text(USER)
    finally:
        await web.close()
