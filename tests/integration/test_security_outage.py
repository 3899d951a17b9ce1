"""The database goes away in the middle of a conversation (in process, through the real
Dispatcher): the message is kept and the person told; when the database is back, a message
nothing of which was handled is answered, one that failed half-way is asked for again."""

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import app as composition
from bot.middlewares import OutageInbox
from bot.services import people
from storage.db import is_outage
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import make_map

USER = 8401
PATH = ("渝北区", "甲街道", "甲一社区")


def down(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("SELECT 1", {}, ConnectionRefusedError(111, "Connect call failed"))


class Recovering:
    """What `outage_recovery` needs of the Application."""

    def __init__(self, chat: ChatHarness, inbox: OutageInbox) -> None:
        self.inbox = inbox
        self.session_factory = chat.session_factory
        self.settings = chat.settings
        self.i18n = chat.i18n
        self.dispatcher = chat.dispatcher


def harness(engine: AsyncEngine) -> tuple[ChatHarness, OutageInbox]:
    chat = ChatHarness(engine)
    inbox = OutageInbox()
    chat.dispatcher = composition.build_dispatcher(
        chat.settings, chat.session_factory, chat.i18n, chat.dispatcher.storage, inbox=inbox
    )
    chat.dispatcher["notifier"] = chat.notifier
    chat.dispatcher["cipher"] = object()
    return chat, inbox


def test_unreachable_databases_are_outages_and_wrong_statements_are_not() -> None:
    assert is_outage(down_error())
    assert is_outage(ConnectionRefusedError())
    assert not is_outage(ValueError("bad input"))


def down_error() -> BaseException:
    try:
        down()
    except OperationalError as error:
        return error
    raise AssertionError


async def test_a_message_during_an_outage_is_kept_and_answered_after(
    engine: AsyncEngine, uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_map(uow)
    chat, inbox = harness(engine)
    try:
        await chat.onboard(USER, path=PATH)
        with monkeypatch.context() as outage:
            outage.setattr(people, "identify", down)
            said = await chat.send(USER, "/help")
        assert [e["html"] for e in said if e.get("from") == "bot"] == [
            "系统暂时忙不过来。您的消息已经保存，服务一恢复我们就回复您。"
        ]
        assert len(inbox) == 1
        kept = inbox.take_all()
        for item in kept:
            await composition._answer_kept(Recovering(chat, inbox), item)  # type: ignore[arg-type]
        await chat.webchat.drain()
        texts = chat.screens(USER)
        assert texts[-2] == "服务已恢复。下面是对您刚才消息的回复："
        assert "/need" in texts[-1]  # the help it asked for
    finally:
        await chat.close()


async def test_a_message_that_failed_half_way_is_asked_for_again(
    engine: AsyncEngine, uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_map(uow)
    chat, inbox = harness(engine)
    try:
        await chat.onboard(USER, path=PATH)
        with monkeypatch.context() as outage:
            outage.setattr(people, "profile", down)
            await chat.send(USER, "/me")
        assert "没有处理完" in chat.last_text(USER)
        seq = chat.hub.conversation(USER).seq
        for item in inbox.take_all():
            await composition._answer_kept(Recovering(chat, inbox), item)  # type: ignore[arg-type]
        await chat.webchat.drain()
        after = [e for e in chat.hub.conversation(USER).since(seq) if e.get("from") == "bot"]
        assert [e["html"] for e in after] == ["服务已恢复。请把您刚才的消息再发一次。"]
    finally:
        await chat.close()
