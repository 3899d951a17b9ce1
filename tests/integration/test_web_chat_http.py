"""The web chat page's HTTP protocol, through the real aiohttp app (pytest-aiohttp)."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Application, build
from bot.config import load_settings
from storage.uow import UnitOfWork
from tests.support.factories import make_map


@pytest.fixture
async def application(database_url: str, uow: UnitOfWork) -> AsyncIterator[Application]:
    await make_map(uow)
    app = build(load_settings(database_url=database_url, secret_key="test-secret"))
    yield app
    await app.close()


@pytest.fixture
async def client(application: Application, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(application.web_app)


async def events(client: TestClient, after: int = 0, timeout: float = 5) -> dict[str, Any]:
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


async def test_the_page_sets_a_signed_cookie_and_speaks_the_browser_language(
    client: TestClient,
) -> None:
    response = await client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.status == 200
    page = await response.text()
    assert '<html lang="en">' in page
    assert "Type a message…" in page
    assert "wushe_chat" in response.cookies
    chinese = await client.session.get(client.make_url("/"), headers={"Accept-Language": "zh-CN"})
    assert '<html lang="zh-CN">' in await chinese.text()


async def test_without_a_valid_cookie_the_api_refuses(client: TestClient) -> None:
    response = await client.post("/chat/api/send", json={"text": "/start"})
    assert response.status == 401
    client.session.cookie_jar.update_cookies({"wushe_chat": "forged.0000"})
    response = await client.get("/chat/api/events?after=0&timeout=0")
    assert response.status == 401


async def test_a_message_round_trip_with_a_button_tap(client: TestClient) -> None:
    await client.get("/")
    response = await client.post("/chat/api/send", json={"text": "/start", "client_id": "c1"})
    assert response.status == 200
    echo = await wait_for(client, lambda e: e.get("from") == "user")
    assert (echo["html"], echo["client_id"]) == ("/start", "c1")
    prompt = await wait_for(client, lambda e: e.get("from") == "bot")
    assert prompt["buttons"][0][0] == {"text": "中文", "data": "lang:zh"}
    tapped = await client.post(
        "/chat/api/callback", json={"message_id": prompt["message_id"], "data": "lang:zh"}
    )
    assert tapped.status == 200
    edit = await wait_for(client, lambda e: e["type"] == "edit", after=prompt["seq"])
    assert "请选择区县" in edit["html"]
    assert edit["buttons"][0][0]["text"] == "渝北区"


async def test_a_page_reload_keeps_the_conversation(client: TestClient) -> None:
    await client.get("/")
    await client.post("/chat/api/send", json={"text": "/help"})
    await wait_for(client, lambda e: e.get("from") == "bot")
    await client.get("/")  # reload: same cookie, same chat
    history = await events(client, 0, timeout=0)
    assert [e.get("from") for e in history["events"] if e["type"] == "message"] == ["user", "bot"]


async def test_bad_input_is_refused_with_a_reason(client: TestClient) -> None:
    await client.get("/")
    cases = [
        ("/chat/api/send", {"text": "   "}, "empty_text"),
        ("/chat/api/send", {"text": "x" * 4097}, "text_too_long"),
        ("/chat/api/callback", {"message_id": "1", "data": "x"}, "bad_callback"),
        ("/chat/api/callback", {"message_id": 99, "data": "lang:zh"}, "unknown_button"),
        ("/chat/api/location", {"latitude": 100, "longitude": 0}, "bad_location"),
    ]
    for path, body, error in cases:
        response = await client.post(path, json=body)
        assert response.status == 400, path
        assert (await response.json())["error"] == error
    response = await client.post("/chat/api/send", data="not json")
    assert (await response.json())["error"] == "bad_json"


async def test_the_long_poll_returns_as_soon_as_the_bot_answers(client: TestClient) -> None:
    await client.get("/")
    waiting = asyncio.create_task(events(client, after=0, timeout=20))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await client.post("/chat/api/send", json={"text": "/start"})
    body = await asyncio.wait_for(waiting, timeout=5)
    assert body["events"]


async def test_files_are_only_served_to_their_own_chat(
    client: TestClient, application: Application
) -> None:
    from aiogram.types import BufferedInputFile

    await client.get("/")
    await client.post("/chat/api/send", json={"text": "/help"})
    message = await wait_for(client, lambda e: e.get("from") == "bot")
    chat_id = next(iter(application.hub.conversations))
    await application.web_bot.send_document(
        chat_id, BufferedInputFile(b"%PDF-1.4 demo", filename="证明.pdf"), caption="cert"
    )
    document = await wait_for(client, lambda e: e["type"] == "document", after=message["seq"])
    mine = await client.get(document["url"])
    assert mine.status == 200 and await mine.read() == b"%PDF-1.4 demo"
    client.session.cookie_jar.clear()
    await client.get("/")  # a different browser
    theirs = await client.get(document["url"])
    assert theirs.status == 404


async def test_a_retried_send_with_the_same_client_id_is_handled_once(
    client: TestClient,
) -> None:
    await client.get("/")
    for _ in range(2):
        response = await client.post("/chat/api/send", json={"text": "/help", "client_id": "c9"})
        assert response.status == 200
    await wait_for(client, lambda e: e.get("from") == "bot")
    history = await events(client, 0, timeout=0)
    users = [e for e in history["events"] if e.get("from") == "user"]
    bots = [e for e in history["events"] if e.get("from") == "bot"]
    assert (len(users), len(bots)) == (1, 1)
