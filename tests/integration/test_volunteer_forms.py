"""The volunteer form never loses what was typed, and the resident ID number stays secret:
not in the chat, not in the conversation state, not in the logs or the audit log."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import make_storage
from bot.channels.webchat import ApiRefusal, WebChatSession
from bot.config import load_settings
from bot.domain.enums import Role, ScopeLevel
from bot.domain.volunteers import check_character
from bot.services import roles, volunteers
from bot.state_storage import ExpiringMemoryStorage, expire_unbounded_state
from storage.db import make_session_factory
from storage.models import AuditEntry, RoleGrant, Volunteer
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.databases import require_env
from tests.support.factories import Map, make_map, make_person

RESIDENT, WORKER, EN_WORKER, NEIGHBOUR, ADMIN = 7301, 7302, 7303, 7304, 7305
FIRST17 = "50010619850612123"
NUMBER = FIRST17 + check_character(FIRST17)
MASKED = NUMBER[:4] + "*" * 10 + NUMBER[-4:]
HIDDEN = NUMBER[4:14]  # what the mask hides: the birth date and more


@pytest.fixture
async def world(uow: UnitOfWork) -> Map:
    world = await make_map(uow)
    c = ScopeLevel.COMMUNITY
    for person, name, locale, grants in (
        (RESIDENT, "王阿姨", "zh", ((Role.RESIDENT, c, world.community_a1),)),
        (NEIGHBOUR, "张大爷", "zh", ((Role.RESIDENT, c, world.community_a1),)),
        (WORKER, "李社工", "zh", ((Role.COMMUNITY_WORKER, c, world.community_a1),)),
        (EN_WORKER, "Anna", "en", ((Role.COMMUNITY_WORKER, c, world.community_a1),)),
        (ADMIN, "街道管理员", "zh", ((Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),)),
    ):
        await make_person(
            uow, name, community=world.community_a1, web_id=person, locale=locale, grants=grants
        )
    return world


@pytest.fixture
async def chat(engine: AsyncEngine, world: Map) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine, storage=ExpiringMemoryStorage(3600))
    yield harness
    await harness.close()


async def start_volunteer(chat: ChatHarness, user: int) -> None:
    """/volunteer and the two consents (the notice, then the ID number) before the form."""
    await chat.send(user, "/volunteer")
    await chat.tap(user, "我同意")
    await chat.tap(user, "我同意")


async def fill_volunteer_form(chat: ChatHarness, user: int, number: str = NUMBER) -> None:
    """/volunteer up to the "Please check" screen."""
    await start_volunteer(chat, user)
    await chat.send(user, "王 芳")
    await chat.send(user, number)
    await chat.send(user, "138 0013 8000")
    await chat.tap(user, "烹饪")
    await chat.tap(user, "下一步")
    await chat.tap(user, "跳过")
    await chat.tap(user, "周六 上午")
    await chat.tap(user, "下一步")
    await chat.tap(user, "下一步")
    assert "请核对" in chat.last_text(user)


async def volunteer_rows(engine: AsyncEngine) -> list[Volunteer]:
    async with make_session_factory(engine)() as session:
        return list((await session.scalars(select(Volunteer))).all())


# ---------------------------------------------------------------- a failed save keeps the form


async def test_a_database_error_on_saving_keeps_the_volunteer_form_and_confirm_again_saves_it(
    chat: ChatHarness, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = volunteers.register
    calls = 0

    async def database_gone_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OperationalError("INSERT INTO volunteers", {}, Exception("server closed"))
        return await real(*args, **kwargs)

    monkeypatch.setattr(volunteers, "register", database_gone_once)
    await fill_volunteer_form(chat, RESIDENT)
    await chat.tap(RESIDENT, "确认")
    assert chat.last_text(RESIDENT) == "抱歉，系统出了点问题，请稍后再试。"
    assert await volunteer_rows(engine) == []
    # Nothing typed is lost: the same Confirm button saves the whole form.
    await chat.tap(RESIDENT, "确认")
    assert "登记成功" in chat.last_text(RESIDENT)
    [row] = await volunteer_rows(engine)
    assert (row.real_name, row.phone, row.skills, row.availability) == (
        "王 芳",
        "13800138000",
        ["cooking"],
        ["sat_am"],
    )
    assert row.id_number_masked == MASKED


async def test_a_failed_grant_keeps_the_form_and_confirm_again_grants(
    chat: ChatHarness, engine: AsyncEngine, world: Map, uow: UnitOfWork, monkeypatch: Any
) -> None:
    worker = await make_person(uow, "张三", community=world.community_a2)
    real = roles.grant_role
    calls = 0

    async def database_gone_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OperationalError("INSERT INTO role_grants", {}, Exception("server closed"))
        return await real(*args, **kwargs)

    monkeypatch.setattr(roles, "grant_role", database_gone_once)
    await chat.send(ADMIN, "/grant")
    await chat.send(ADMIN, str(worker))
    await chat.tap(ADMIN, "社区工作者")
    await chat.tap(ADMIN, "渝北区")
    await chat.tap(ADMIN, "甲街道")
    await chat.tap(ADMIN, "甲二社区")
    await chat.tap(ADMIN, "确认")
    assert chat.last_text(ADMIN) == "抱歉，系统出了点问题，请稍后再试。"
    await chat.tap(ADMIN, "确认")
    assert chat.last_text(ADMIN) == "完成：张三 现为甲二社区的“社区工作者”。"
    async with make_session_factory(engine)() as session:
        grants = (
            await session.scalars(select(RoleGrant).where(RoleGrant.person_id == worker))
        ).all()
    assert [(g.role, g.community_id) for g in grants] == [
        (Role.COMMUNITY_WORKER, world.community_a2)
    ]


# ---------------------------------------------------------------- the same ID number again


async def test_an_id_number_registered_by_someone_else_gets_a_neutral_answer_and_workers_are_told(
    chat: ChatHarness, engine: AsyncEngine
) -> None:
    await fill_volunteer_form(chat, NEIGHBOUR)
    await chat.tap(NEIGHBOUR, "确认")
    assert "登记成功" in chat.last_text(NEIGHBOUR)
    worker_seen = len(chat.screens(WORKER))

    await fill_volunteer_form(chat, RESIDENT)  # the same number, another person
    await chat.tap(RESIDENT, "确认")
    answer = chat.last_text(RESIDENT)
    assert answer == (
        "谢谢您。这份登记暂时无法在网上办完，社区工作人员会联系您，当面帮您办理。您填写的内容都还在。"
    )
    assert "已经完成" not in answer and "身份证" not in answer and "已被" not in answer
    # The workers of the community, each in their own language, are told why and whom to call.
    assert chat.screens(WORKER)[worker_seen:] == [
        f"王 芳（13800138000）的志愿者登记未能完成：所填身份证号（{MASKED}）已被其他志愿者登记。"
        "请联系本人，当面核验身份证件。"
    ]
    assert chat.screens(EN_WORKER)[-1].startswith(
        "王 芳 (13800138000) could not finish a volunteer registration"
    )
    assert len(await volunteer_rows(engine)) == 1
    # The form is kept; a second tap gives the same answer and does not flood the workers.
    await chat.tap(RESIDENT, "确认")
    assert chat.last_text(RESIDENT) == answer
    assert len(chat.screens(WORKER)) == worker_seen + 1


# ---------------------------------------------------------------- the number leaves the chat


async def test_the_id_number_message_is_deleted_and_only_the_masked_number_is_shown(
    chat: ChatHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    deleted: list[tuple[int, int]] = []

    async def delete(self: WebChatSession, params: dict[str, Any], files: Any, bot: Any) -> bool:
        deleted.append((int(params["chat_id"]), int(params["message_id"])))
        return True

    session = chat.bot.session
    assert isinstance(session, WebChatSession)
    monkeypatch.setitem(session._methods, "deleteMessage", delete.__get__(session))
    await start_volunteer(chat, RESIDENT)
    await chat.send(RESIDENT, "王 芳")
    wrong = FIRST17 + ("0" if NUMBER[-1] != "0" else "1")
    answer = await chat.send(RESIDENT, wrong)  # a mistyped number is deleted too
    typed = [e["message_id"] for e in answer if e.get("from") == "user"]
    assert deleted == [(RESIDENT, typed[0])]
    assert chat.screens(RESIDENT)[-2:] == [
        "为了您的安全，含完整号码的那条消息已删除。",
        "最后一位校验码不符，请检查号码。",
    ]
    answer = await chat.send(RESIDENT, NUMBER)
    typed = [e["message_id"] for e in answer if e.get("from") == "user"]
    assert deleted[-1] == (RESIDENT, typed[0])
    assert chat.screens(RESIDENT)[-2] == (
        f"身份证号：{MASKED}\n为了您的安全，含完整号码的那条消息已删除。"
    )
    bot_texts = "\n".join(chat.screens(RESIDENT))
    assert NUMBER not in bot_texts and HIDDEN not in bot_texts


async def test_a_channel_that_refuses_the_deletion_does_not_stop_the_form(
    chat: ChatHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(self: WebChatSession, params: dict[str, Any], files: Any, bot: Any) -> bool:
        raise ApiRefusal(400, "Bad Request: message can't be deleted")

    session = chat.bot.session
    assert isinstance(session, WebChatSession)
    monkeypatch.setitem(session._methods, "deleteMessage", refuse.__get__(session))
    await start_volunteer(chat, RESIDENT)
    await chat.send(RESIDENT, "王 芳")
    await chat.send(RESIDENT, NUMBER)
    # Not claimed as removed; the form goes on.
    assert chat.screens(RESIDENT)[-2] == f"身份证号：{MASKED}"
    assert chat.last_text(RESIDENT) == "您的手机号码是多少？请直接输入（11 位数字）。"


# ---------------------------------------------------------------- nowhere else in clear


async def redis_values(client: Redis) -> dict[str, str]:
    """Every key of the test Redis database with its whole value, whatever its type."""
    found: dict[str, str] = {}
    async for raw in client.scan_iter():
        key = raw.decode(errors="replace")
        kind = (await client.type(raw)).decode()
        if kind == "string":
            value: Any = await client.get(raw)
        elif kind == "hash":
            value = await client.hgetall(raw)
        elif kind == "list":
            value = await client.lrange(raw, 0, -1)
        elif kind == "set":
            value = await client.smembers(raw)
        elif kind == "zset":
            value = await client.zrange(raw, 0, -1, withscores=True)
        elif kind == "stream":
            value = await client.xrange(raw)
        else:
            value = kind
        found[key] = repr(value)
    return found


def assert_secret(where: str, text: str) -> None:
    assert NUMBER not in text, f"the ID number is in {where}"
    assert HIDDEN not in text, f"the masked digits of the ID number are in {where}"


@pytest.fixture
async def redis_chat(
    engine: AsyncEngine, world: Map
) -> AsyncIterator[tuple[ChatHarness, Redis, int]]:
    url = require_env("TEST_REDIS_URL", "Redis")
    settings = load_settings(redis_url=url, fsm_ttl_seconds=3600)
    client = Redis.from_url(url)
    pattern = f"fsm:*:{RESIDENT}:{RESIDENT}:*"
    stale = [key async for key in client.scan_iter(pattern)]
    if stale:
        await client.delete(*stale)
    harness = ChatHarness(engine, storage=make_storage(settings))
    yield harness, client, settings.fsm_ttl_seconds
    await harness.close()
    left = [key async for key in client.scan_iter(pattern)]
    if left:
        await client.delete(*left)
    await client.aclose()


@pytest.mark.redis
async def test_the_id_number_is_in_no_fsm_key_log_line_or_audit_row_and_every_key_expires(
    redis_chat: tuple[ChatHarness, Redis, int],
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat, client, ttl = redis_chat
    caplog.set_level(logging.DEBUG)
    await fill_volunteer_form(chat, RESIDENT)
    # While the form is open (the ID number typed, not yet saved): only ciphertext, expiring.
    open_form = await redis_values(client)
    ours = [k for k in open_form if k.startswith("fsm:") and f":{RESIDENT}:" in k]
    assert ours, "the open form is in Redis"
    for key in ours:
        assert 0 < await client.ttl(key) <= ttl, f"{key} has no expiry"
    assert "王 芳" not in repr(open_form) and "13800138000" not in repr(open_form)
    assert_secret("Redis while the form is open", repr(open_form))

    await chat.tap(RESIDENT, "确认")
    assert "登记成功" in chat.last_text(RESIDENT)
    assert_secret("Redis after the registration", repr(await redis_values(client)))
    assert_secret("the logs", caplog.text)
    async with make_session_factory(engine)() as session:
        audit = (await session.scalars(select(AuditEntry))).all()
    assert any(a.action == "volunteer.register" for a in audit)
    assert_secret(
        "the audit log",
        repr([(a.action, a.entity, a.entity_id, a.details, a.note) for a in audit]),
    )


async def test_the_id_number_is_not_left_in_the_web_transcript_after_a_registration(
    chat: ChatHarness,
) -> None:
    await fill_volunteer_form(chat, RESIDENT)
    await chat.tap(RESIDENT, "确认")
    assert "登记成功" in chat.last_text(RESIDENT)
    assert_secret("the web transcript", repr(chat.hub.conversation(RESIDENT).events))


@pytest.mark.redis
async def test_state_keys_left_without_an_expiry_by_an_older_version_get_one_at_start() -> None:
    url = require_env("TEST_REDIS_URL", "Redis")
    prefix = f"wushe-test-{uuid.uuid4().hex[:8]}"
    old = RedisStorage.from_url(url, key_builder=DefaultKeyBuilder(prefix=prefix))
    key = StorageKey(bot_id=1, chat_id=RESIDENT, user_id=RESIDENT)
    await old.set_state(key, "VolunteerForm:phone")
    await old.set_data(key, {"id_number": NUMBER})  # as an older version left it
    client = Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(f"{prefix}:*")]
        assert len(keys) == 2 and {await client.ttl(k) for k in keys} == {-1}
        assert await expire_unbounded_state(old, 600) == 2
        assert all(0 < ttl <= 600 for ttl in [await client.ttl(k) for k in keys])
        assert await expire_unbounded_state(old, 600) == 0  # the others are left alone
        assert await expire_unbounded_state(ExpiringMemoryStorage(600), 600) == 0
    finally:
        keys = [k async for k in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        await old.close()


async def test_the_volunteer_forms_chosen_times_and_places_are_marked_in_words(
    chat: ChatHarness,
) -> None:
    await start_volunteer(chat, RESIDENT)
    await chat.send(RESIDENT, "王 芳")
    await chat.send(RESIDENT, NUMBER)
    await chat.send(RESIDENT, "138 0013 8000")
    await chat.tap(RESIDENT, "烹饪")
    await chat.tap(RESIDENT, "下一步")
    await chat.tap(RESIDENT, "跳过")
    await chat.tap(RESIDENT, "周六 上午")
    assert chat.find_button(RESIDENT, "✅ 已选 周六 上午")
    await chat.tap(RESIDENT, "下一步")
    await chat.tap(RESIDENT, "甲二社区")
    assert chat.find_button(RESIDENT, "✅ 已选 甲二社区")
