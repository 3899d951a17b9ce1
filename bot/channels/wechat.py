"""The WeChat Official Account channel: WeChat users chat with the same Dispatcher as
Telegram and web users.

Inbound, `WeChatChannel` turns a WeChat message or event into an `aiogram.types.Update`: text
(commands typed, or their Chinese names), a numbered reply to the last menu (the CallbackQuery
the Telegram button would have sent), a location (GCJ-02 → WGS-84), subscribe / SCAN with a
QR scene (`/start <payload>`), a menu CLICK (its command). Outbound, the bot's Bot API calls
land in `WeChatSession`: a keyboard becomes a numbered menu in the text, edits become new
messages, callback alerts are folded into the next message, and everything one update says to
its own chat is collected (`Exchange`) so the webhook can answer in one passive reply within
WeChat's 5 seconds — or, when the handler is slower, answer `success` and send the collected
text once through the customer-service API. Messages to other chats (notices, broadcasts) go
through the customer-service API inside the 48-hour window and wait in the person's notice
list outside it, delivered with their next message."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import html
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Protocol
from weakref import WeakValueDictionary

import aiohttp
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile, Update
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.channels.botapi import (
    ApiRefusal,
    command_entities,
    inline_keys,
    invalid_file_id,
    message_cant_be_deleted,
    message_text_is_empty,
    private_message,
    reply_keys,
    wrong_file_identifier,
)
from bot.channels.webchat import FileStore, photo_size, photo_type, store_photo
from bot.channels.wechat_api import (
    NO_PERMISSION,
    TOO_MANY,
    WINDOW_CLOSED,
    SceneCode,
    WeChatApi,
    WeChatApiError,
)
from bot.domain.coordinates import gcj02_to_wgs84
from bot.services.ports import outcome, sending

log = logging.getLogger(__name__)

WECHAT_BOT_TOKEN = "2:wechat"
WINDOW_SECONDS = 48 * 3600
LATER_KEPT = 50  # notices kept for a person outside the window (the oldest go first)
MENU_PAGE = 8  # items per page of a numbered menu; "0" shows the next page
MAX_REPLY_BYTES = 2000  # WeChat cuts text messages at 2,048 bytes
QR_SECONDS = 30 * 86400  # a temporary parameter QR code's life, WeChat's longest
QR_SCENE_MAX = 64  # characters of a QR code's scene_str
LEFT_REMEMBERED_SECONDS = 400 * 86400  # an unfollow, for the "welcome back" on following again
TEMPLATE_TEXT_CHARS = 180  # a template field shows a short text; the rest waits for the person
COMMAND_ALIAS_CUT = re.compile(r"[：:，,（(/、]")
# Words people type for the basics, whatever the menu's wording.
TYPED_COMMANDS = {
    "帮助": "/help",
    "菜单": "/help",
    "取消": "/cancel",
    "help": "/help",
    "cancel": "/cancel",
}
# The account's menu: three buttons, the last two with up to five commands each. The third
# is the first of ROLE_MENUS with two of its commands in the person's list (their roles).
ACCOUNT_MENU: tuple[tuple[Any, tuple[str, ...]], ...] = (
    ("", ("need",)),
    (__("Mine"), ("mine", "me", "privacy", "help", "cancel")),
)
ROLE_MENUS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (__("Work"), ("queue", "needlist", "volunteers", "sitecode", "broadcast")),
    (__("Organisation"), ("tasks", "newproject", "funds", "spend", "handover")),
    (__("Admin"), ("stats", "dashboard", "grant", "robot", "accesslog")),
    (__("Volunteer"), ("tasks", "shifts", "checkin", "checkout", "hours")),
    (__("Volunteer"), ("volunteer", "shifts", "checkin", "checkout", "hours")),
)
BOT_USER = {"id": 2, "is_bot": True, "first_name": "Wushe", "username": "wushe_wechat"}


# ---------------------------------------------------------------- ids


def chat_id_of(openid: str) -> int:
    """A WeChat openid as the integer chat id aiogram needs, reversibly (no table to share
    between processes)."""
    return int.from_bytes(b"\x01" + openid.encode(), "big")


def openid_of(chat_id: int) -> str:
    raw = chat_id.to_bytes((chat_id.bit_length() + 7) // 8, "big")
    if not raw.startswith(b"\x01"):
        raise ValueError("not a WeChat chat id")
    return raw[1:].decode()


# ---------------------------------------------------------------- shared state


class ChannelState(Protocol):
    """What several processes must share about WeChat chats: the last menu, the last time the
    person wrote (the 48-hour window), notices waiting outside it, and handled message ids."""

    async def get(self, key: str) -> str | None: ...
    async def put(self, key: str, value: str, ttl: int) -> None: ...
    async def add_once(self, key: str, ttl: int) -> bool: ...
    async def push(self, key: str, value: str, ttl: int, keep: int) -> None: ...
    async def pop_all(self, key: str) -> list[str]: ...


class MemoryState:
    """One process's state (the default without REDIS_URL)."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}
        self._lists: dict[str, list[str]] = {}

    def _live(self, key: str) -> str | None:
        found = self._values.get(key)
        if found is None or found[1] < time.monotonic():
            self._values.pop(key, None)
            return None
        return found[0]

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def put(self, key: str, value: str, ttl: int) -> None:
        self._values[key] = (value, time.monotonic() + ttl)
        if len(self._values) > 100_000:  # bounded: drop the oldest
            self._values.pop(next(iter(self._values)))

    async def add_once(self, key: str, ttl: int) -> bool:
        if self._live(key) is not None:
            return False
        await self.put(key, "1", ttl)
        return True

    async def push(self, key: str, value: str, ttl: int, keep: int) -> None:
        items = self._lists.setdefault(key, [])
        items.append(value)
        del items[:-keep]

    async def pop_all(self, key: str) -> list[str]:
        return self._lists.pop(key, [])


class RedisState:
    """The same in Redis, shared by every bot process."""

    def __init__(self, url: str, prefix: str = "wechat:") -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(url, decode_responses=True)
        self.prefix = prefix

    async def get(self, key: str) -> str | None:
        value = await self.redis.get(self.prefix + key)
        return str(value) if value is not None else None

    async def put(self, key: str, value: str, ttl: int) -> None:
        await self.redis.set(self.prefix + key, value, ex=ttl)

    async def add_once(self, key: str, ttl: int) -> bool:
        return bool(await self.redis.set(self.prefix + key, "1", ex=ttl, nx=True))

    async def push(self, key: str, value: str, ttl: int, keep: int) -> None:
        name = self.prefix + key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(name, value)
            pipe.ltrim(name, -keep, -1)
            pipe.expire(name, ttl)
            await pipe.execute()

    async def pop_all(self, key: str) -> list[str]:
        name = self.prefix + key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrange(name, 0, -1)
            pipe.delete(name)
            items, _ = await pipe.execute()
        return [str(item) for item in items]

    async def close(self) -> None:
        await self.redis.aclose()


# ---------------------------------------------------------------- text and menus


class _WeChatText(HTMLParser):
    """Telegram's HTML subset as WeChat text: tags dropped, links kept as <a href> (the one
    tag WeChat shows), entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.parts.append(f'<a href="{html.escape(href)}">')

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.parts and any(p.startswith("<a ") for p in self.parts):
            self.parts.append("</a>")

    def handle_data(self, data: str) -> None:
        self.parts.append(neutral(data))


def neutral(text: str) -> str:
    """Text WeChat cannot take for a tag: what people typed (a description holding
    "<a href=…>") must never become a live link in someone else's chat."""
    return text.replace("<", "＜").replace(">", "＞")


def wechat_text(text: str, parse_mode: str | None) -> str:
    if parse_mode != "HTML":
        return neutral(text)
    parser = _WeChatText()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


@dataclass
class MenuItem:
    label: str
    data: str | None = None  # callback data of an inline button
    reply: str | None = None  # the text a reply-keyboard button sends
    url: str | None = None


@dataclass
class Menu:
    message_id: int
    text: str
    items: list[MenuItem]
    page: int = 0

    def dumps(self) -> str:
        return json.dumps(
            {
                "message_id": self.message_id,
                "text": self.text,
                "page": self.page,
                "items": [i.__dict__ for i in self.items],
            },
            ensure_ascii=False,
        )

    @classmethod
    def loads(cls, raw: str) -> Menu:
        data = json.loads(raw)
        items = [MenuItem(**item) for item in data["items"]]
        return cls(data["message_id"], data["text"], items, data.get("page", 0))

    def choice(self, reply: str) -> MenuItem | None:
        """The item a reply means: its number on the menu, or its label typed out."""
        reply = reply.strip()
        if reply.isdecimal() and reply.isascii():
            index = int(reply) - 1
            return self.items[index] if 0 <= index < len(self.items) else None
        return next((i for i in self.items if i.label.strip() == reply), None)


def opens_window(fields: dict[str, str]) -> bool:
    """A message, a menu tap, following or a scan opens the 48-hour window; unfollowing and
    the silent reports (VIEW, LOCATION) do not."""
    if fields.get("MsgType") != "event":
        return True
    return fields.get("Event", "").lower() in {"subscribe", "scan", "click"}


# A location button: WeChat sends a location from its ＋ panel, not by a number.
LOCATION = "\x00location"


def menu_items(markup: dict[str, Any] | None) -> list[MenuItem]:
    """A keyboard's buttons as the items of a numbered menu: the inline ones, then the reply
    keyboard's (botapi.reply_keys: WeChat cannot share a contact card with the bot)."""
    items = [
        MenuItem(button["text"], button.get("callback_data"), None, button.get("url"))
        for button in inline_keys(markup)
    ]
    for row in reply_keys(markup) or []:
        for key in row:
            reply = LOCATION if key["request_location"] else key["text"]
            items.append(MenuItem(key["text"], None, reply))
    return items


def render_menu(menu: Menu) -> str:
    """The menu's page as lines "回复 1 …" after the text ("回复 0 …" pages on)."""
    start = menu.page * MENU_PAGE
    shown = menu.items[start : start + MENU_PAGE]
    numbered = any(item.reply != LOCATION for item in shown)
    lines = [_("Reply with a number:")] if numbered else []
    for offset, item in enumerate(shown, start + 1):
        if item.reply == LOCATION:
            # The button's own label starts with 📍 already.
            label = item.label.removeprefix("📍").strip()
            lines.append(_("📍 {label}: tap ＋ and choose Location").format(label=label))
        elif item.url and not item.data:
            lines.append(f'{offset}  <a href="{html.escape(item.url)}">{neutral(item.label)}</a>')
        else:
            lines.append(f"{offset}  {neutral(item.label)}")
    if start + MENU_PAGE < len(menu.items):
        lines.append(_("0  more choices"))
    return "\n".join(lines)


# ---------------------------------------------------------------- one update's answer


@dataclass
class Exchange:
    """What one inbound update says to its own chat, collected for one reply."""

    chat_id: int
    texts: list[str] = field(default_factory=list)
    closed: bool = False  # sent: later texts go out as messages of their own


current_exchange: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar(
    "wechat_exchange", default=None
)


def _cut(line: str, limit: int) -> list[str]:
    """A line in pieces of at most `limit` UTF-8 bytes (characters kept whole)."""
    pieces, current = [], ""
    for char in line:
        if current and len((current + char).encode()) > limit:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current] if current else pieces


def split_text(text: str, limit: int = MAX_REPLY_BYTES) -> list[str]:
    """Pieces under WeChat's byte limit, cut at line ends where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        *whole, current = _cut(line, limit) or [""]
        pieces.extend(whole)
    if current:
        pieces.append(current)
    return pieces


def menu_sections(names: set[str]) -> list[tuple[Any, tuple[str, ...]]]:
    role = next(
        (s for s in ROLE_MENUS if len(names & {"/" + c for c in s[1]}) >= 2),
        ROLE_MENUS[-1],
    )
    return [*ACCOUNT_MENU, role]


def account_menu(commands: list[dict[str, str]]) -> list[dict[str, Any]]:
    """WeChat menu buttons from a command list (names in its language, as in /help): CLICK
    keys are the commands, a button of one command is that command."""
    named = {
        "/" + c["command"]: COMMAND_ALIAS_CUT.split(str(c["description"]))[0].strip()
        or str(c["description"])
        for c in commands
    }
    buttons: list[dict[str, Any]] = []
    for title, section in menu_sections(set(named)):
        subs = [
            {"type": "click", "name": cut_bytes(named["/" + c], 60), "key": "/" + c}
            for c in section
            if "/" + c in named
        ]
        if len(subs) == 1:
            buttons.append({**subs[0], "name": cut_bytes(subs[0]["name"], 16)})
        elif subs:
            buttons.append({"name": cut_bytes(str(title), 16), "sub_button": subs[:5]})
    return buttons


def cut_bytes(text: str, limit: int) -> str:
    """The longest start of `text` within `limit` UTF-8 bytes (WeChat's menu name limits)."""
    return _cut(text, limit)[0] if text else text


# ---------------------------------------------------------------- outbound: the session


# Photos are kept under no web chat (a browser's chat id is never 0): the page never serves them.
NO_WEB_CHAT = 0
PHOTO_MAX_BYTES = 5 * 1024 * 1024


class WeChatSession(BaseSession):
    """Answers the bot's Bot API calls for WeChat chats."""

    def __init__(
        self,
        api: WeChatApi,
        state: ChannelState,
        templates: dict[str, str] | None = None,
        files: FileStore | None = None,
        photo_max_bytes: int = PHOTO_MAX_BYTES,
    ) -> None:
        super().__init__()
        self.wechat_api = api
        self.state = state
        self.files = files
        self.photo_max_bytes = photo_max_bytes
        self.templates = dict(templates or {})  # notice kind → template id
        self.alerts: dict[int, list[str]] = {}
        self._locales: dict[int, str] = {}  # written to the shared state when it changes
        self._menu_generation = ""  # set with the account's menu; per-role menus follow it
        self.web_link: str | None = None  # the web chat page, signed in through WeChat OAuth
        self.command_names: dict[str, str] = {}  # "求助" → "/need", from setMyCommands
        self.commands: dict[str, list[dict[str, str]]] = {}
        # Bot message ids fit the 32-bit columns that keep them (e.g. a progress message).
        self._message_ids = itertools.count(secrets.randbelow(1 << 30) + 1)
        self._methods: dict[str, Callable[[dict[str, Any], Bot], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "editMessageText": self._send_message,  # an edit is a new message on WeChat
            "editMessageReplyMarkup": self._edit_markup,
            "deleteMessage": self._cannot_delete,
            "answerCallbackQuery": self._answer_callback,
            "sendDocument": self._send_file,
            "sendPhoto": self._send_photo,
            "getFile": self._get_file,
            "setMyCommands": self._set_commands,
            "deleteMyCommands": self._ok,
            "sendChatAction": self._ok,
            "setChatMenuButton": self._ok,
        }

    async def close(self) -> None:
        await self.wechat_api.close()

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        # bot.download(file_id): getFile gave the token as the file path, at the URL's end.
        stored = await self.files.file(url.rsplit("/", 1)[-1]) if self.files else None
        if stored is None:
            raise wrong_file_identifier()
        for start in range(0, len(stored.content), chunk_size):
            yield stored.content[start : start + chunk_size]

    async def _get_file(self, params: dict[str, Any], bot: Bot) -> Any:
        token = str(params.get("file_id", ""))
        stored = await self.files.file(token) if self.files else None
        if stored is None:
            raise invalid_file_id()
        return {
            "file_id": token,
            "file_unique_id": token[:8],
            "file_size": len(stored.content),
            "file_path": token,
        }

    async def keep_photo(self, media_id: str) -> dict[str, Any] | None:
        """Fetches a photo a person sent before its media id expires (3 days) and keeps it
        like a Telegram photo: the PhotoSize of the update, or None when it cannot be had."""
        if self.files is None:
            return None
        try:
            content = await self.wechat_api.media(media_id, self.photo_max_bytes)
        except (WeChatApiError, aiohttp.ClientError, TimeoutError) as error:
            log.warning("wechat: a photo could not be fetched (%s)", type(error).__name__)
            return None
        if photo_type(content) is None:
            return None
        token = await store_photo(self.files, NO_WEB_CHAT, content)
        return photo_size(token, content)

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        files: dict[str, InputFile] = {}
        params = {
            key: self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            for key, value in method.model_dump(warnings=False).items()
        }
        params = {k: v for k, v in params.items() if v is not None}
        params["_files"] = files
        try:
            handler = self._methods.get(method.__api_method__)
            if handler is None:
                raise ApiRefusal(400, f"Bad Request: {method.__api_method__} is not on WeChat")
            body = {"ok": True, "result": await handler(params, bot)}
            status = 200
        except ApiRefusal as refusal:
            body, status = refusal.body(), refusal.code
        response = self.check_response(bot, method, status, json.dumps(body))
        return response.result  # type: ignore[return-value]

    @staticmethod
    async def _ok(params: dict[str, Any], bot: Bot) -> bool:
        return True

    @staticmethod
    async def _cannot_delete(params: dict[str, Any], bot: Bot) -> bool:
        # Said plainly, so nobody tells a person their message was removed when it was not.
        raise message_cant_be_deleted()

    @staticmethod
    async def _get_me(params: dict[str, Any], bot: Bot) -> Any:
        return {**BOT_USER, "id": bot.id}

    def _message(self, chat_id: int, bot: Bot, text: str, markup: Any) -> dict[str, Any]:
        inline = markup if markup and "inline_keyboard" in markup else None
        sender = {**BOT_USER, "id": bot.id}
        return private_message(
            chat_id, sender, next(self._message_ids), text=text, reply_markup=inline
        )

    async def _send_message(self, params: dict[str, Any], bot: Bot) -> Any:
        chat_id = int(params["chat_id"])
        text = wechat_text(str(params.get("text", "")), params.get("parse_mode"))
        if not text.strip():
            raise message_text_is_empty()
        markup = params.get("reply_markup")
        message = self._message(chat_id, bot, text, markup)
        items = menu_items(markup)
        menu = Menu(message["message_id"], text, items) if items else None
        await self.deliver(chat_id, text, menu)
        return message

    async def _edit_markup(self, params: dict[str, Any], bot: Bot) -> Any:
        """Buttons taken off a message (after a tap) leave nothing to send; new buttons come
        as a new menu of the same text."""
        chat_id = int(params["chat_id"])
        raw = await self.state.get(f"menu:{chat_id}")
        old = Menu.loads(raw) if raw else None
        markup = params.get("reply_markup")
        if menu_items(markup) and old is not None:
            return await self._send_message(
                {"chat_id": chat_id, "text": old.text, "reply_markup": markup}, bot
            )
        await self.forget_menu(chat_id)  # the buttons are gone: their numbers too
        return self._message(chat_id, bot, old.text if old else "", markup)

    async def _answer_callback(self, params: dict[str, Any], bot: Bot) -> Any:
        text = str(params.get("text") or "")
        exchange = current_exchange.get()
        if text and exchange is not None:
            exchange.texts.append(text)  # folded into the reply, before what follows
        return True

    async def _send_file(self, params: dict[str, Any], bot: Bot) -> Any:
        """Files (PDF, CSV, charts) cannot be sent to a WeChat chat by the bot: the caption
        is sent, with where to get the file instead."""
        chat_id = int(params["chat_id"])
        caption = wechat_text(str(params.get("caption") or ""), params.get("parse_mode"))
        if self.web_link:
            note = _(
                "This file can't be sent on WeChat. Open {link} (it signs you in with this "
                "WeChat account) and ask again there."
            ).format(link=self._web_page_link())
        else:
            note = _(
                "This file can't be sent on WeChat. Open the web chat page and send /link to "
                "use the same profile there, then ask again."
            )
        exchange = current_exchange.get()
        said = exchange is not None and exchange.chat_id == chat_id and exchange.texts
        if said and any(note in text for text in said):
            note = ""  # said once per answer, however many files it holds
        if caption or note:
            await self.deliver(chat_id, f"{caption}\n\n{note}".strip())
        return self._message(chat_id, bot, caption, None)

    async def _send_photo(self, params: dict[str, Any], bot: Bot) -> Any:
        """A picture (a QR code, a chart) as an image message: uploaded through media/upload
        and sent through the customer-service API, its caption as text. Outside the 48-hour
        window, or when WeChat refuses it, the caption comes with the reason instead."""
        chat_id = int(params["chat_id"])
        caption = wechat_text(str(params.get("caption") or ""), params.get("parse_mode"))
        content = await self._photo_bytes(params, bot)
        if content is None or await self.state.get(f"seen:{chat_id}") is None:
            return await self._send_file(params, bot)
        try:
            media_id = await self.wechat_api.upload_image(content, "picture.png")
            await self.wechat_api.send_image(openid_of(chat_id), media_id)
        except (WeChatApiError, aiohttp.ClientError, TimeoutError) as error:
            log.info("WeChat: a picture was not sent (%s)", getattr(error, "code", error))
            note = _("The picture could not be shown on WeChat. Open the web chat page to see it.")
            if self.web_link:
                note += "\n" + self._web_page_link()

            await self.deliver(chat_id, f"{caption}\n\n{note}".strip())
            return self._message(chat_id, bot, caption, None)
        if caption:
            await self.deliver(chat_id, caption, self._menu_of(params, caption))
        return self._message(chat_id, bot, caption, None)

    def _web_page_link(self) -> str:
        """The web chat page, opened signed in through WeChat OAuth, as a link WeChat shows."""
        label = _("the web chat page")
        return f'<a href="{html.escape(self.web_link or "")}">{label}</a>'

    def _menu_of(self, params: dict[str, Any], text: str) -> Menu | None:
        items = menu_items(params.get("reply_markup"))
        return Menu(next(self._message_ids), text, items) if items else None

    async def _photo_bytes(self, params: dict[str, Any], bot: Bot) -> bytes | None:
        """The picture's bytes: an upload, or a file this bot keeps (its token as file id)."""
        photo = params.get("photo")
        files: dict[str, InputFile] = params.get("_files") or {}
        if isinstance(photo, str) and photo.startswith("attach://"):
            upload = files.get(photo.removeprefix("attach://"))
            if upload is None:
                return None
            return b"".join([chunk async for chunk in upload.read(bot)])
        stored = await self.files.file(str(photo)) if self.files and photo else None
        return stored.content if stored is not None else None

    async def scene_code(self, payload: str) -> SceneCode | None:
        """The parameter QR code that opens `/start <payload>` on WeChat (a SCAN event, or
        `qrscene_` when following), made once per payload and kept in the shared state while
        it lasts; None when the payload does not fit a scene or WeChat refuses."""
        if not payload or len(payload) > QR_SCENE_MAX:
            return None
        raw = await self.state.get(f"qr:{payload}")
        if raw:
            return SceneCode(**json.loads(raw))
        try:
            code = await self.wechat_api.scene_code(payload, QR_SECONDS)
        except (WeChatApiError, aiohttp.ClientError, TimeoutError) as error:
            log.warning("WeChat: no QR code was made (%s)", getattr(error, "code", error))
            return None
        kept = QR_SECONDS - 86400  # given out a day before WeChat drops it at the latest
        await self.state.put(f"qr:{payload}", json.dumps(code.__dict__), kept)
        await self.state.put(f"qrshown:{code.shown}", code.content, kept)
        return code

    async def scene_link(self, payload: str) -> str | None:
        """What a WeChat person opens for a deep link: the page of its QR code."""
        code = await self.scene_code(payload)
        return code.shown if code is not None else None

    async def qr_content(self, link: str) -> str:
        """What a QR picture of `link` should encode: a parameter QR code's own content for
        a link made by `scene_link`, else the link."""
        return await self.state.get(f"qrshown:{link}") or link

    async def _set_commands(self, params: dict[str, Any], bot: Bot) -> Any:
        for command in params.get("commands") or []:
            description, name = str(command["description"]).strip(), "/" + command["command"]
            # "求助：提交诉求" is typed as "求助" too: the words before the first separator.
            for alias in (description, COMMAND_ALIAS_CUT.split(description)[0].strip()):
                if alias:
                    self.command_names.setdefault(alias.lower(), name)
        scope = params.get("scope") or {}
        default = not scope or scope.get("type") == "default"
        if default:
            self.commands[params.get("language_code") or ""] = list(params.get("commands") or [])
        if default and not params.get("language_code"):
            await self._set_account_menu(list(params.get("commands") or []))
        elif scope.get("type") == "chat" and str(scope.get("chat_id", "")).lstrip("-").isdigit():
            await self._set_person_menu(int(scope["chat_id"]), list(params.get("commands") or []))
        return True

    async def _set_account_menu(self, commands: list[dict[str, str]]) -> None:
        """The account's menu (one for every follower, in the default language): its CLICK
        keys are the commands, so a tap runs the same flow as typing it. Setting it starts a
        new generation of the per-role menus (they are made again when next needed)."""
        try:
            await self.wechat_api.create_menu(account_menu(commands))
        except (WeChatApiError, OSError) as error:
            log.warning("WeChat: the account menu was not set (%s)", error)
            return
        self._menu_generation = secrets.token_hex(4)
        await self.state.put("menu-generation", self._menu_generation, LEFT_REMEMBERED_SECONDS)

    async def _set_person_menu(self, chat_id: int, commands: list[dict[str, str]]) -> None:
        """A person's menu from their own command list (their roles, their language): WeChat
        shows a conditional menu to the users with a tag, so each distinct menu has a tag
        and its conditional menu, made once, and the person carries that menu's tag."""
        buttons = account_menu(commands)
        digest = hashlib.sha256(json.dumps(buttons, ensure_ascii=False).encode()).hexdigest()
        try:
            tag = await self._menu_tag(digest[:12], buttons)
            await self._tag_person(openid_of(chat_id), tag)
        except (WeChatApiError, aiohttp.ClientError, TimeoutError, KeyError, ValueError) as error:
            log.warning("WeChat: a person's menu was not set (%s)", getattr(error, "code", error))

    async def _menu_tag(self, menu_key: str, buttons: list[dict[str, Any]]) -> int:
        generation = self._menu_generation or await self.state.get("menu-generation") or "-"
        known = await self.state.get(f"menutag:{generation}:{menu_key}")
        if known:
            return int(known)
        tag = await self.wechat_api.tag_id(f"wushe-menu-{menu_key}")
        earlier = await self.state.get(f"tagmenu:{tag}")
        if earlier:  # this tag's menu of an earlier generation: one menu per tag
            with contextlib.suppress(WeChatApiError):
                await self.wechat_api.delete_conditional_menu(earlier)
        menu_id = await self.wechat_api.add_conditional_menu(buttons, tag)
        await self.state.put(f"tagmenu:{tag}", menu_id, LEFT_REMEMBERED_SECONDS)
        await self.state.put(f"menutag:{generation}:{menu_key}", str(tag), LEFT_REMEMBERED_SECONDS)
        return tag

    async def _tag_person(self, openid: str, tag: int) -> None:
        """The person carries one menu tag: the old one comes off first."""
        old = await self.state.get(f"persontag:{openid}")
        if old == str(tag):
            return
        if old:
            with contextlib.suppress(WeChatApiError):
                await self.wechat_api.tag_users(int(old), [openid], untag=True)
        await self.wechat_api.tag_users(tag, [openid])
        await self.state.put(f"persontag:{openid}", str(tag), LEFT_REMEMBERED_SECONDS)

    # ---- delivery

    async def deliver(self, chat_id: int, text: str, menu: Menu | None = None) -> None:
        """Into the reply being collected, or out now, or into the notice list. Only a
        message the person sees now sets the chat's menu; any other message clears it, so
        an old number never taps a button that is no longer the last one shown."""
        await self._remember_locale(chat_id)
        exchange = current_exchange.get()
        if exchange is not None and exchange.chat_id == chat_id and not exchange.closed:
            await self._set_menu(chat_id, menu)
            exchange.texts.append(with_menu(text, menu))
            return
        if await self.state.get(f"seen:{chat_id}") is None:
            await self.outside_window(chat_id, text)  # its buttons will be gone by then
            return
        await self._set_menu(chat_id, menu)
        await self.send_now(chat_id, with_menu(text, menu))

    async def _remember_locale(self, chat_id: int) -> None:
        """The language the person's messages are rendered in, for what the channel says
        itself before the Dispatcher knows who writes (WeChat does not tell a language)."""
        i18n = I18n.get_current(no_error=True)
        locale = i18n.current_locale if i18n is not None else None
        if locale and self._locales.get(chat_id) != locale:
            if len(self._locales) > 10_000:  # a memo of writes spared, bounded
                self._locales.clear()
            self._locales[chat_id] = locale
            await self.state.put(f"locale:{chat_id}", locale, LEFT_REMEMBERED_SECONDS)

    async def locale_of(self, chat_id: int) -> str | None:
        return await self.state.get(f"locale:{chat_id}")

    async def _set_menu(self, chat_id: int, menu: Menu | None) -> None:
        if menu is None:
            await self.forget_menu(chat_id)
        else:
            await self.state.put(f"menu:{chat_id}", menu.dumps(), WINDOW_SECONDS)

    async def forget_menu(self, chat_id: int) -> None:
        await self.state.put(f"menu:{chat_id}", "", 1)

    async def send_now(self, chat_id: int, text: str) -> None:
        """Through the customer-service API (inside the 48-hour window); what WeChat refuses
        waits in the person's notice list for their next message — never lost, never sent
        twice (pieces already out are not kept)."""
        openid = openid_of(chat_id)
        pieces = split_text(text)
        for index, piece in enumerate(pieces):
            try:
                await self.wechat_api.send_text(openid, piece)
            except (WeChatApiError, OSError, TimeoutError) as error:
                code = getattr(error, "code", None)
                rest = "\n".join(pieces[index:])
                if code in (WINDOW_CLOSED, TOO_MANY):
                    await self.outside_window(chat_id, rest)
                    return
                if code != NO_PERMISSION:
                    log.warning("WeChat: a message was kept for later (%s)", code or error)
                await self.keep_for_later(chat_id, rest)
                return

    async def outside_window(self, chat_id: int, text: str) -> None:
        """A notice whose kind has a template goes out as a template message; anything else,
        or what WeChat refuses (43004 not following, 40037 a wrong template id …), waits in
        the notice list. A text longer than the template shows waits there in full too."""
        how = sending.get()
        template = self.templates.get(how.kind) if how is not None else None
        if how is None or not template:
            await self.keep_for_later(chat_id, text)
            return
        plain = neutral(text).strip()
        shown = plain if len(plain) <= TEMPLATE_TEXT_CHARS else plain[:TEMPLATE_TEXT_CHARS] + "…"
        data = {"first": how.heading, "keyword1": shown, "remark": how.remark}
        try:
            await self.wechat_api.send_template(openid_of(chat_id), template, data)
        except (WeChatApiError, OSError, TimeoutError) as error:
            log.info("WeChat: a template message was refused (%s)", getattr(error, "code", error))
            await self.keep_for_later(chat_id, text)
            return
        if shown != plain:
            await self.keep_for_later(chat_id, text)
        told("template")

    async def keep_for_later(self, chat_id: int, text: str) -> None:
        await self.state.push(f"later:{chat_id}", text, ttl=30 * 86400, keep=LATER_KEPT)
        told("waiting")


def told(how: str) -> None:
    """Tells the outbox how its message went (see ports.Outcome), when it is the sender."""
    found = outcome.get()
    if found is not None:
        found.how = how


def with_menu(text: str, menu: Menu | None) -> str:
    return f"{text}\n\n{render_menu(menu)}" if menu is not None else text


# ---------------------------------------------------------------- inbound: the channel


Feed = Callable[[Bot, Update], Awaitable[Any]]


class WeChatChannel:
    """Turns what WeChat posts into Updates, one chat's updates in order, and collects the
    answer for the webhook."""

    def __init__(
        self,
        bot: Bot,
        session: WeChatSession,
        feed: Feed,
        state: ChannelState,
        i18n: I18n | None = None,
    ) -> None:
        self.i18n = i18n
        self._locks: WeakValueDictionary[int, asyncio.Lock] = WeakValueDictionary()
        self.bot = bot
        self.session = session
        self.feed = feed
        self.state = state
        self._update_ids = iter(range(int(time.time()), 1 << 62))
        self.tasks: set[asyncio.Task[Any]] = set()

    @staticmethod
    def dedupe_key(fields: dict[str, str]) -> str:
        if fields.get("MsgId"):
            return f"msg:{fields['MsgId']}"
        return (
            f"event:{fields.get('FromUserName')}:{fields.get('CreateTime')}:{fields.get('Event')}"
        )

    async def receive(self, fields: dict[str, str], budget: float) -> str | None:
        """Handle one WeChat message; the text to answer passively if it is ready within
        `budget` seconds, else None: then everything the update says is sent once, in order,
        through the customer-service API when the handler is done."""
        openid = fields.get("FromUserName", "")
        if not openid:
            return None
        chat_id = chat_id_of(openid)
        key = self.dedupe_key(fields)
        if not await self.state.add_once(key, ttl=600):
            # WeChat's retry of a message being handled: the first answer, if it is ready.
            return await self._earlier_answer(key, budget)
        exchange = Exchange(chat_id)
        token = current_exchange.set(exchange)
        try:
            if opens_window(fields):
                await self.state.put(f"seen:{chat_id}", str(int(time.time())), WINDOW_SECONDS)
                exchange.texts.extend(await self.state.pop_all(f"later:{chat_id}"))
            task = asyncio.create_task(self._handle(chat_id, fields))
        finally:
            current_exchange.reset(token)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        done, _ = await asyncio.wait({task}, timeout=budget)
        if not done:
            task.add_done_callback(lambda _t: self._send_late(exchange))
            return None
        exchange.closed = True
        answer = "\n\n".join(exchange.texts)
        if len(answer.encode()) > MAX_REPLY_BYTES:
            self._send_late(exchange)  # too long for one passive reply: in pieces, in order
            return None
        if answer:
            await self.state.put(f"answer:{key}", answer, ttl=30)
        return answer or None

    async def _earlier_answer(self, key: str, budget: float) -> str | None:
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            answer = await self.state.get(f"answer:{key}")
            if answer:
                return answer
            await asyncio.sleep(0.1)
        return None

    def _send_late(self, exchange: Exchange) -> None:
        exchange.closed = True
        if exchange.texts:
            text = "\n\n".join(exchange.texts)
            task = asyncio.create_task(self.session.send_now(exchange.chat_id, text))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _handle(self, chat_id: int, fields: dict[str, str]) -> None:
        # In order per chat, the reply read against the menu the update before it left.
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        async with lock:
            try:
                locale = await self.session.locale_of(chat_id)
                with self._language(locale):
                    update = await self.update_for(chat_id, fields)
                if update is not None:
                    await self.feed(self.bot, update)
            except Exception:
                log.exception("WeChat update failed")

    def _language(self, locale: str | None) -> Any:
        """What the channel says itself (hints before the Dispatcher's i18n) is in the
        language the person's last messages were in; the default before any (WeChat does
        not tell a person's language)."""
        if self.i18n is None:
            return contextlib.nullcontext()
        if locale not in self.i18n.available_locales:
            locale = self.i18n.default_locale
        stack = contextlib.ExitStack()
        stack.enter_context(self.i18n.context())
        stack.enter_context(self.i18n.use_locale(locale))
        return stack

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    # ---- building the update

    def _user(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": "WeChat", "language_code": "zh"}

    def _update(self, payload: dict[str, Any]) -> Update:
        return Update.model_validate(
            {"update_id": next(self._update_ids), **payload}, context={"bot": self.bot}
        )

    def _message(self, chat_id: int, **content: Any) -> Update:
        text = content.get("text")
        if isinstance(text, str) and (entities := command_entities(text)):
            content["entities"] = entities
        message = private_message(chat_id, self._user(chat_id), next(self._update_ids), **content)
        return self._update({"message": message})

    async def update_for(self, chat_id: int, fields: dict[str, str]) -> Update | None:
        kind = fields.get("MsgType", "")
        if kind == "event":
            return await self._event(chat_id, fields)
        if kind == "text":
            return await self._text(chat_id, fields.get("Content", ""))
        if kind == "voice" and fields.get("Recognition"):
            return await self._text(chat_id, fields["Recognition"])
        if kind == "location":
            lat, lng = gcj02_to_wgs84(float(fields["Location_X"]), float(fields["Location_Y"]))
            return self._message(chat_id, location={"latitude": lat, "longitude": lng})
        if kind == "image" and fields.get("MediaId"):
            photo = await self.session.keep_photo(fields["MediaId"])
            if photo is not None:
                return self._message(chat_id, photo=[photo])
            await self.session.deliver(
                chat_id, _("Sorry, the photo could not be received. Please send it again.")
            )
            return None
        await self.session.deliver(
            chat_id,
            _(
                "Sorry, I can only read text, voice, photos and locations here. "
                "Please type your message."
            ),
        )
        return None

    async def _event(self, chat_id: int, fields: dict[str, str]) -> Update | None:
        event = fields.get("Event", "").lower()
        key = fields.get("EventKey", "")
        if event == "subscribe":
            if await self.state.get(f"left:{chat_id}"):
                await self.state.put(f"left:{chat_id}", "", -1)
                await self.session.deliver(
                    chat_id,
                    _(
                        "Welcome back. What you told us before is still kept; to have it "
                        "erased, send /deleteme."
                    ),
                )
            payload = key.removeprefix("qrscene_") if key.startswith("qrscene_") else ""
            return self._message(chat_id, text=f"/start {payload}".strip())
        if event == "scan":
            return self._message(chat_id, text=f"/start {key}".strip())
        if event == "click" and key.startswith("/"):
            return self._message(chat_id, text=key)
        if event == "unsubscribe":
            # As Telegram reports a block: broadcasts skip the person until they follow again.
            # Their data stays: following again tells them so and how to have it erased.
            await self.state.put(f"left:{chat_id}", "1", LEFT_REMEMBERED_SECONDS)
            return self._membership(chat_id, "kicked")
        return None  # VIEW, LOCATION reports: nothing to say

    def _membership(self, chat_id: int, status: str) -> Update:
        bot_user = {**BOT_USER, "id": self.bot.id}
        return self._update(
            {
                "my_chat_member": {
                    "chat": {"id": chat_id, "type": "private"},
                    "from": self._user(chat_id),
                    "date": int(time.time()),
                    "old_chat_member": {"status": "member", "user": bot_user},
                    "new_chat_member": {"status": status, "user": bot_user, "until_date": 0},
                }
            }
        )

    async def _text(self, chat_id: int, text: str) -> Update | None:
        raw = await self.state.get(f"menu:{chat_id}")
        menu = Menu.loads(raw) if raw else None
        stripped = text.strip()
        if menu is not None and stripped == "0" and len(menu.items) > MENU_PAGE:
            menu.page = (menu.page + 1) % ((len(menu.items) - 1) // MENU_PAGE + 1)
            await self.session.deliver(chat_id, menu.text, menu)
            return None
        item = menu.choice(stripped) if menu is not None else None
        if menu is not None and item is not None:
            return await self._chosen(chat_id, menu, item)
        key = stripped.lower()
        command = self.session.command_names.get(key) or TYPED_COMMANDS.get(key)
        return self._message(chat_id, text=command or text)

    async def _chosen(self, chat_id: int, menu: Menu, item: MenuItem) -> Update | None:
        if item.data is not None:
            sender = {**BOT_USER, "id": self.bot.id}
            message = private_message(chat_id, sender, menu.message_id, text=menu.text)
            query = {
                "id": secrets.token_hex(8),
                "from": self._user(chat_id),
                "chat_instance": str(chat_id),
                "message": message,
                "data": item.data,
            }
            return self._update({"callback_query": query})
        if item.reply == LOCATION:
            await self.session.deliver(
                chat_id, _("Tap ＋ next to the input box and choose Location.")
            )
            return None
        return self._message(chat_id, text=item.reply or item.label)
