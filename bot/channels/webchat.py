"""The web chat channel: browsers chat with the same Dispatcher as Telegram users.

Inbound, `WebChat` turns what a browser posts into `aiogram.types.Update`s. Outbound, the bot's
Bot API calls land in `WebChatSession` (a custom aiogram session): it keeps each conversation's
transcript as page events and answers like Telegram would, refusals included (Telegram's rules
come from bot/channels/botapi.py), so handlers behave the same on every channel. Transcripts,
the bot's messages (with the buttons taps are checked against), menus and files live in a
`TranscriptStore`: the database in the bot process (storage/webchat.py), so a reload after a
restart shows the conversation (docs/webchat.md)."""

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
from io import BytesIO
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile, Update
from aiogram.utils.i18n import gettext as _
from PIL import Image

# MAX_TEXT: what a person may type on the page too (bot/web/chat.py).
from bot.channels.botapi import MAX_TEXT as MAX_TEXT
from bot.channels.botapi import (
    ApiRefusal,
    apply_changes,
    checked_markup,
    command_entities,
    editable,
    formatted,
    inline_keys,
    invalid_file_id,
    message_not_found,
    private_message,
    query_is_too_old,
    reply_keys,
    wrong_file_identifier,
)
from bot.domain.transcripts import (
    MAX_EVENTS_KEPT,
    MAX_MESSAGES_KEPT,
    FileStore,
    Published,
    StoredFile,
    TranscriptStore,
    redact_event,
)

log = logging.getLogger(__name__)

MAX_QUERIES_KEPT = 2000
MAX_CONVERSATIONS = 5000
MAX_FILES = 500
# A long poll looks at the store again this often, for events another process wrote.
RECHECK_SECONDS = 5.0
BOT_USER = {"id": 1, "is_bot": True, "first_name": "Wushe", "username": "wushe_web"}


def plain_text(text: str, parse_mode: str | None, *, caption: bool = False) -> str:
    """What Telegram would keep of a text or caption (botapi.formatted), or its refusal."""
    return formatted(text, parse_mode, caption=caption)[0]


def page_html(text: str, parse_mode: str | None) -> str:
    return text if parse_mode == "HTML" else html.escape(text)


def inline_buttons(markup: dict[str, Any] | None) -> list[list[dict[str, str]]] | None:
    if not markup or "inline_keyboard" not in markup:
        return None
    checked_markup(markup)  # refused as Telegram refuses it
    rows = []
    for row in markup["inline_keyboard"]:
        buttons = []
        for button in row:
            data = button.get("callback_data")
            kind = "data" if data is not None else "url"
            buttons.append({"text": button["text"], kind: data or button.get("url", "")})
        rows.append(buttons)
    return rows


def reply_keyboard(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]] | None:
    """A reply keyboard for the page (botapi.reply_keys): a browser cannot share the person's
    contact, so handlers don't offer it here (handlers/common/keyboards.py phone_keyboard)."""
    return reply_keys(markup)


@dataclass
class Conversation:
    """One browser's chat in this process: its updates' lock, the long polls' wake-up, and (in
    the memory store) its transcript."""

    chat_id: int
    events: list[dict[str, Any]] = field(default_factory=list)
    # The newest seq this process knows of (it wakes long polls).
    seq: int = 0
    message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    client_ids: dict[str, None] = field(default_factory=dict)
    commands: list[dict[str, str]] | None = None
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    # Updates of one chat are handled one after another, like Telegram delivers them.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def since(self, after: int) -> list[dict[str, Any]]:
        return [e for e in self.events if e["seq"] > after]

    async def woken(self, seq: int) -> None:
        async with self.changed:
            self.seq = max(self.seq, seq)
            self.changed.notify_all()

    async def wait(self, after: int, timeout: float) -> bool:
        """Until this process publishes past `after`, or the timeout; True if it did."""
        async with self.changed:
            try:
                await asyncio.wait_for(
                    self.changed.wait_for(lambda: self.seq > after), timeout=timeout
                )
            except TimeoutError:
                return False
        return True


class MemoryTranscripts:
    """Transcripts in this process only (tests; lost on restart)."""

    def __init__(self, hub: WebChatHub) -> None:
        self.hub = hub

    async def publish(
        self,
        chat_id: int,
        event: dict[str, Any],
        *,
        new_message: bool = False,
        message: dict[str, Any] | None = None,
        forget_message: int | None = None,
        client_id: str | None = None,
    ) -> Published | None:
        chat = self.hub.conversation(chat_id)
        if client_id is not None:
            if client_id in chat.client_ids:
                return None
            chat.client_ids[client_id] = None
            while len(chat.client_ids) > MAX_EVENTS_KEPT:
                chat.client_ids.pop(next(iter(chat.client_ids)))
        message_id = None
        if new_message:
            message_id = next(chat.message_ids)
            event["message_id"] = message_id
            if message is not None:
                message["message_id"] = message_id
        if message is not None:
            chat.messages[message["message_id"]] = message
            while len(chat.messages) > MAX_MESSAGES_KEPT:
                chat.messages.pop(next(iter(chat.messages)))
        if forget_message is not None:
            chat.messages.pop(forget_message, None)
        seq = chat.seq + 1
        chat.events.append({"seq": seq, **event})
        del chat.events[:-MAX_EVENTS_KEPT]
        await chat.woken(seq)
        return Published(seq, message_id)

    async def since(self, chat_id: int, after: int) -> tuple[list[dict[str, Any]], int]:
        chat = self.hub.conversation(chat_id)
        return chat.since(after), chat.seq

    async def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        return self.hub.conversation(chat_id).messages.get(message_id)

    async def redact(self, chat_id: int, message_id: int, html_text: str) -> bool:
        found = False
        for event in self.hub.conversation(chat_id).events:
            if event.get("message_id") == message_id and event.get("from") == "user":
                redact_event(event, html_text)
                found = True
        return found

    async def set_commands(self, chat_id: int, commands: list[dict[str, str]]) -> None:
        self.hub.conversation(chat_id).commands = commands

    async def commands(self, chat_id: int) -> list[dict[str, str]] | None:
        return self.hub.conversation(chat_id).commands

    async def put_file(self, token: str, stored: StoredFile) -> None:
        self.hub.files[token] = stored
        while len(self.hub.files) > MAX_FILES:
            self.hub.files.pop(next(iter(self.hub.files)))

    async def file(self, token: str) -> StoredFile | None:
        return self.hub.files.get(token)


class WebChatHub:
    """All web conversations of this process, and where their transcripts are kept."""

    def __init__(self, store: TranscriptStore | None = None) -> None:
        self.conversations: dict[int, Conversation] = {}
        self.files: dict[str, StoredFile] = {}  # the memory store's files
        self.store: TranscriptStore = store or MemoryTranscripts(self)
        self.default_commands: dict[str, list[dict[str, str]]] = {}
        # Which chat a callback query came from, for answerCallbackQuery (newest kept).
        self.query_chats: OrderedDict[str, int] = OrderedDict()
        # Other processes' long polls woken when this one publishes (Redis), if configured.
        self.wakeups: RedisWakeups | None = None

    def remember_query(self, query_id: str, chat_id: int) -> None:
        self.query_chats[query_id] = chat_id
        while len(self.query_chats) > MAX_QUERIES_KEPT:
            self.query_chats.popitem(last=False)

    def conversation(self, chat_id: int) -> Conversation:
        chat = self.conversations.pop(chat_id, None) or Conversation(chat_id)
        # Most recently used last; the least recently used are forgotten beyond the cap (with
        # the database store only their lock and wake-up go).
        self.conversations[chat_id] = chat
        while len(self.conversations) > MAX_CONVERSATIONS:
            self.conversations.pop(next(iter(self.conversations)))
        return chat

    async def publish(self, chat_id: int, event: dict[str, Any], **kwargs: Any) -> Published | None:
        published = await self.store.publish(chat_id, event, **kwargs)
        if published is not None:
            await self.conversation(chat_id).woken(published.seq)
            if self.wakeups is not None:
                await self.wakeups.announce(chat_id, published.seq)
        return published

    async def woken_elsewhere(self, chat_id: int, seq: int) -> None:
        """Another process published in this chat: its long polls here look again now."""
        chat = self.conversations.get(chat_id)
        if chat is not None:
            await chat.woken(seq)

    async def events(
        self, chat_id: int, after: int, timeout: float
    ) -> tuple[list[dict[str, Any]], int]:
        """The events after `after`, waiting up to `timeout` seconds for one. Read from the
        store each time (another process may have written); this process's own publishing
        wakes the wait at once, and the store is looked at again every few seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        found, last = await self.store.since(chat_id, after)
        # A page ahead of the store (its chat started again) is answered at once.
        while not found and after <= last and (remaining := deadline - loop.time()) > 0:
            await self.conversation(chat_id).wait(after, min(remaining, RECHECK_SECONDS))
            found, last = await self.store.since(chat_id, after)
        return found, last

    def commands_for(self, language: str) -> list[dict[str, str]]:
        return self.default_commands.get(language) or self.default_commands.get("", [])


WAKEUP_CHANNEL = "wushe:webchat:published"


class RedisWakeups:
    """Redis pub/sub between the processes serving the page: a process that publishes an event
    announces "chat:seq", and each process wakes its long polls of that chat at once (without
    it they would see the event at their next look, RECHECK_SECONDS later). A lost announcement
    costs only that delay: the events themselves are in the database."""

    def __init__(self, redis: Any, channel: str = WAKEUP_CHANNEL) -> None:
        self.redis = redis
        self.channel = channel

    async def announce(self, chat_id: int, seq: int) -> None:
        try:
            await self.redis.publish(self.channel, f"{chat_id}:{seq}")
        except Exception as error:  # the page still gets it at its next look
            log.warning("web chat: wake-up not announced (%s)", type(error).__name__)

    async def listen(self, hub: WebChatHub, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await self._listen(hub, stopping)
            except Exception as error:
                log.warning("web chat: wake-ups lost (%s); listening again", type(error).__name__)
                await asyncio.sleep(1.0)

    async def _listen(self, hub: WebChatHub, stopping: asyncio.Event) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            while not stopping.is_set():
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    chat, _, seq = bytes(message["data"]).decode().partition(":")
                    await hub.woken_elsewhere(int(chat), int(seq))
        finally:
            await pubsub.aclose()


def _deleted_text() -> str:
    try:
        return str(_("(deleted)"))
    except LookupError:  # outside a handler: no language to speak
        return "(deleted)"


def _public(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if not k.startswith("_") and v is not None}


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
            "getFile": self._get_file,
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
        # bot.download(file_id): getFile gave the token as the file path, at the URL's end.
        stored = await self.hub.store.file(url.rsplit("/", 1)[-1])
        if stored is None:
            raise wrong_file_identifier()
        for start in range(0, len(stored.content), chunk_size):
            yield stored.content[start : start + chunk_size]

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
            body, status = refusal.body(), refusal.code
        response = self.check_response(bot, method, status, json.dumps(body))
        return response.result  # type: ignore[return-value]

    @staticmethod
    def _chat_id(params: dict[str, Any]) -> int:
        # Web chat ids come from signed cookies via the store, so any id the bot names is a
        # real browser's.
        return int(params["chat_id"])

    @staticmethod
    async def _ok(params: dict[str, Any], files: dict[str, InputFile], bot: Bot) -> bool:
        return True

    @staticmethod
    async def _get_me(params: dict[str, Any], files: dict[str, InputFile], bot: Bot) -> Any:
        return {**BOT_USER, "id": bot.id}

    @staticmethod
    def _message(chat_id: int, bot: Bot, **fields: Any) -> dict[str, Any]:
        # The message id is given by the store.
        return private_message(chat_id, {**BOT_USER, "id": bot.id}, 0, **fields)

    async def _send_message(
        self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot
    ) -> Any:
        chat_id = self._chat_id(params)
        text, parse_mode = str(params.get("text", "")), params.get("parse_mode")
        plain = plain_text(text, parse_mode)
        markup = params.get("reply_markup")
        buttons = inline_buttons(markup)
        message = self._message(
            chat_id, bot, text=plain, reply_markup=markup if buttons is not None else None
        )
        message["_html"] = page_html(text, parse_mode)
        await self.hub.publish(
            chat_id,
            {
                "type": "message",
                "from": "bot",
                "html": message["_html"],
                "buttons": buttons,
                "reply_keyboard": reply_keyboard(markup),
                "remove_keyboard": bool(markup and markup.get("remove_keyboard")),
                "date": message["date"],
            },
            new_message=True,
            message=message,
        )
        return _public(message)

    async def _editable(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any]:
        """A copy of the stored bot message an edit acts on (botapi.editable)."""
        message = await self.hub.store.message(chat_id, int(params.get("message_id", 0)))
        return dict(editable(message))

    async def _edit_message_text(
        self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot
    ) -> Any:
        chat_id = self._chat_id(params)
        message = await self._editable(chat_id, params)
        text, parse_mode = str(params.get("text", "")), params.get("parse_mode")
        plain = plain_text(text, parse_mode)
        markup = params.get("reply_markup")
        buttons = inline_buttons(markup)
        # The page shows the HTML: the same HTML and buttons are "not modified".
        apply_changes(message, {"_html": page_html(text, parse_mode), "reply_markup": markup})
        message["text"] = plain
        await self._publish_edit(chat_id, message, buttons)
        return _public(message)

    async def _edit_reply_markup(
        self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot
    ) -> Any:
        chat_id = self._chat_id(params)
        message = await self._editable(chat_id, params)
        markup = params.get("reply_markup")
        buttons = inline_buttons(markup)
        await self._publish_edit(chat_id, apply_changes(message, {"reply_markup": markup}), buttons)
        return _public(message)

    async def _publish_edit(
        self, chat_id: int, message: dict[str, Any], buttons: list[list[dict[str, str]]] | None
    ) -> None:
        await self.hub.publish(
            chat_id,
            {
                "type": "edit",
                "message_id": message["message_id"],
                "html": message["_html"],
                "buttons": buttons,
            },
            message=message,
        )

    async def _delete_message(
        self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot
    ) -> Any:
        chat_id = self._chat_id(params)
        message_id = int(params.get("message_id", 0))
        if await self.hub.store.message(chat_id, message_id) is not None:
            await self.hub.publish(
                chat_id, {"type": "delete", "message_id": message_id}, forget_message=message_id
            )
            return True
        # The person's own message (as a bot may delete in a private chat): its text is
        # replaced in the stored transcript too, so a reload does not show it again.
        placeholder = html.escape(_deleted_text())
        if not await self.hub.store.redact(chat_id, message_id, placeholder):
            raise message_not_found("delete")
        await self.hub.publish(
            chat_id, {"type": "redact", "message_id": message_id, "html": placeholder}
        )
        return True

    async def _answer_callback(
        self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot
    ) -> Any:
        query_id = str(params.get("callback_query_id", ""))
        # Like Telegram: a tap is answered once; a second answer is refused.
        chat_id = self.hub.query_chats.pop(query_id, None)
        if chat_id is None:
            raise query_is_too_old()
        await self.hub.publish(
            chat_id,
            {
                "type": "callback_answer",
                "text": params.get("text", ""),
                "show_alert": bool(params.get("show_alert")),
            },
        )
        return True

    async def _upload(
        self, reference: str, files: dict[str, InputFile], bot: Bot, kind: str
    ) -> StoredFile:
        upload = files.get(reference.removeprefix("attach://"))
        if upload is not None:
            content = b"".join([chunk async for chunk in upload.read(bot)])
            return StoredFile(0, upload.filename or f"{kind}.bin", content, _content_type(content))
        # A file id this channel gave out before (a person's photo, a file the bot sent), as
        # Telegram lets a bot send a file again by its id.
        known = await self.hub.store.file(reference)
        if known is None:
            raise wrong_file_identifier()
        return known

    async def _send_file(
        self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot
    ) -> Any:
        chat_id = self._chat_id(params)
        kind = "document" if "document" in params else "photo"
        source = await self._upload(str(params[kind]), files, bot, kind)
        token = secrets.token_urlsafe(16)
        filename = source.filename
        await self.hub.store.put_file(
            token, StoredFile(chat_id, filename, source.content, source.content_type)
        )
        caption, parse_mode = str(params.get("caption", "")), params.get("parse_mode")
        markup = params.get("reply_markup")
        message = self._message(
            chat_id,
            bot,
            caption=plain_text(caption, parse_mode, caption=True) or None,
            reply_markup=markup,
            **{kind: {"file_id": token, "file_unique_id": token[:8], "file_name": filename}}
            if kind == "document"
            else {"photo": [photo_size(token, source.content)]},
        )
        message["_html"] = page_html(caption, parse_mode)
        await self.hub.publish(
            chat_id,
            {
                "type": kind,
                "from": "bot",
                "url": f"/chat/api/files/{token}",
                "filename": filename,
                "caption_html": message["_html"],
                "buttons": inline_buttons(markup),
            },
            new_message=True,
            message=message,
        )
        return _public(message)

    async def _get_file(self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot) -> Any:
        token = str(params.get("file_id", ""))
        stored = await self.hub.store.file(token)
        if stored is None:
            raise invalid_file_id()
        return {
            "file_id": token,
            "file_unique_id": token[:8],
            "file_size": len(stored.content),
            "file_path": token,
        }

    async def _set_commands(
        self, params: dict[str, Any], files: dict[str, InputFile], bot: Bot
    ) -> Any:
        commands = [
            {"command": c["command"], "description": c["description"]}
            for c in params.get("commands", [])
        ]
        scope = params.get("scope") or {"type": "default"}
        if scope.get("type") == "chat":
            chat_id = int(scope["chat_id"])
            await self.hub.store.set_commands(chat_id, commands)
            await self.hub.publish(chat_id, {"type": "commands", "commands": commands})
        else:
            self.hub.default_commands[params.get("language_code", "")] = commands
        return True


PHOTO_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


def photo_type(content: bytes) -> str | None:
    """The image type by its first bytes (JPEG, PNG, WebP), not by what the browser claims."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


async def store_photo(store: FileStore, chat_id: int, content: bytes) -> str:
    """A photo a person sent, kept in the file store under a new token (its file id)."""
    kind = photo_type(content) or "image/jpeg"
    token = secrets.token_urlsafe(16)
    filename = "photo" + PHOTO_TYPES.get(kind, ".jpg")
    await store.put_file(token, StoredFile(chat_id, filename, content, kind))
    return token


def _content_type(content: bytes) -> str:
    return photo_type(content) or "application/octet-stream"


def image_size(content: bytes) -> tuple[int, int]:
    try:
        with Image.open(BytesIO(content)) as image:
            return image.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return (0, 0)


def photo_size(token: str, content: bytes) -> dict[str, Any]:
    width, height = image_size(content)
    return {
        "file_id": token,
        "file_unique_id": token[:8],
        "width": width,
        "height": height,
        "file_size": len(content),
    }


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

    def _incoming(self, chat_id: int, message_id: int, language: str) -> dict[str, Any]:
        return private_message(chat_id, self.user(chat_id, language), message_id)

    async def user_text(
        self, chat_id: int, text: str, *, language: str, client_id: str | None = None
    ) -> None:
        chat = self.hub.conversation(chat_id)
        # A retried POST whose first answer was lost must not be handled twice (the store
        # refuses a client id it has seen).
        published = await self.hub.publish(
            chat_id,
            {
                "type": "message",
                "from": "user",
                "html": html.escape(text),
                "client_id": client_id,
                "date": int(time.time()),
            },
            new_message=True,
            client_id=client_id,
        )
        if published is None or published.message_id is None:
            return
        message = {**self._incoming(chat_id, published.message_id, language), "text": text}
        if entities := command_entities(text):
            message["entities"] = entities
        self._dispatch(chat, {"message": message})

    async def user_location(
        self, chat_id: int, latitude: float, longitude: float, *, language: str
    ) -> None:
        chat = self.hub.conversation(chat_id)
        published = await self.hub.publish(
            chat_id,
            {
                "type": "message",
                "from": "user",
                "html": f"📍 {latitude:.5f}, {longitude:.5f}",
                "date": int(time.time()),
            },
            new_message=True,
        )
        assert published is not None and published.message_id is not None
        message = {
            **self._incoming(chat_id, published.message_id, language),
            "location": {"latitude": latitude, "longitude": longitude},
        }
        self._dispatch(chat, {"message": message})

    async def user_photo(
        self,
        chat_id: int,
        content: bytes,
        *,
        language: str,
        caption: str = "",
        client_id: str | None = None,
    ) -> str | None:
        """A photo the person uploaded (checked by the caller): kept like Telegram keeps one,
        so the update carries a `photo` whose file id the bot can fetch or send on later.
        Returns the file id (None for a retried upload already handled)."""
        chat = self.hub.conversation(chat_id)
        token = await store_photo(self.hub.store, chat_id, content)
        published = await self.hub.publish(
            chat_id,
            {
                "type": "photo",
                "from": "user",
                "url": f"/chat/api/files/{token}",
                "caption_html": html.escape(caption),
                "client_id": client_id,
                "date": int(time.time()),
            },
            new_message=True,
            client_id=client_id,
        )
        if published is None or published.message_id is None:
            return None
        message: dict[str, Any] = {
            **self._incoming(chat_id, published.message_id, language),
            "photo": [photo_size(token, content)],
        }
        if caption:
            message["caption"] = caption
        self._dispatch(chat, {"message": message})
        return token

    async def user_callback(
        self, chat_id: int, message_id: int, data: str, *, language: str
    ) -> bool:
        """A button tap. Only data that is really on that stored bot message is accepted."""
        chat = self.hub.conversation(chat_id)
        message = await self.hub.store.message(chat_id, message_id)
        if message is None or not _has_button(message, data):
            return False
        query_id = secrets.token_hex(8)
        self.hub.remember_query(query_id, chat_id)
        query = {
            "id": query_id,
            "from": self.user(chat_id, language),
            "chat_instance": str(chat_id),
            "message": _public(message),
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
    return any(b.get("callback_data") == data for b in inline_keys(message.get("reply_markup")))
