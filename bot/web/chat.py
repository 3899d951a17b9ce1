"""HTTP side of the web chat page: the page itself, and the JSON protocol its script speaks."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.channels.webchat import MAX_TEXT, WebChat, WebChatHub
from bot.i18n import locale_from_language_code
from bot.web import params

STATIC = Path(__file__).parent / "static"
COOKIE = "wushe_chat"
COOKIE_MAX_AGE = 3600 * 24 * 365
LONG_POLL_MAX = 30.0

hub_key = web.AppKey("webchat_hub", WebChatHub)
chat_key = web.AppKey("webchat", WebChat)
secret_key = web.AppKey("secret_key", bytes)
UiStrings = Callable[[str], dict[str, str]]
LocaleLookup = Callable[[str], Awaitable[str | None]]
ui_strings_key: web.AppKey[UiStrings] = web.AppKey("ui_strings")
locale_lookup_key: web.AppKey[LocaleLookup] = web.AppKey("locale_lookup")


def sign(secret: bytes, token: str) -> str:
    return hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()[:32]


def chat_id_of(token: str) -> int:
    """A stable positive chat id (< 2**48) for a browser identity."""
    return int(hashlib.sha256(token.encode()).hexdigest()[:12], 16)


def _token_from_cookie(request: web.Request) -> str | None:
    raw = request.cookies.get(COOKIE, "")
    token, _, signature = raw.partition(".")
    if token and hmac.compare_digest(signature, sign(request.app[secret_key], token)):
        return token
    return None


def browser_language(request: web.Request, default: str) -> str:
    header = request.headers.get("Accept-Language", "")
    first = header.split(",")[0].split(";")[0].strip()
    return locale_from_language_code(first or None, default)


async def chat_page(request: web.Request) -> web.Response:
    token = _token_from_cookie(request)
    new_token = token is None
    if token is None:
        token = secrets.token_urlsafe(24)
    browser = browser_language(request, "zh")
    chosen = await request.app[locale_lookup_key](str(chat_id_of(token)))
    locale = chosen or browser
    strings = request.app[ui_strings_key](locale)
    page = (STATIC / "chat.html").read_text(encoding="utf-8")
    page = (
        page.replace("{{lang}}", "zh-CN" if locale == "zh" else "en")
        .replace("{{title}}", html.escape(strings["title"]))
        .replace("{{ui_json}}", json.dumps(strings, ensure_ascii=False).replace("</", "<\\/"))
    )
    response = web.Response(text=page, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'"
    )
    if new_token:
        response.set_cookie(
            COOKIE,
            f"{token}.{sign(request.app[secret_key], token)}",
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.secure,
        )
    return response


def _chat_id(request: web.Request) -> int:
    token = _token_from_cookie(request)
    if token is None:
        raise web.HTTPUnauthorized(
            text=json.dumps({"ok": False, "error": "no_session"}), content_type="application/json"
        )
    return chat_id_of(token)


async def _json_body(request: web.Request) -> dict[str, Any]:
    return await params.json_object(request)


def _bad(error: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"ok": False, "error": error}), content_type="application/json"
    )


async def send(request: web.Request) -> web.Response:
    chat_id = _chat_id(request)
    body = await _json_body(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _bad("empty_text")
    if len(text) > MAX_TEXT:
        raise _bad("text_too_long")
    client_id = body.get("client_id") if isinstance(body.get("client_id"), str) else None
    await request.app[chat_key].user_text(
        chat_id, text.strip(), language=browser_language(request, "zh"), client_id=client_id
    )
    return web.json_response({"ok": True})


async def callback(request: web.Request) -> web.Response:
    chat_id = _chat_id(request)
    body = await _json_body(request)
    message_id, data = body.get("message_id"), body.get("data")
    if not isinstance(message_id, int) or not isinstance(data, str):
        raise _bad("bad_callback")
    accepted = request.app[chat_key].user_callback(
        chat_id, message_id, data, language=browser_language(request, "zh")
    )
    if not accepted:
        raise _bad("unknown_button")
    return web.json_response({"ok": True})


async def location(request: web.Request) -> web.Response:
    chat_id = _chat_id(request)
    body = await _json_body(request)
    lat, lon = _coordinate(body.get("latitude"), 90), _coordinate(body.get("longitude"), 180)
    if lat is None or lon is None:
        raise _bad("bad_location")
    await request.app[chat_key].user_location(
        chat_id, lat, lon, language=browser_language(request, "zh")
    )
    return web.json_response({"ok": True})


def _coordinate(value: object, limit: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if -limit <= value <= limit else None


async def events(request: web.Request) -> web.Response:
    chat_id = _chat_id(request)
    after = params.query_int(request, "after", 0, 0, 2**53)
    timeout = params.query_float(request, "timeout", 25.0, 0.0, LONG_POLL_MAX)
    chat = request.app[hub_key].conversation(chat_id)
    found = chat.since(after) or await chat.wait(after, max(timeout, 0.0))
    if after == 0 and not any(e["type"] == "commands" for e in found):
        # A fresh page gets the default menu in the browser's language.
        commands = request.app[hub_key].commands_for(browser_language(request, "zh"))
        if commands:
            found = [{"seq": 0, "type": "commands", "commands": commands}, *found]
    last = max([after, *(e["seq"] for e in found)])
    return web.json_response({"events": found, "last": last})


async def download(request: web.Request) -> web.Response:
    chat_id = _chat_id(request)
    stored = request.app[hub_key].files.get(request.match_info["token"])
    if stored is None or stored.chat_id != chat_id:
        raise web.HTTPNotFound()
    return web.Response(
        body=stored.content,
        content_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(stored.filename)}"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", chat_page)
    app.router.add_post("/chat/api/send", send)
    app.router.add_post("/chat/api/callback", callback)
    app.router.add_post("/chat/api/location", location)
    app.router.add_get("/chat/api/events", events)
    app.router.add_get("/chat/api/files/{token}", download)
    app.router.add_static("/static", STATIC, append_version=False)
