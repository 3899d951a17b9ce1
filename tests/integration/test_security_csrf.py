"""Cross-site requests: a page on another site cannot post to the chat API or the dashboard
(Origin checked against PUBLIC_URL, JSON required), while the page itself keeps working."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Application, build
from bot.config import load_settings
from storage.uow import UnitOfWork
from tests.support.factories import make_map

PUBLIC = "https://chat.example.cn"


@pytest.fixture
async def application(database_url: str, uow: UnitOfWork) -> AsyncIterator[Application]:
    await make_map(uow)
    app = build(
        load_settings(database_url=database_url, secret_key="test-secret", public_url=PUBLIC)
    )
    yield app
    await app.close()


@pytest.fixture
async def client(application: Application, aiohttp_client: Any) -> TestClient:
    client: TestClient = await aiohttp_client(application.web_app)
    await client.get("/")  # the browser's cookie (SameSite=Lax, HttpOnly)
    return client


async def test_the_chat_cookie_is_samesite_and_httponly(
    aiohttp_client: Any, application: Application
) -> None:
    client: TestClient = await aiohttp_client(application.web_app)
    response = await client.get("/")
    cookie = response.cookies["wushe_chat"]
    assert cookie["samesite"] == "Lax" and cookie["httponly"]


async def test_a_post_from_another_site_is_refused(
    client: TestClient, application: Application
) -> None:
    for origin in ("https://evil.example", "null", "https://chat.example.cn.evil.example"):
        response = await client.post(
            "/chat/api/send",
            json={"text": "/start"},
            headers={"Origin": origin, "Accept-Language": "en"},
        )
        assert response.status == 403, origin
        body = await response.json()
        assert body["error"] == "cross_site"
        assert body["message"] == "This request came from another website and was refused."
    response = await client.post(
        "/chat/api/send", json={"text": "/start"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status == 403
    await application.webchat.drain()
    assert not application.hub.conversations or not any(
        c.events for c in application.hub.conversations.values()
    )


async def test_a_text_plain_post_is_refused_even_without_origin(client: TestClient) -> None:
    # The "simple request" a cross-site form or fetch(no-cors) can make without a preflight.
    response = await client.post(
        "/chat/api/send",
        data='{"text": "/start"}',
        headers={"Content-Type": "text/plain", "Accept-Language": "zh-CN"},
    )
    assert response.status == 400
    body = await response.json()
    assert (body["error"], body["message"]) == ("bad_json", "这个请求必须以 JSON 格式发送。")
    form = await client.post("/chat/api/send", data={"text": "/start"})
    assert form.status == 400


async def test_the_page_s_own_origin_may_post(client: TestClient, application: Application) -> None:
    response = await client.post(
        "/chat/api/send",
        json={"text": "/start"},
        headers={"Origin": PUBLIC, "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status == 200
    await application.webchat.drain()


async def test_the_dashboard_form_only_from_our_origin(client: TestClient) -> None:
    refused = await client.post(
        "/dashboard", data={"t": "x"}, headers={"Origin": "https://evil.example"}
    )
    assert refused.status == 403
    assert "another website" in await refused.text() or "其他网站" in await refused.text()
    ours = await client.post("/dashboard", data={"t": "x"}, headers={"Origin": PUBLIC})
    assert ours.status == 403  # an unknown link: the dashboard's own refusal page
    assert "其他网站" not in await ours.text()
    # The dashboard's page has no referrer, so the browser posts "Origin: null" and says
    # where it comes from in Sec-Fetch-Site.
    same = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    own_page = await client.post("/dashboard", data={"t": "x"}, headers=same)
    assert "其他网站" not in await own_page.text()
    other = {"Origin": "null", "Sec-Fetch-Site": "same-site"}
    sibling = await client.post("/dashboard", data={"t": "x"}, headers=other)
    assert sibling.status == 403 and "其他网站" in await sibling.text()


async def test_without_public_url_the_listening_address_is_the_origin(
    database_url: str, uow: UnitOfWork, aiohttp_client: Any
) -> None:
    await make_map(uow)
    app = build(load_settings(database_url=database_url, secret_key="test-secret"))
    try:
        client: TestClient = await aiohttp_client(app.web_app)
        await client.get("/")
        own = str(client.make_url("/")).rstrip("/")
        ok = await client.post("/chat/api/send", json={"text": "/help"}, headers={"Origin": own})
        assert ok.status == 200
        evil = await client.post(
            "/chat/api/send", json={"text": "/help"}, headers={"Origin": "http://evil.example"}
        )
        assert evil.status == 403
        await app.webchat.drain()
    finally:
        await app.close()
