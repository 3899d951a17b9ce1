"""The web chat channel: browsers chat with the same Dispatcher as Telegram users.

Inbound, `WebChat` turns what a browser posts into `aiogram.types.Update`s. Outbound, the bot's
Bot API calls land in `WebChatSession` (a custom aiogram session): it keeps each conversation's
transcript as page events and answers like Telegram would, refusals included, so handlers
behave the same on every channel."""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile, Update

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_EVENTS_KEPT = 500
MAX_QUERIES_KEPT = 2000
MAX_CONVERSATIONS = 5000
MAX_FILES = 500
MAX_MESSAGES_KEPT = 300
ALLOWED_TAGS = frozenset(
    [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "code",
        "pre",
        "a",
        "tg-spoiler",
        "span",
        "blockquote",
        "tg-emoji",
    ]
)
BOT_USER = {"id": 1, "is_bot": True, "first_name": "Wushe", "username": "wushe_web"}


class ApiRefusal(Exception):
    """A refusal in Telegram's words, e.g. (400, 'Bad Request: message is too long')."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class _TelegramHtml(HTMLParser):
    """Checks Telegram's HTML subset and yields the plain text, as Telegram does."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise ApiRefusal(400, f"Bad Request: can't parse entities: unsupported tag <{tag}>")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise ApiRefusal(400, f"Bad Request: can't parse entities: unexpected </{tag}>")
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def plain_text(text: str, parse_mode: str | None) -> str:
    if parse_mode != "HTML":
        return text
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise ApiRefusal(400, f"Bad Request: can't parse entities: unclosed <{parser.open[-1]}>")
    return "".join(parser.text)


def page_html(text: str, parse_mode: str | None) -> str:
    return text if parse_mode == "HTML" else html.escape(text)


def inline_buttons(markup: dict[str, Any] | None) -> list[list[dict[str, str]]] | None:
    if not markup or "inline_keyboard" not in markup:
        return None
    rows = []
    for row in markup["inline_keyboard"]:
        buttons = []
        for button in row:
            data = button.get("callback_data")
            if data is not None and len(data.encode()) > 64:
                raise ApiRefusal(400, "Bad Request: BUTTON_DATA_INVALID")
            kind = "data" if data is not None else "url"
            buttons.append({"text": button["text"], kind: data or button.get("url", "")})
        rows.append(buttons)
    return rows


def reply_keyboard(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]] | None:
    if not markup or "keyboard" not in markup:
        return None
    return [
        [
            {
                "text": b["text"] if isinstance(b, dict) else b,
                "request_location": bool(isinstance(b, dict) and b.get("request_location")),
                "request_contact": bool(isinstance(b, dict) and b.get("request_contact")),
            }
            for b in row
        ]
        for row in markup["keyboard"]
    ]


@dataclass
class StoredFile:
    chat_id: int
    filename: str
    content: bytes


@dataclass
class Conversation:
    """One browser's chat: its transcript as page events, and the bot's live messages."""

    chat_id: int
    events: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0
    message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    client_ids: dict[str, None] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    # Updates of one chat are handled one after another, like Telegram delivers them.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def publish(self, event: dict[str, Any]) -> None:
        async with self.changed:
            self.seq += 1
            self.events.append({"seq": self.seq, **event})
            del self.events[:-MAX_EVENTS_KEPT]
            self.changed.notify_all()

    def since(self, after: int) -> list[dict[str, Any]]:
        return [e for e in self.events if e["seq"] > after]

    async def wait(self, after: int, timeout: float) -> list[dict[str, Any]]:
        async with self.changed:
            try:
                await asyncio.wait_for(
                    self.changed.wait_for(lambda: self.seq > after), timeout=timeout
                )
            except TimeoutError:
                return []
        return self.since(after)


class WebChatHub:
    """All web conversations of this process, and the files sent into them."""

    def __init__(self) -> None:
        self.conversations: dict[int, Conversation] = {}
        self.files: dict[str, StoredFile] = {}
        self.default_commands: dict[str, list[dict[str, str]]] = {}
        # Which chat a callback query came from, for answerCallbackQuery (newest kept).
        self.query_chats: OrderedDict[str, int] = OrderedDict()

    def remember_query(self, query_id: str, chat_id: int) -> None:
        self.query_chats[query_id] = chat_id
        while len(self.query_chats) > MAX_QUERIES_KEPT:
            self.query_chats.popitem(last=False)

    def conversation(self, chat_id: int) -> Conversation:
        chat = self.conversations.pop(chat_id, None) or Conversation(chat_id)
        # Most recently used last; the least recently used are forgotten beyond the cap (the
        # people and their data are in the database; only the page transcript goes).
        self.conversations[chat_id] = chat
        while len(self.conversations) > MAX_CONVERSATIONS:
            self.conversations.pop(next(iter(self.conversations)))
        return chat

    def store_file(self, token: str, stored: StoredFile) -> None:
        self.files[token] = stored
        while len(self.files) > MAX_FILES:
            self.files.pop(next(iter(self.files)))

    def commands_for(self, language: str) -> list[dict[str, str]]:
        return self.default_commands.get(language) or self.default_commands.get("", [])


class WebChatSession(BaseSession):
    """Answers the bot's Bot API calls for web chats, like a small in-process Telegram."""

    def __init__(self, hub: WebChatHub) -> None:
        super().__init__()
        self.hub = hub
        self._methods: dict[
            str, Callable[[dict[str, Any], dict[str, InputFile], Bot], Awaitable[Any]]
        ] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback,
            "sendDocument": self._send_file,
            "sendPhoto": self._send_file,
            "setMyCommands": self._set_commands,
            "deleteMyCommands": self._ok,
            "sendChatAction": self._ok,
            "setChatMenuButton": self._ok,
        }

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise ApiRefusal(400, "Bad Request: files are not downloadable on the web channel")
        yield b""  # pragma: no cover - makes this an async generator

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        files: dict[str, InputFile] = {}
        params = {
            key: self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            for key, value in method.model_dump(warnings=False).items()
        }
        params = {k: v for k, v in params.items() if v is not None}
        api_method = method.__api_method__
        try:
            handler = self._methods.get(api_method)
            if handler is None:
                raise ApiRefusal(400, f"Bad Request: {api_method} is not available on web chat")
            result = await handler(params, files, bot)
            body = {"ok": True, "result": result}
            status = 200
        except ApiRefusal as refusal:
            body = {"ok": False, "error_code": refusal.code, "description": refusal.description}
            status = refusal.code
        response = self.check_response(bot, method, status, json.dumps(body))
        return response.result  # type: ignore[return-value]

    def _existing(self, params: dict[str, Any]) -> Conversation:
        # Web chat ids come from signed cookies via the store, so any id the bot names is a real
        # browser's; after a restart its transcript simply starts again.
        return self.hub.conversation(int(params["chat_id"]))

    @staticmethod
    async def _ok(params: dict[str, Any], files: dict[str, InputFile], bot: Bot) -> bool:
        return True

    @staticmethod
    async def _get_me(params: dict[str, Any], files: dict[str, InputFile], bot: Bot) -> Any:
        return {**BOT_USER, "id": bot.id}

    def _message(self, chat: Conversation, bot: Bot, **fields: Any) -> dict[str, Any]:
        message_id = next(chat.message_ids)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat.chat_id, "type": "private"},
            "from": {**BOT_USER, "id": bot.id},
            **{k: v for k, v in fields.items() if v is not None},
        }
        chat.messages[message_id] = message
        while len(chat.messages) > MAX_MESSAGES_KEPT:
            chat.messages.pop(next(iter(chat.messages)))
        return message

    async def _send_message(
        self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot
    ) -> Any:
        chat = self._existing(params)
        text, parse_mode = str(params.get("text", "")), params.get("parse_mode")
        if not text.strip():
            raise ApiRefusal(400, "Bad Request: message text is empty")
        plain = plain_text(text, parse_mode)
        if len(plain) > MAX_TEXT:
            raise ApiRefusal(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        buttons = inline_buttons(markup)
        message = self._message(
            chat, bot, text=plain, reply_markup=markup if buttons is not None else None
        )
        await chat.publish(
            {
                "type": "message",
                "from": "bot",
                "message_id": message["message_id"],
                "html": page_html(text, parse_mode),
                "buttons": buttons,
                "reply_keyboard": reply_keyboard(markup),
                "remove_keyboard": bool(markup and markup.get("remove_keyboard")),
                "date": message["date"],
            }
        )
        message["_html"] = page_html(text, parse_mode)
        return {k: v for k, v in message.items() if not k.startswith("_")}

    def _bot_message(self, chat: Conversation, params: dict[str, Any], verb: str) -> dict[str, Any]:
        message = chat.messages.get(int(params.get("message_id", 0)))
        if message is None:
            raise ApiRefusal(400, f"Bad Request: message to {verb} not found")
        return message

    async def _edit_message_text(
        self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot
    ) -> Any:
        chat = self._existing(params)
        message = self._bot_message(chat, params, "edit")
        text, parse_mode = str(params.get("text", "")), params.get("parse_mode")
        plain = plain_text(text, parse_mode)
        if len(plain) > MAX_TEXT:
            raise ApiRefusal(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        buttons = inline_buttons(markup)
        if (
            message["_html"] == page_html(text, parse_mode)
            and message.get("reply_markup") == markup
        ):
            raise ApiRefusal(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message.update(text=plain, _html=page_html(text, parse_mode), reply_markup=markup)
        if markup is None:
            message.pop("reply_markup")
        await chat.publish(
            {
                "type": "edit",
                "message_id": message["message_id"],
                "html": message["_html"],
                "buttons": buttons,
            }
        )
        return {k: v for k, v in message.items() if not k.startswith("_")}

    async def _edit_reply_markup(
        self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot
    ) -> Any:
        chat = self._existing(params)
        message = self._bot_message(chat, params, "edit")
        markup = params.get("reply_markup")
        if message.get("reply_markup") == markup:
            raise ApiRefusal(400, "Bad Request: message is not modified")
        message["reply_markup"] = markup
        await chat.publish(
            {
                "type": "edit",
                "message_id": message["message_id"],
                "html": message["_html"],
                "buttons": inline_buttons(markup),
            }
        )
        return {k: v for k, v in message.items() if not k.startswith("_") and v is not None}

    async def _delete_message(
        self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot
    ) -> Any:
        chat = self._existing(params)
        message = self._bot_message(chat, params, "delete")
        del chat.messages[message["message_id"]]
        await chat.publish({"type": "delete", "message_id": message["message_id"]})
        return True

    async def _answer_callback(
        self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot
    ) -> Any:
        query_id = str(params.get("callback_query_id", ""))
        # Like Telegram: a tap is answered once; a second answer is refused.
        chat_id = self.hub.query_chats.pop(query_id, None)
        if chat_id is None or chat_id not in self.hub.conversations:
            raise ApiRefusal(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        await self.hub.conversations[chat_id].publish(
            {
                "type": "callback_answer",
                "text": params.get("text", ""),
                "show_alert": bool(params.get("show_alert")),
            }
        )
        return True

    async def _send_file(
        self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot
    ) -> Any:
        chat = self._existing(params)
        kind = "document" if "document" in params else "photo"
        reference = str(params[kind])
        upload = files.get(reference.removeprefix("attach://"))
        if upload is None:
            raise ApiRefusal(400, "Bad Request: only uploaded files can be sent on web chat")
        content = b"".join([chunk async for chunk in upload.read(bot)])
        token = secrets.token_urlsafe(16)
        filename = upload.filename or f"{kind}.bin"
        self.hub.store_file(token, StoredFile(chat.chat_id, filename, content))
        caption, parse_mode = str(params.get("caption", "")), params.get("parse_mode")
        markup = params.get("reply_markup")
        message = self._message(
            chat,
            bot,
            caption=plain_text(caption, parse_mode) or None,
            reply_markup=markup,
            **{kind: {"file_id": token, "file_unique_id": token[:8], "file_name": filename}}
            if kind == "document"
            else {
                "photo": [{"file_id": token, "file_unique_id": token[:8], "width": 1, "height": 1}]
            },
        )
        message["_html"] = page_html(caption, parse_mode)
        await chat.publish(
            {
                "type": kind,
                "from": "bot",
                "message_id": message["message_id"],
                "url": f"/chat/api/files/{token}",
                "filename": filename,
                "caption_html": message["_html"],
                "buttons": inline_buttons(markup),
            }
        )
        return {k: v for k, v in message.items() if not k.startswith("_")}

    async def _set_commands(
        self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot
    ) -> Any:
        commands = [
            {"command": c["command"], "description": c["description"]}
            for c in params.get("commands", [])
        ]
        scope = params.get("scope") or {"type": "default"}
        if scope.get("type") == "chat":
            chat = self.hub.conversation(int(scope["chat_id"]))
            await chat.publish({"type": "commands", "commands": commands})
        else:
            self.hub.default_commands[params.get("language_code", "")] = commands
        return True


UpdateFeeder = Callable[[Bot, Update], Awaitable[Any]]


class WebChat:
    """Inbound side: what a browser posts becomes an Update for the one Dispatcher."""

    def __init__(self, hub: WebChatHub, bot: Bot, feed: UpdateFeeder) -> None:
        self.hub = hub
        self.bot = bot
        self.feed = feed
        self._update_ids = itertools.count(int(time.time()))
        self._tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    def user(chat_id: int, language: str) -> dict[str, Any]:
        return {
            "id": chat_id,
            "is_bot": False,
            "first_name": f"web-{chat_id % 100000:05d}",
            "language_code": language,
        }

    async def user_text(
        self, chat_id: int, text: str, *, language: str, client_id: str | None = None
    ) -> None:
        chat = self.hub.conversation(chat_id)
        if client_id is not None:
            # A retried POST whose first answer was lost must not be handled twice.
            if client_id in chat.client_ids:
                return
            chat.client_ids[client_id] = None
            while len(chat.client_ids) > MAX_EVENTS_KEPT:
                chat.client_ids.pop(next(iter(chat.client_ids)))
        message_id = next(chat.message_ids)
        await chat.publish(
            {
                "type": "message",
                "from": "user",
                "message_id": message_id,
                "html": html.escape(text),
                "client_id": client_id,
                "date": int(time.time()),
            }
        )
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self.user(chat_id, language),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        self._dispatch(chat, {"message": message})

    async def user_location(
        self, chat_id: int, latitude: float, longitude: float, *, language: str
    ) -> None:
        chat = self.hub.conversation(chat_id)
        message_id = next(chat.message_ids)
        await chat.publish(
            {
                "type": "message",
                "from": "user",
                "message_id": message_id,
                "html": f"📍 {latitude:.5f}, {longitude:.5f}",
                "date": int(time.time()),
            }
        )
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self.user(chat_id, language),
            "location": {"latitude": latitude, "longitude": longitude},
        }
        self._dispatch(chat, {"message": message})

    def user_callback(self, chat_id: int, message_id: int, data: str, *, language: str) -> bool:
        """A button tap. Only data that is really on that bot message is accepted."""
        chat = self.hub.conversation(chat_id)
        message = chat.messages.get(message_id)
        if message is None or not _has_button(message, data):
            return False
        query_id = secrets.token_hex(8)
        self.hub.remember_query(query_id, chat_id)
        public = {k: v for k, v in message.items() if not k.startswith("_")}
        query = {
            "id": query_id,
            "from": self.user(chat_id, language),
            "chat_instance": str(chat_id),
            "message": public,
            "data": data,
        }
        self._dispatch(chat, {"callback_query": query})
        return True

    def _dispatch(self, chat: Conversation, payload: dict[str, Any]) -> None:
        update = Update.model_validate(
            {"update_id": next(self._update_ids), **payload}, context={"bot": self.bot}
        )
        task = asyncio.create_task(self._feed_in_order(chat, update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _feed_in_order(self, chat: Conversation, update: Update) -> None:
        async with chat.lock:
            try:
                await self.feed(self.bot, update)
            except Exception:
                log.exception("web chat update %s failed", update.update_id)

    async def drain(self) -> None:
        """Wait for every update in flight (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _has_button(message: dict[str, Any], data: str) -> bool:
    markup = message.get("reply_markup") or {}
    return any(
        button.get("callback_data") == data
        for row in markup.get("inline_keyboard", [])
        for button in row
    )
