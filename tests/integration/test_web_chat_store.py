"""The web chat page after a restart, its settings and its photos, through the real aiohttp app
(pytest-aiohttp) on the database store: nothing a person saw or typed is lost."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BotCommand, BotCommandScopeChat
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from PIL import Image
from sqlalchemy import func, select

from bot.app import Application, build
from bot.config import load_settings
from bot.domain.transcripts import MAX_EVENTS_KEPT
from bot.web.chat import chat_id_of
from storage.db import make_engine, make_session_factory
from storage.models import ChannelAccount, Person, WebChatEvent
from storage.repositories.webchat import PRUNE_EVERY, SqlTranscripts
from storage.uow import UnitOfWork
from tests.support.factories import make_map

Start = Callable[..., Awaitable[tuple[Application, TestClient]]]


def png(size: tuple[int, int] = (4, 3)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
async def start(database_url: str, uow: UnitOfWork, aiohttp_client: Any) -> AsyncIterator[Start]:
    """Start the bot's web app; start it again (a restart) with the browser's cookie kept."""
    await make_map(uow)
    running: list[Application] = []

    async def start_app(
        cookies: dict[str, str] | None = None, **settings: Any
    ) -> tuple[Application, TestClient]:
        for old in running:
            await old.close()
        running.clear()
        app = build(load_settings(database_url=database_url, secret_key="test-secret", **settings))
        running.append(app)
        client = await aiohttp_client(app.web_app)
        if cookies:
            client.session.cookie_jar.update_cookies(cookies)
        await client.get("/")
        return app, client

    yield start_app
    for app in running:
        await app.close()


def cookies_of(client: TestClient) -> dict[str, str]:
    return {c.key: c.value for c in client.session.cookie_jar}


def chat_of(client: TestClient) -> int:
    return chat_id_of(cookies_of(client)["wushe_chat"].partition(".")[0])


async def events(client: TestClient, after: int = 0, timeout: float = 0) -> dict[str, Any]:
    response = await client.get(f"/chat/api/events?after={after}&timeout={timeout}")
    assert response.status == 200
    return await response.json()


async def wait_for(client: TestClient, predicate: Any, after: int = 0) -> dict[str, Any]:
    for _ in range(50):
        body = await events(client, after, timeout=1)
        for event in body["events"]:
            if predicate(event):
                return event
        after = body["last"]
    raise AssertionError("no such event")


async def test_a_reload_after_a_restart_shows_the_conversation_and_its_buttons_work(
    start: Start,
) -> None:
    app, client = await start()
    await client.post("/chat/api/send", json={"text": "/start", "client_id": "c1"})
    prompt = await wait_for(client, lambda e: e.get("from") == "bot" and e.get("buttons"))
    await app.webchat.drain()

    app, client = await start(cookies_of(client))  # the bot process restarts; the page reloads
    history = await events(client)
    said = [(e.get("from"), e["html"]) for e in history["events"] if e["type"] == "message"]
    assert said[0] == ("user", "/start")
    assert said[1] == ("bot", prompt["html"])
    assert history["last"] >= prompt["seq"]
    # The language buttons of the message before the restart still work…
    tapped = await client.post(
        "/chat/api/callback", json={"message_id": prompt["message_id"], "data": "lang:zh"}
    )
    assert tapped.status == 200
    edit = await wait_for(client, lambda e: e["type"] == "edit", after=history["last"])
    assert "请选择区县" in edit["html"]
    # …and forged data is still refused: a button must be on that stored bot message.
    forged = await client.post(
        "/chat/api/callback", json={"message_id": prompt["message_id"], "data": "admin:all"}
    )
    assert forged.status == 400 and (await forged.json())["error"] == "unknown_button"
    # A retried send from before the restart is still recognised.
    await client.post("/chat/api/send", json={"text": "/start", "client_id": "c1"})
    await app.webchat.drain()
    mine = [e for e in (await events(client))["events"] if e.get("from") == "user"]
    assert len(mine) == 1
    # New messages continue the numbering (no id is given twice).
    await client.post("/chat/api/send", json={"text": "/help"})
    reply = await wait_for(client, lambda e: e.get("from") == "bot", after=edit["seq"])
    assert reply["message_id"] > prompt["message_id"] + 1


async def test_notices_sent_while_the_page_was_closed_are_there_when_it_opens(
    start: Start,
) -> None:
    app, client = await start()
    await client.post("/chat/api/send", json={"text": "/help"})
    seen = await wait_for(client, lambda e: e.get("from") == "bot")
    chat_id = chat_of(client)
    # The page is closed; a worker's action sends the person a notice; then the bot restarts.
    await app.web_bot.send_message(chat_id, "您的诉求 A1-2026-00001 已有人受理。")
    app, client = await start(cookies_of(client))
    later = await events(client, after=seen["seq"])
    assert [e["html"] for e in later["events"]] == ["您的诉求 A1-2026-00001 已有人受理。"]


async def test_the_chat_menu_comes_back_after_a_restart(start: Start) -> None:
    app, client = await start()
    chat_id = chat_of(client)
    await app.web_bot.set_my_commands(
        [BotCommand(command="queue", description="待处理诉求")],
        scope=BotCommandScopeChat(chat_id=chat_id),
    )
    for _ in range(MAX_EVENTS_KEPT + PRUNE_EVERY):  # the menu event itself is long gone
        await app.web_bot.send_message(chat_id, "通知")
    app, client = await start(cookies_of(client))
    first = (await events(client))["events"][0]
    assert first == {
        "seq": 0,
        "type": "commands",
        "commands": [{"command": "queue", "description": "待处理诉求"}],
    }


async def test_each_chat_keeps_its_last_events_and_old_ones_are_pruned(
    start: Start, database_url: str
) -> None:
    app, client = await start()
    chat_id = chat_of(client)
    for number in range(MAX_EVENTS_KEPT + 2 * PRUNE_EVERY):
        await app.web_bot.send_message(chat_id, f"第{number}条")
    engine = make_engine(database_url)
    try:
        store = SqlTranscripts(make_session_factory(engine))
        kept, last = await store.since(chat_id, 0)
        assert last == MAX_EVENTS_KEPT + 2 * PRUNE_EVERY
        assert MAX_EVENTS_KEPT <= len(kept) < MAX_EVENTS_KEPT + PRUNE_EVERY
        assert kept[-1]["html"] == f"第{last - 1}条"
        # Past the retention period everything goes, but the numbering goes on.
        assert await store.prune(datetime.now(UTC) + timedelta(days=1)) > 0
        assert await store.since(chat_id, 0) == ([], last)
        await app.web_bot.send_message(chat_id, "新消息")
        fresh, _ = await store.since(chat_id, 0)
        assert [e["seq"] for e in fresh] == [last + 1]
        async with make_session_factory(engine)() as session:
            rows = await session.scalar(select(func.count()).select_from(WebChatEvent))
        assert rows == 1
    finally:
        await engine.dispose()


async def test_a_page_ahead_of_the_store_starts_again(start: Start) -> None:
    _app, client = await start()
    await client.post("/chat/api/send", json={"text": "/help"})
    await wait_for(client, lambda e: e.get("from") == "bot")
    body = await events(client, after=10_000, timeout=20)  # answered at once, not after 20 s
    assert body["reset"] is True
    assert [e.get("from") for e in body["events"] if e["type"] == "message"] == ["user", "bot"]


async def test_large_text_is_kept_on_the_person_across_reloads_and_restarts(
    start: Start, database_url: str
) -> None:
    _app, client = await start()
    assert (await events(client))["settings"] == {"large_text": False}
    response = await client.post("/chat/api/settings", json={"large_text": True})
    assert (await response.json()) == {"ok": True, "settings": {"large_text": True}}
    bad = await client.post("/chat/api/settings", json={"large_text": "yes"})
    assert bad.status == 400 and (await bad.json())["error"] == "bad_settings"
    _app, client = await start(cookies_of(client))
    assert (await events(client))["settings"] == {"large_text": True}
    # It is the person's: the first message later finds the same person, not a new one.
    await client.post("/chat/api/send", json={"text": "/help"})
    await wait_for(client, lambda e: e.get("from") == "bot")
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session:
            people = (
                await session.execute(
                    select(Person.large_text)
                    .join(ChannelAccount, ChannelAccount.person_id == Person.id)
                    .where(ChannelAccount.external_id == str(chat_of(client)))
                )
            ).all()
        assert people == [(True,)]
    finally:
        await engine.dispose()


async def upload(client: TestClient, content: bytes, name: str = "p.png", **fields: str) -> Any:
    form = FormData()
    for key, value in fields.items():
        form.add_field(key, value)
    form.add_field("photo", content, filename=name, content_type="image/png")
    return await client.post("/chat/api/photo", data=form)


async def test_an_uploaded_photo_is_kept_like_a_telegram_photo(start: Start) -> None:
    app, client = await start()
    picture = png((8, 6))
    response = await upload(client, picture, caption="楼道灯坏了", client_id="p1")
    assert response.status == 200
    event = await wait_for(client, lambda e: e["type"] == "photo")
    assert (event["from"], event["caption_html"]) == ("user", "楼道灯坏了")
    shown = await client.get(event["url"])
    assert shown.status == 200 and shown.content_type == "image/png"
    assert await shown.read() == picture
    # The bot can fetch it by its file id, as from Telegram, and the id outlives a restart.
    file_id = event["url"].rsplit("/", 1)[1]
    app, client = await start(cookies_of(client))
    downloaded = await app.web_bot.download(file_id)
    assert downloaded is not None and downloaded.read() == picture
    info = await app.web_bot.get_file(file_id)
    assert info.file_size == len(picture)
    # Sent again by its id into another chat, it is that chat's own copy.
    sent = await app.web_bot.send_photo(12345, file_id)
    assert sent.photo and (sent.photo[-1].width, sent.photo[-1].height) == (8, 6)
    assert sent.photo[-1].file_id != file_id


async def test_an_upload_that_is_not_a_photo_or_too_big_is_refused_with_a_reason(
    start: Start,
) -> None:
    _app, client = await start(webchat_photo_max_bytes=2048)
    cases = [
        (b"MZ\x90\x00 not an image at all", "photo.jpg", 400, "not_a_photo"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.png", 400, "not_a_photo"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096, "big.png", 413, "photo_too_big"),
        (b"", "empty.png", 400, "no_photo"),
    ]
    for content, name, status, error in cases:
        response = await upload(client, content, name)
        assert response.status == status, name
        assert (await response.json())["error"] == error, name
    not_multipart = await client.post("/chat/api/photo", json={"photo": "x"})
    assert not_multipart.status == 400
    assert not [e for e in (await events(client))["events"] if e["type"] == "photo"]
    page = await (await client.get("/")).text()
    assert "最多 0.00195312 MB" in page  # the limit the page tells before uploading


async def test_a_persons_own_message_deleted_by_the_bot_is_redacted_for_good(
    start: Start, database_url: str
) -> None:
    app, client = await start()
    id_number = "500106198506121234"
    await client.post("/chat/api/send", json={"text": id_number, "client_id": "id1"})
    typed = await wait_for(client, lambda e: e.get("from") == "user")
    await app.webchat.drain()
    chat_id = chat_of(client)
    with app.i18n.context(), app.i18n.use_locale("zh"):  # as inside a handler
        assert await app.web_bot.delete_message(chat_id, typed["message_id"])
    redaction = await wait_for(client, lambda e: e["type"] == "redact", after=typed["seq"])
    assert (redaction["message_id"], redaction["html"]) == (typed["message_id"], "（已删除）")
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await app.web_bot.delete_message(chat_id, 9999)
    app, client = await start(cookies_of(client))  # a reload after a restart
    replay = (await events(client))["events"]
    assert id_number not in str(replay)
    mine = next(e for e in replay if e.get("message_id") == typed["message_id"])
    assert (mine["html"], mine["redacted"]) == ("（已删除）", True)
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session:
            stored = (await session.scalars(select(WebChatEvent.payload))).all()
        assert id_number not in str(stored)
    finally:
        await engine.dispose()
