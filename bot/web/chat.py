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

from aiohttp import BodyPartReader, web

from bot.channels.webchat import MAX_TEXT, WebChat, WebChatHub, photo_type
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
# The page's settings kept on the person (large text): read by chat id, saved by chat id.
PageSettings = Callable[[int], Awaitable[dict[str, Any]]]
SaveSettings = Callable[[int, dict[str, Any]], Awaitable[dict[str, Any]]]
page_settings_key: web.AppKey[PageSettings] = web.AppKey("page_settings")
save_settings_key: web.AppKey[SaveSettings] = web.AppKey("save_settings")
photo_max_key = web.AppKey("photo_max_bytes", int)
DEFAULT_PHOTO_MAX = 5 * 1024 * 1024


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
    strings = _page_strings(request, locale)
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


def _page_strings(request: web.Request, locale: str) -> dict[str, str]:
    strings = dict(request.app[ui_strings_key](locale))
    limit = request.app.get(photo_max_key, DEFAULT_PHOTO_MAX) / (1024 * 1024)
    strings["photo_too_big"] = strings["photo_too_big"].format(limit=f"{limit:g} MB")
    return strings


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
    accepted = await request.app[chat_key].user_callback(
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
    hub = request.app[hub_key]
    found, last_seq = await hub.events(chat_id, after, timeout)
    reset = after > last_seq  # the page knows more than the store: it starts again
    if reset:
        after = 0
        found, last_seq = await hub.events(chat_id, 0, 0)
    body: dict[str, Any] = {"events": found, "last": max([after, *(e["seq"] for e in found)])}
    if after == 0:
        body["events"] = [*(await _first_load(request, chat_id, found)), *found]
        read_settings = request.app.get(page_settings_key)
        if read_settings is not None:
            body["settings"] = await read_settings(chat_id)
        body["reset"] = reset
    return web.json_response(body)


async def _first_load(
    request: web.Request, chat_id: int, found: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A page opening gets its menu first: the chat's own (kept with the chat, so a restart
    or pruned history keeps it), else the default menu in the browser's language."""
    if any(e["type"] == "commands" for e in found):
        return []
    hub = request.app[hub_key]
    commands = await hub.store.commands(chat_id)
    if commands is None:
        commands = hub.commands_for(browser_language(request, "zh"))
    return [{"seq": 0, "type": "commands", "commands": commands}] if commands else []


async def save_settings(request: web.Request) -> web.Response:
    """The page's own settings (large text), kept on the person."""
    chat_id = _chat_id(request)
    body = await _json_body(request)
    large_text = body.get("large_text")
    if not isinstance(large_text, bool):
        raise _bad("bad_settings")
    saved = await request.app[save_settings_key](chat_id, {"large_text": large_text})
    return web.json_response({"ok": True, "settings": saved})


async def upload_photo(request: web.Request) -> web.Response:
    """A photo from the page (multipart: `photo`, optional `caption` and `client_id`): at most
    the configured size, and a JPEG, PNG or WebP by its content, whatever its name says."""
    chat_id = _chat_id(request)
    limit = request.app.get(photo_max_key, DEFAULT_PHOTO_MAX)
    fields: dict[str, str] = {}
    content: bytes | None = None
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):
        raise _bad("bad_upload") from None
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            raise _bad("bad_upload")
        if part.name == "photo":
            content = await _read_limited(part, limit)
        elif part.name in {"caption", "client_id"}:
            fields[part.name] = (await _read_limited(part, MAX_TEXT * 4)).decode("utf-8", "replace")
    if not content:
        raise _bad("no_photo")
    if photo_type(content) is None:
        raise _bad("not_a_photo")
    caption = fields.get("caption", "").strip()
    if len(caption) > 1024:
        raise _bad("caption_too_long")
    client_id = fields.get("client_id") or None
    await request.app[chat_key].user_photo(
        chat_id,
        content,
        caption=caption,
        client_id=client_id[:64] if client_id else None,
        language=browser_language(request, "zh"),
    )
    return web.json_response({"ok": True})


async def _read_limited(part: BodyPartReader, limit: int) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(65536):
        data.extend(chunk)
        if len(data) > limit:
            raise web.HTTPRequestEntityTooLarge(
                max_size=limit,
                actual_size=len(data),
                text=json.dumps({"ok": False, "error": "photo_too_big", "limit": limit}),
                content_type="application/json",
            )
    return bytes(data)


async def download(request: web.Request) -> web.Response:
    chat_id = _chat_id(request)
    stored = await request.app[hub_key].store.file(request.match_info["token"])
    if stored is None or stored.chat_id != chat_id:
        raise web.HTTPNotFound()
    # Photos (checked by their content) are shown in the page; anything else is downloaded.
    image = photo_type(stored.content)
    disposition = "inline" if image else "attachment"
    return web.Response(
        body=stored.content,
        content_type=image or "application/octet-stream",
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(stored.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=86400",
        },
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", chat_page)
    app.router.add_post("/chat/api/send", send)
    app.router.add_post("/chat/api/callback", callback)
    app.router.add_post("/chat/api/location", location)
    app.router.add_get("/chat/api/events", events)
    app.router.add_get("/chat/api/files/{token}", download)
    app.router.add_post("/chat/api/photo", upload_photo)
    app.router.add_post("/chat/api/settings", save_settings)
    app.router.add_static("/static", STATIC, append_version=False)
