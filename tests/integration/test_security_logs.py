"""Leaks and lost input: text with NUL or lone surrogates is kept (not lost at the first
PostgreSQL write) on every chat channel, and a failed statement never logs its parameters."""

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Application, build, deadline_loop, webchat_retention_loop
from bot.config import load_settings
from bot.domain.enums import Channel
from bot.domain.text import clean_text, clean_tree
from bot.logs import CancelledCloseFilter, RepeatFilter
from storage.db import make_engine, make_session_factory
from storage.models import Need
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import make_map

RESIDENT = 8101
PATH = ("渝北区", "甲街道", "甲一社区")


async def needs_texts(engine: AsyncEngine) -> list[str]:
    async with make_session_factory(engine)() as session:
        return list((await session.scalars(select(Need.description))).all())


async def file_need(chat: ChatHarness, description: str) -> str:
    await chat.send(RESIDENT, "/need")
    await chat.tap(RESIDENT, "养老服务")
    await chat.send(RESIDENT, description)
    await chat.tap(RESIDENT, "跳过")
    await chat.tap(RESIDENT, "一般")
    await chat.tap(RESIDENT, "本人")
    await chat.tap(RESIDENT, "不用上门")
    await chat.tap(RESIDENT, "确认")
    return chat.last_text(RESIDENT)


def test_cleaning_removes_only_nul_and_lone_surrogates() -> None:
    assert clean_text("a\x00b\ud800c\udfffd") == "abcd"
    assert clean_text("楼道灯坏了 😀\n\t") == "楼道灯坏了 😀\n\t"
    assert clean_tree({"t\x00": ["x\x00", 1, {"y": "\ud83d"}]}) == {"t": ["x", 1, {"y": ""}]}


@pytest.mark.parametrize("typed", ["楼道灯\x00坏了", "楼道灯\ud83d坏了"])
async def test_a_need_with_a_nul_or_a_lone_surrogate_is_filed_from_telegram(
    engine: AsyncEngine, uow: UnitOfWork, typed: str
) -> None:
    await make_map(uow)
    chat = ChatHarness(engine, channel=Channel.TELEGRAM)
    try:
        await chat.onboard(RESIDENT, path=PATH)
        done = await file_need(chat, typed)
    finally:
        await chat.close()
    assert "您的诉求已登记" in done, done
    assert await needs_texts(engine) == ["楼道灯坏了"]


@pytest.fixture
async def application(database_url: str, uow: UnitOfWork) -> AsyncIterator[Application]:
    await make_map(uow)
    app = build(load_settings(database_url=database_url, secret_key="test-secret"))
    yield app
    await app.close()


class Page:
    """A browser on the chat page: posts through HTTP, reads the transcript from the hub."""

    def __init__(self, client: TestClient, application: Application) -> None:
        self.client = client
        self.application = application

    async def events(self) -> list[dict[str, Any]]:
        response = await self.client.get("/chat/api/events?after=0&timeout=0")
        assert response.status == 200
        return list((await response.json())["events"])

    async def say(self, typed: str) -> None:
        response = await self.client.post("/chat/api/send", json={"text": typed})
        assert response.status == 200
        await self.application.webchat.drain()

    async def tap(self, label: str) -> None:
        for event in reversed(await self.events()):
            for row in event.get("buttons") or []:
                for button in row:
                    if label in button["text"] and "data" in button:
                        response = await self.client.post(
                            "/chat/api/callback",
                            json={"message_id": event["message_id"], "data": button["data"]},
                        )
                        assert response.status == 200
                        await self.application.webchat.drain()
                        return
        raise AssertionError(f"no button {label}")


async def test_a_need_with_a_nul_byte_is_filed_from_the_web_chat_page(
    application: Application, aiohttp_client: Any, engine: AsyncEngine
) -> None:
    client: TestClient = await aiohttp_client(application.web_app)
    page = Page(client, application)
    await client.get("/")
    await page.say("/start")
    await page.tap("中文")
    for label in PATH:
        await page.tap(label)
    await page.tap("跳过")  # the name (称呼) step
    await page.say("/need")
    await page.tap("养老服务")
    await page.say("a\x00b 楼道灯坏了")
    for label in ("跳过", "一般", "本人", "不用上门", "确认"):
        await page.tap(label)
    said = [e.get("html") or "" for e in await page.events() if e.get("from") != "user"]
    assert any("您的诉求已登记" in h for h in said), said
    assert await needs_texts(engine) == ["ab 楼道灯坏了"]
    body = await (await client.get("/chat/api/events?after=0&timeout=0")).json()
    assert not any("\x00" in (e.get("html") or "") for e in body["events"])


async def test_a_failed_statement_does_not_log_its_parameters(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(database_url)
    secret = "13800138000-王秘密"
    try:
        with pytest.raises(DBAPIError) as raised:
            async with engine.begin() as connection:
                await connection.execute(
                    text("INSERT INTO no_such_table (phone) VALUES (:phone)"), {"phone": secret}
                )
    finally:
        await engine.dispose()
    logging.getLogger("test").error("write failed", exc_info=raised.value)
    assert secret not in str(raised.value)
    assert secret not in caplog.text
    assert "hidden due to hide_parameters" in str(raised.value)


def test_the_same_error_repeated_is_logged_once_a_window_with_a_count() -> None:
    now = [0.0]
    repeat = RepeatFilter(window=60, clock=lambda: now[0])
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(repeat)
    logger = logging.getLogger("test.repeat")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        error = ConnectionRefusedError("connect failed")
        for update_id in range(5000):
            logger.error("update %s failed", update_id, exc_info=error)
            now[0] += 0.005
        logger.warning("something else")
        logger.info("info is never held back")
        logger.info("info is never held back")
        now[0] += 61
        logger.error("update %s failed", 9999, exc_info=error)
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in records]
    assert messages[:4] == [
        "update 0 failed",
        "something else",
        "info is never held back",
        "info is never held back",
    ]
    assert messages[4] == "update 9999 failed [repeated 4999 more times in the last 60 s]"
    assert len(records) == 5


def test_a_connection_closed_while_its_task_is_cancelled_is_one_line_without_a_traceback() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(CancelledCloseFilter())
    pool = logging.getLogger("sqlalchemy.pool.impl.AsyncAdaptedQueuePool")
    other = logging.getLogger("test.cancelled")
    for logger in (pool, other):
        logger.addHandler(handler)
        logger.propagate = False
    try:
        pool.error(
            "Exception terminating connection %r", "<conn>", exc_info=asyncio.CancelledError()
        )
        pool.error("Exception terminating connection %r", "<conn>", exc_info=OSError("reset"))
        other.error("a task was cancelled", exc_info=asyncio.CancelledError())
    finally:
        for logger in (pool, other):
            logger.removeHandler(handler)
            logger.propagate = True
    cancelled, reset, elsewhere = records
    assert cancelled.levelno == logging.INFO and cancelled.exc_info is None
    assert "cancelled: the connection is discarded" in cancelled.getMessage()
    # Anything else keeps its level and its traceback.
    assert reset.levelno == logging.ERROR and reset.exc_info is not None
    assert elsewhere.levelno == logging.ERROR and elsewhere.exc_info is not None


async def test_the_background_loops_finish_their_round_and_return_when_the_bot_stops(
    database_url: str,
) -> None:
    settings = load_settings(database_url=database_url, bot_token="", needs_check_seconds=3600)
    application = build(settings)
    try:
        loops = [
            asyncio.create_task(deadline_loop(application)),
            asyncio.create_task(webchat_retention_loop(application)),
        ]
        await asyncio.sleep(0.5)
        application.stopping.set()
        done, pending = await asyncio.wait(loops, timeout=10)
        assert not pending, "a loop kept sleeping after the stop"
        assert all(task.exception() is None for task in done)
    finally:
        await application.close()
