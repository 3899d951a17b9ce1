"""A fake Telegram Bot API server for end-to-end tests.

`FakeTelegram` speaks the Bot API over HTTP on localhost, so the real bot (aiogram) can be pointed
at it with `TelegramAPIServer.from_base(fake.base_url)`. Tests drive the "user" side through
`user_*` methods, inspect what the bot did (`calls`, `bot_messages`, `wait_for_*`), and inject the
refusals real Telegram produces (`fail_next`, `block_user`, `rate_limit`).

Fidelity notes: error descriptions, HTTP statuses and the error body follow the real Bot API. The
rules the other channels share (formatted text, keyboards, edits, the refusals' words) come from
bot/channels/botapi.py: its HTML / MarkdownV2 / Markdown parsers are ports of TDLib's
(td/telegram/MessageEntity.cpp), so "can't parse entities" errors and the returned plain text +
UTF-16 entity offsets match Telegram. What only Telegram has (groups, webhooks, getUpdates, rate
limits, blocked users) stays here.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import json
import math
import mimetypes
import re
import secrets
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot.channels.botapi import (
    JSON,
    ApiRefusal,
    apply_changes,
    bad_request,
    chat_not_found,
    checked_markup,
    editable,
    find_entities,
    formatted,
    inline_keys,
    message_not_found,
    query_is_too_old,
    wrong_file_identifier,
)


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


MAX_UPLOAD = 50 * 1024 * 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
# All update types except chat_member, message_reaction and message_reaction_count.
DEFAULT_UPDATES = _names(
    "message edited_message channel_post edited_channel_post business_connection "
    "business_message edited_business_message deleted_business_messages inline_query "
    "chosen_inline_result callback_query shipping_query pre_checkout_query "
    "purchased_paid_media poll poll_answer my_chat_member chat_join_request chat_boost "
    "removed_chat_boost"
)
SENDING_METHODS = _names("sendMessage sendPhoto sendDocument sendLocation copyMessage")
CHAT_ACTIONS = _names(
    "typing upload_photo record_video upload_video record_voice upload_voice "
    "upload_document choose_sticker find_location record_video_note upload_video_note"
)
# How form values are typed (the Bot API types each parameter; everything else stays a string).
JSON_FIELDS = _names(
    "reply_markup entities caption_entities commands scope allowed_updates menu_button "
    "link_preview_options reply_parameters media results message_ids rights reaction "
    "options explanation_entities"
)
INT_FIELDS = _names(
    "chat_id from_chat_id message_id reply_to_message_id message_thread_id offset limit "
    "timeout cache_time live_period max_connections user_id heading proximity_alert_radius"
)
FLOAT_FIELDS = frozenset({"latitude", "longitude", "horizontal_accuracy"})
BOOL_FIELDS = _names(
    "disable_notification protect_content show_alert drop_pending_updates "
    "disable_web_page_preview allow_sending_without_reply disable_content_type_detection "
    "has_spoiler show_caption_above_media allow_paid_broadcast"
)
JSON_ERRORS = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "entities": "can't parse entities JSON object",
    "caption_entities": "can't parse entities JSON object",
}


# --------------------------------------------------------------------------- state


@dataclass
class Upload:
    """A file part of a multipart request, as the bot uploaded it."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class StoredFile:
    """A file the fake Telegram keeps (bot uploads and user sends); downloadable via getFile."""

    file_id: str
    file_unique_id: str
    kind: str  # "photo" | "document"
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None


class Call(NamedTuple):
    method: str
    params: JSON


class Failure(NamedTuple):
    method: str
    params: JSON
    error_code: int
    description: str


class Described(NamedTuple):
    result: Any
    description: str


@dataclass
class Fault:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    chat_id: int | None
    times: int


@dataclass
class Chat:
    """A private chat between the bot and one user."""

    user: JSON
    started: bool = True
    blocked: bool = False
    messages: dict[int, JSON] = field(default_factory=dict)  # live messages, both sides
    deleted: dict[int, JSON] = field(default_factory=dict)
    history: list[tuple[int, str, JSON]] = field(default_factory=list)  # (seq, kind, snapshot)
    reply_keyboard: JSON | None = None
    menu_button: JSON | None = None
    last_message_id: int = 0
    mark: int = 0  # seq of the latest user action

    @property
    def id(self) -> int:
        return int(self.user["id"])

    def info(self) -> JSON:
        info: JSON = {"id": self.id, "first_name": self.user["first_name"]}
        for key in ("last_name", "username"):
            if self.user.get(key):
                info[key] = self.user[key]
        return info | {"type": "private"}

    def next_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id


GROUP_KINDS = frozenset({"group", "supergroup"})
GROUP_ADMIN_RIGHTS = _names(
    "can_manage_chat can_delete_messages can_manage_video_chats can_restrict_members "
    "can_change_info can_invite_users can_post_stories can_edit_stories can_delete_stories "
    "can_pin_messages"
)


@dataclass
class GroupChat(Chat):
    """A group or supergroup with its members (user id -> status) and the bot's own status.
    `user` holds the chat's id and title, so the private chats' plumbing serves it too."""

    title: str = "Group"
    kind: str = "group"
    members: dict[int, str] = field(default_factory=dict)
    users: dict[int, JSON] = field(default_factory=dict)
    bot_status: str = "left"
    migrated_to: int | None = None

    def info(self) -> JSON:
        info: JSON = {"id": self.id, "title": self.title, "type": self.kind}
        if self.kind == "group":
            info["all_members_are_administrators"] = False
        return info

    def check_writable(self) -> None:
        """Telegram's refusals for a group the bot cannot post in."""
        if self.migrated_to is not None:
            raise ApiRefusal(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self.migrated_to,
            )
        if self.bot_status == "kicked":
            raise ApiRefusal(403, f"Forbidden: bot was kicked from the {self.kind} chat")
        if self.bot_status == "left":
            raise ApiRefusal(403, f"Forbidden: bot is not a member of the {self.kind} chat")


# Who an admin writing "as the group" appears as (Telegram's GroupAnonymousBot).
ANONYMOUS_ADMIN: JSON = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}


def _text_of(message: JSON) -> str:
    return str(message.get("text") or message.get("caption") or "")


def _now() -> int:
    return int(time.time())


# --------------------------------------------------------------------------- request parsing


async def _read_multipart(reader: aiohttp.MultipartReader) -> JSON:
    fields: JSON = {}
    uploads: dict[str, Upload] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, aiohttp.BodyPartReader):
            continue
        name = part.name or ""
        if part.filename is not None:
            ctype = part.headers.get(aiohttp.hdrs.CONTENT_TYPE, "application/octet-stream")
            uploads[name] = Upload(part.filename, ctype, bytes(await part.read()))
        else:
            fields[name] = await part.text()
    attached = set()
    for key, value in fields.items():
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in uploads:
            attached.add(value[9:])
            fields[key] = uploads[value[9:]]
    for key, upload in uploads.items():
        if key not in attached:
            fields.setdefault(key, upload)
    return fields


async def _read_request(request: web.Request) -> JSON:
    raw: JSON = dict(request.query)
    if not request.can_read_body:
        return raw
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON encoded request") from None
        if not isinstance(body, dict):
            raise bad_request("JSON object expected")
        raw.update(body)
    elif request.content_type == "multipart/form-data":
        raw.update(await _read_multipart(await request.multipart()))
    else:
        raw.update(await request.post())
    return raw


def coerce_params(raw: JSON) -> JSON:
    """Type form values the way the Bot API reads each parameter."""
    params: JSON = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key in JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError:
                    raise bad_request(
                        JSON_ERRORS.get(key, f"can't parse {key} JSON object")
                    ) from None
            elif key in INT_FIELDS:
                with contextlib.suppress(ValueError):
                    value = int(value)
            elif key in FLOAT_FIELDS:
                try:
                    value = float(value)
                except ValueError:
                    raise bad_request(f"wrong parameter {key} specified") from None
            elif key in BOOL_FIELDS:
                value = value.lower() in ("true", "1")
        params[key] = value
    return params


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) for images Telegram accepts as photos, None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith((b"\xff\xd8", b"GIF87a", b"GIF89a", b"BM")):
        return 512, 512
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 512, 512
    return None


# --------------------------------------------------------------------------- the server


class FakeTelegram:
    """In-process fake of api.telegram.org for one bot; see the module docstring."""

    API_METHODS = _names(
        "getMe logOut close getUpdates setWebhook deleteWebhook getWebhookInfo sendMessage "
        "sendPhoto sendDocument sendLocation sendChatAction copyMessage editMessageText "
        "editMessageCaption editMessageReplyMarkup deleteMessage deleteMessages "
        "answerCallbackQuery getFile getChat getChatAdministrators setMyCommands "
        "getMyCommands deleteMyCommands "
        "setChatMenuButton getChatMenuButton setMyDescription getMyDescription "
        "setMyShortDescription getMyShortDescription setMyName getMyName"
    )

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "wushe_test_bot",
        bot_name: str = "Wushe Test Bot",
        callback_query_ttl: float = 15.0,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.callback_query_ttl = callback_query_ttl
        self.calls: list[Call] = []
        self.errors: list[Failure] = []
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.callback_answers: dict[str, JSON] = {}
        self.webhook: JSON = {"url": "", "secret_token": None, "max_connections": 40}
        self.webhook_retry_delay = 0.5
        self.webhook_timeout = 10.0
        self.bot_info: dict[tuple[str, str], str] = {}  # (field, language_code) -> value
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._default_menu_button: JSON = {"type": "default"}
        self._updates: list[JSON] = []
        self._next_update_id = 100_000_001
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATES
        self._poll_generation = 0
        self._callbacks: dict[str, JSON] = {}
        self._next_callback = 4_200_000_000_000_000_001
        self._faults: list[Fault] = []
        self._limits: tuple[int | None, int | None] | None = None
        self._sent_at: deque[float] = deque()
        self._sent_at_chat: dict[Any, deque[float]] = {}
        # Telegram's limit in a group: about 20 messages a minute (always on, as there).
        self.group_per_minute: int | None = 20
        self._sent_at_group: dict[int, deque[float]] = {}
        # Privacy mode (the default for bots): in groups only commands and replies to the bot
        # reach it; `getMe` says so with can_read_all_group_messages = False.
        self.privacy_mode = True
        self._seq = 0
        self._call_mark = 0
        self._event = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._port = 0
        self._host = "127.0.0.1"
        self._methods: dict[str, tuple[str, Callable[[JSON], Any]]] = {
            name.lower(): (name, getattr(self, f"_{name}")) for name in self.API_METHODS
        }

    # ---------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port (0 = a free port); see `base_url`."""
        self._closing = False
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._http_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._http_file)
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self._host, self._port = host, self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Wake long polls, stop webhook delivery and close the server."""
        self._closing = True
        self._touch()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    # ---------------------------------------------------------------- user side (test control)

    def add_user(
        self,
        user_id: int,
        first_name: str | None = None,
        language_code: str | None = None,
        username: str | None = None,
        *,
        started: bool = True,
    ) -> JSON:
        """Register a user (and their private chat); `started=False`: never pressed Start."""
        chat = self.chats.get(user_id)
        if chat is None:
            user = {"id": user_id, "is_bot": False, "first_name": first_name or "Test"}
            user["language_code"] = language_code or "en"
            chat = self.chats[user_id] = Chat(user=user, started=started)
        for key, value in (("first_name", first_name), ("language_code", language_code)):
            if value is not None:
                chat.user[key] = value
        if username is not None:
            chat.user["username"] = username
        return copy.deepcopy(chat.user)

    def user_sends(
        self,
        user_id: int,
        text: str,
        first_name: str | None = None,
        language_code: str | None = None,
        username: str | None = None,
        *,
        reply_to: int | None = None,
    ) -> JSON:
        """Queue a text message from the user; user fields default to earlier values/Test/en."""
        self.add_user(user_id, first_name, language_code, username)
        content: JSON = {"text": text}
        if entities := find_entities(text):
            content["entities"] = entities
        if reply_to is not None:
            content["reply_to_message"] = self._reply_copy(self.chats[user_id], reply_to)
        return self._user_message(user_id, content)

    def user_shares_location(
        self, user_id: int, latitude: float, longitude: float, live_period: int | None = None
    ) -> JSON:
        location: JSON = {"latitude": latitude, "longitude": longitude}
        if live_period is not None:
            location["live_period"] = live_period
        self.add_user(user_id)
        return self._user_message(user_id, {"location": location})

    def user_shares_contact(
        self, user_id: int, phone_number: str, first_name: str | None = None
    ) -> JSON:
        """Queue the user's own contact (as sent by a request_contact button)."""
        user = self.add_user(user_id)
        contact = {
            "phone_number": phone_number,
            "first_name": first_name or user["first_name"],
            "user_id": user_id,
        }
        return self._user_message(user_id, {"contact": contact})

    def user_sends_photo(self, user_id: int, data: bytes, caption: str | None = None) -> JSON:
        if _image_size(data) is None:
            raise AssertionError("Telegram clients only send real images (PNG/JPEG/GIF/WEBP/BMP)")
        self.add_user(user_id)
        stored = self._store_file("photo", data, None, None)
        content: JSON = {"photo": [self._photo_size(stored)]}
        if caption:
            content["caption"] = caption
        return self._user_message(user_id, content)

    def user_sends_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> JSON:
        self.add_user(user_id)
        mime_type = mime_type or mimetypes.guess_type(file_name)[0]
        stored = self._store_file("document", data, file_name, mime_type)
        content: JSON = {"document": self._document(stored)}
        if caption:
            content["caption"] = caption
        return self._user_message(user_id, content)

    def user_presses(
        self,
        user_id: int,
        text: str,
        *,
        phone_number: str = "+10000000000",
        latitude: float = 0.0,
        longitude: float = 0.0,
    ) -> JSON:
        """Press a button of the current reply keyboard (contact/location buttons share those)."""
        chat = self._known_chat(user_id)
        keyboard = chat.reply_keyboard or {}
        buttons = [
            b if isinstance(b, dict) else {"text": b}
            for row in keyboard.get("keyboard", [])
            for b in row
        ]
        button = next((b for b in buttons if b.get("text") == text), None)
        if button is None:
            shown = [b.get("text") for b in buttons]
            raise AssertionError(f"chat {user_id} has no reply keyboard button {text!r}: {shown}")
        if button.get("request_contact"):
            return self.user_shares_contact(user_id, phone_number)
        if button.get("request_location"):
            return self.user_shares_location(user_id, latitude, longitude)
        return self.user_sends(user_id, text)

    def user_clicks(
        self,
        user_id: int,
        message_id: int,
        button_text_or_data: str,
        *,
        chat_id: int | None = None,
    ) -> str:
        """Click an inline callback button (matched by text, then data); returns the query id.
        `chat_id`: the group the message is in (default: the user's private chat)."""
        chat = self._known_chat(user_id if chat_id is None else chat_id)
        if isinstance(chat, GroupChat) and user_id not in chat.users:
            raise AssertionError(f"user {user_id} is not in group {chat.id}")
        message = chat.messages.get(message_id)
        if message is None or not message["from"]["is_bot"]:
            raise AssertionError(f"chat {user_id} has no bot message {message_id} to click")
        button = self._callback_button(message, button_text_or_data, user_id)
        query_id = str(self._next_callback)
        self._next_callback += 1
        self._callbacks[query_id] = {"at": time.monotonic(), "answered": False}
        self._user_action(chat)
        clicker = chat.users[user_id] if isinstance(chat, GroupChat) else chat.user
        query = {
            "id": query_id,
            "from": copy.deepcopy(clicker),
            "message": copy.deepcopy(message),
            "chat_instance": str(-(7_000_000_000_000_000_000 + abs(chat.id))),
            "data": button["callback_data"],
        }
        self._queue({"callback_query": query})
        return query_id

    @staticmethod
    def _callback_button(message: JSON, text_or_data: str, user_id: int) -> JSON:
        """The message's callback button with that text (or else that data)."""
        buttons = list(inline_keys(message.get("reply_markup")))
        button = next((b for b in buttons if b.get("text") == text_or_data), None)
        button = button or next(
            (b for b in buttons if b.get("callback_data") == text_or_data), None
        )
        if button is None:
            shown = [(b.get("text"), b.get("callback_data")) for b in buttons]
            raise AssertionError(
                f"message {message['message_id']} in chat {user_id} has no inline button "
                f"{text_or_data!r}; its buttons (text, callback_data): {shown}"
            )
        if "callback_data" not in button:
            raise AssertionError(f"button {button['text']!r} is not a callback button: {button}")
        return button

    def block_user(self, chat_id: int) -> None:
        """The user blocks the bot: sends answer 403 and a my_chat_member update is queued."""
        chat = self._known_chat(chat_id)
        if not chat.blocked:
            chat.blocked = True
            self._queue_member_update(chat, "member", "kicked")

    def unblock_user(self, chat_id: int) -> None:
        chat = self._known_chat(chat_id)
        if chat.blocked:
            chat.blocked = False
            self._queue_member_update(chat, "kicked", "member")

    # ---------------------------------------------------------------- groups (test control)

    def add_group(
        self,
        chat_id: int,
        title: str = "Group",
        *,
        kind: str = "group",
        creator: int | None = None,
        admins: Sequence[int] = (),
        members: Sequence[int] = (),
    ) -> JSON:
        """A group (negative id; supergroups' ids start with -100) and its people."""
        if chat_id >= 0 or kind not in GROUP_KINDS:
            raise AssertionError("a group has a negative id and kind group or supergroup")
        group = GroupChat(user={"id": chat_id, "first_name": title}, title=title, kind=kind)
        self.chats[chat_id] = group
        for user_id, status in (
            *((m, "member") for m in members),
            *((a, "administrator") for a in admins),
            *(((creator, "creator"),) if creator is not None else ()),
        ):
            self._join(group, user_id, status)
        return group.info()

    def _join(self, group: GroupChat, user_id: int, status: str) -> JSON:
        user = self.chats[user_id].user if user_id in self.chats else None
        if user is None:
            user = group.users.get(user_id) or {
                "id": user_id,
                "is_bot": False,
                "first_name": f"U{user_id}",
                "language_code": "zh",
            }
        group.users[user_id] = copy.deepcopy(user)
        group.members[user_id] = status
        return group.users[user_id]

    def _group(self, chat_id: int) -> GroupChat:
        group = self.chats.get(chat_id)
        if not isinstance(group, GroupChat):
            raise AssertionError(f"{chat_id} is not a group (use add_group)")
        return group

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """Change someone's status in a group: member, administrator, creator, left, kicked."""
        self._join(self._group(chat_id), user_id, status)

    def add_bot_to_group(self, chat_id: int, by_user: int, *, admin: bool = False) -> JSON:
        """A member adds the bot: Telegram sends it a my_chat_member update from that member."""
        group = self._group(chat_id)
        old, group.bot_status = group.bot_status, "administrator" if admin else "member"
        return self._queue_group_member_update(group, by_user, old, group.bot_status)

    def remove_bot_from_group(self, chat_id: int, by_user: int) -> JSON:
        """An admin removes the bot: "left" in a basic group, "kicked" in a supergroup."""
        group = self._group(chat_id)
        new = "kicked" if group.kind == "supergroup" else "left"
        old, group.bot_status = group.bot_status, new
        return self._queue_group_member_update(group, by_user, old, new)

    def upgrade_to_supergroup(self, chat_id: int, new_chat_id: int) -> JSON | None:
        """A basic group becomes a supergroup with a new id; the old id answers 400 with
        migrate_to_chat_id, and a service message in the old group tells the bot."""
        group = self._group(chat_id)
        new = GroupChat(
            user={"id": new_chat_id, "first_name": group.title},
            title=group.title,
            kind="supergroup",
            members=dict(group.members),
            users=copy.deepcopy(group.users),
            bot_status=group.bot_status,
        )
        self.chats[new_chat_id] = new
        group.migrated_to = new_chat_id
        creator = next((u for u, st in group.members.items() if st == "creator"), None)
        content = {"migrate_to_chat_id": new_chat_id}
        return self._group_message(group, creator or next(iter(group.members)), content)

    def user_sends_in_group(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        anonymous: bool = False,
        reply_to: int | None = None,
    ) -> JSON | None:
        """A member writes in the group; None when privacy mode keeps it from the bot (it is
        neither a command nor a reply to the bot). `anonymous`: an admin writing as the group
        (the sender is GroupAnonymousBot, `sender_chat` the group)."""
        group = self._group(chat_id)
        if group.members.get(user_id) in (None, "left", "kicked"):
            raise AssertionError(f"user {user_id} is not a member of group {chat_id}")
        content: JSON = {"text": text}
        if entities := find_entities(text):
            content["entities"] = entities
        replied = None
        if reply_to is not None:
            content["reply_to_message"] = replied = self._reply_copy(group, reply_to)
        if anonymous:
            content["sender_chat"] = group.info()
        to_bot = text.startswith("/") or (replied is not None and replied["from"]["is_bot"])
        return self._group_message(
            group, user_id, content, deliver=to_bot or not self.privacy_mode, anonymous=anonymous
        )

    def _group_message(
        self,
        group: GroupChat,
        user_id: int,
        content: JSON,
        *,
        deliver: bool = True,
        anonymous: bool = False,
    ) -> JSON | None:
        sender = ANONYMOUS_ADMIN if anonymous else copy.deepcopy(group.users[user_id])
        message = {
            "message_id": group.next_id(),
            "from": sender,
            "chat": group.info(),
            "date": _now(),
            **content,
        }
        group.messages[message["message_id"]] = message
        self._user_action(group)
        if group.bot_status in ("left", "kicked") or not deliver:
            return None
        return self._queue({"message": copy.deepcopy(message)})

    def _queue_group_member_update(
        self, group: GroupChat, by_user: int, old: str, new: str
    ) -> JSON:
        def member(status: str) -> JSON:
            extra: JSON
            if status == "administrator":
                rights: JSON = dict.fromkeys(GROUP_ADMIN_RIGHTS, True)
                extra = rights | {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_promote_members": False,
                    "can_send_welcome_messages": False,
                }
            else:
                extra = {"until_date": 0} if status == "kicked" else {}
            return {"status": status, "user": dict(self.bot_user), **extra}

        update = {
            "chat": group.info(),
            "from": copy.deepcopy(group.users.get(by_user) or self._join(group, by_user, "member")),
            "date": _now(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return self._queue({"my_chat_member": update})

    # ---------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        error_code: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) with this error."""
        if error_code == 429 and retry_after is None:
            retry_after = 5
        if description is None:
            description = {
                400: "Bad Request",
                401: "Unauthorized",
                403: "Forbidden",
                404: "Not Found",
                409: "Conflict",
                429: f"Too Many Requests: retry after {retry_after}",
                502: "Bad Gateway",
            }.get(error_code, "Internal Server Error")
        self._faults.append(Fault(method, error_code, description, retry_after, chat_id, times))

    def rate_limit(
        self, global_per_second: int | None = 30, per_chat_per_second: int | None = 1
    ) -> None:
        """Enforce flood limits on sends (429 + retry_after); pass None, None to switch off."""
        off = global_per_second is None and per_chat_per_second is None
        self._limits = None if off else (global_per_second, per_chat_per_second)
        self._sent_at.clear()
        self._sent_at_chat.clear()

    # ---------------------------------------------------------------- inspection

    def messages(self, chat_id: int) -> list[JSON]:
        """Live messages of a chat (both sides), oldest first."""
        chat = self.chats.get(chat_id)
        return [copy.deepcopy(m) for _, m in sorted(chat.messages.items())] if chat else []

    def bot_messages(self, chat_id: int) -> list[JSON]:
        return [m for m in self.messages(chat_id) if m["from"]["is_bot"]]

    def last_bot_message(self, chat_id: int) -> JSON | None:
        sent = self.bot_messages(chat_id)
        return sent[-1] if sent else None

    def reply_keyboard(self, chat_id: int) -> JSON | None:
        """The reply keyboard the user currently sees (ReplyKeyboardMarkup dict) or None."""
        chat = self.chats.get(chat_id)
        return copy.deepcopy(chat.reply_keyboard) if chat else None

    def calls_of(self, method: str) -> list[JSON]:
        return [c.params for c in self.calls if c.method.lower() == method.lower()]

    def my_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON] | None:
        return copy.deepcopy(self._commands.get((self._scope_key(scope), language_code)))

    def file_bytes(self, file_id: str) -> bytes:
        return self.files[file_id].data

    @property
    def pending_updates(self) -> list[JSON]:
        return copy.deepcopy(self._updates)

    async def wait_for_bot_message(
        self,
        chat_id: int,
        contains: str | None = None,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 10.0,
        after: int | None = None,
    ) -> JSON:
        """First bot message version (send or edit) in the chat matching `contains`/`predicate`.

        With `after=None` only messages sent or edited since the user's latest action in this chat
        count (a reply to what the user just did, even if it arrived before this call); with
        `after=<message_id>` any version of a message with a greater id counts. Returns a snapshot
        of the message as it was at that send/edit.
        """
        chat = self._known_chat(chat_id)
        since = chat.mark

        def matches(message: JSON) -> bool:
            if contains is not None and contains not in _text_of(message):
                return False
            return predicate is None or bool(predicate(message))

        def check() -> JSON | None:
            for seq, kind, snapshot in chat.history:
                fresh = snapshot["message_id"] > after if after is not None else seq > since
                if kind != "deleted" and fresh and matches(snapshot):
                    return copy.deepcopy(snapshot)
            return None

        try:
            return await self._wait(check, timeout)
        except TimeoutError:
            wanted = f"contains={contains!r}{' and the predicate' if predicate else ''}"
            raise self._no_bot_message(chat_id, wanted, timeout) from None

    def _no_bot_message(self, chat_id: int, wanted: str, timeout: float) -> AssertionError:
        """What the chat got instead: its bot messages and the Bot API calls that failed."""
        got = [
            f"  #{m['message_id']}{' (edited)' if 'edit_date' in m else ''}: {_text_of(m)!r}"
            for m in self.bot_messages(chat_id)
        ]
        failed = [
            f"  {f.method} -> {f.error_code} {f.description}"
            for f in self.errors
            if f.params.get("chat_id") in (None, chat_id)
        ]
        return AssertionError(
            f"no bot message in chat {chat_id} matching {wanted} within {timeout}s.\n"
            f"Bot messages in the chat:\n{chr(10).join(got) or '  (none)'}\n"
            f"Failed Bot API calls:\n{chr(10).join(failed) or '  (none)'}"
        )

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 10.0,
        since: int | None = None,
    ) -> JSON:
        """Params of the first `method` call (failed ones too) matching `predicate`.

        Looks at calls made since the latest user action (any chat), or from index `since` of
        `calls`; calls made before this wait started do count.
        """
        start = self._call_mark if since is None else since

        def check() -> JSON | None:
            for call in self.calls[start:]:
                if call.method.lower() == method.lower() and (
                    predicate is None or predicate(call.params)
                ):
                    return call.params
            return None

        try:
            return await self._wait(check, timeout)
        except TimeoutError:
            seen = [c.method for c in self.calls[start:]]
            raise AssertionError(
                f"no {method} call{' matching the predicate' if predicate else ''} within "
                f"{timeout}s; calls since then: {seen}"
            ) from None

    async def wait_until(self, condition: Callable[[], Any], timeout: float = 10.0) -> None:
        """Wait until `condition()` is truthy, re-checking on every change of the fake's state."""
        try:
            await self._wait(lambda: True if condition() else None, timeout)
        except TimeoutError:
            raise AssertionError(f"condition still false after {timeout}s") from None

    # ---------------------------------------------------------------- internals: plumbing

    def _touch(self) -> None:
        """Wake everything waiting for a state change."""
        self._event.set()
        self._event = asyncio.Event()

    async def _wait(self, check: Callable[[], Any], timeout: float) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            event = self._event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def _http_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiRefusal(401, "Unauthorized").body(), status=401)
        try:
            raw = await _read_request(request)
        except ApiRefusal as error:
            return web.json_response(error.body(), status=error.code)
        status, body = await self._dispatch(request.match_info["method"], raw)
        return web.json_response(body, status=status)

    async def _http_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        stored = next((f for f in self.files.values() if f.file_path == path), None)
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(ApiRefusal(404, "Not Found").body(), status=404)
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _dispatch(self, name: str, raw: JSON) -> tuple[int, JSON]:
        entry = self._methods.get(name.lower())
        method = entry[0] if entry else name
        try:
            params = coerce_params(raw)
        except ApiRefusal as error:
            self.calls.append(Call(method, raw))
            return self._failed(method, raw, error)
        self.calls.append(Call(method, params))
        self._touch()
        try:
            if entry is None:
                raise ApiRefusal(404, "Not Found: method not found")
            self._inject_fault(method, params)
            self._check_rate(method, params)
            result = entry[1](params)
            if inspect.isawaitable(result):
                result = await result
        except ApiRefusal as error:
            return self._failed(method, params, error)
        except Exception as exc:  # a bug in the fake: report it loudly, like a 500
            description = f"Internal Server Error (fake_telegram bug: {exc!r})"
            self.errors.append(Failure(method, params, 500, description))
            traceback.print_exc()
            return 500, ApiRefusal(500, "Internal Server Error").body()
        if isinstance(result, Described):
            return 200, {"ok": True, "result": result.result, "description": result.description}
        return 200, {"ok": True, "result": result}

    def _failed(self, method: str, params: JSON, error: ApiRefusal) -> tuple[int, JSON]:
        self.errors.append(Failure(method, params, error.code, error.description))
        self._touch()
        return error.code, error.body()

    def _inject_fault(self, method: str, params: JSON) -> None:
        for fault in self._faults:
            if fault.method.lower() != method.lower():
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            raise ApiRefusal(fault.error_code, fault.description, retry_after=fault.retry_after)

    def _check_rate(self, method: str, params: JSON) -> None:
        if method not in SENDING_METHODS:
            return
        self._check_group_rate(params)
        if self._limits is None:
            return
        now = time.monotonic()
        global_limit, chat_limit = self._limits
        chat_window = self._sent_at_chat.setdefault(params.get("chat_id"), deque())
        windows = [(self._sent_at, global_limit), (chat_window, chat_limit)]
        for window, limit in windows:
            while window and now - window[0] >= 1.0:
                window.popleft()
            if limit is not None and len(window) >= limit:
                retry = max(1, math.ceil(1.0 - (now - window[0])))
                raise ApiRefusal(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        for window, _ in windows:
            window.append(now)

    def _check_group_rate(self, params: JSON) -> None:
        """20 messages a minute into one group; the 21st gets 429 with the wait."""
        chat_id = params.get("chat_id")
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if not isinstance(chat, GroupChat) or self.group_per_minute is None:
            return
        if chat.bot_status in ("left", "kicked") or chat.migrated_to is not None:
            return  # refused for that first (403 / 400), not counted
        now = time.monotonic()
        window = self._sent_at_group.setdefault(chat.id, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= self.group_per_minute:
            retry = max(1, math.ceil(60.0 - (now - window[0])))
            raise ApiRefusal(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        window.append(now)

    def _queue(self, body: JSON) -> JSON:
        update = {"update_id": self._next_update_id, **body}
        self._next_update_id += 1
        if next(iter(body)) in self._allowed_updates:
            self._updates.append(update)
            self._touch()
        return copy.deepcopy(update)

    def _user_action(self, chat: Chat) -> None:
        self._seq += 1
        chat.mark = self._seq
        self._call_mark = len(self.calls)

    def _user_message(self, user_id: int, content: JSON) -> JSON:
        chat = self.chats[user_id]
        if chat.blocked:  # writing to a blocked bot means pressing "Restart" first
            self.unblock_user(user_id)
        chat.started = True
        message = {
            "message_id": chat.next_id(),
            "from": copy.deepcopy(chat.user),
            "chat": chat.info(),
            "date": _now(),
            **content,
        }
        chat.messages[message["message_id"]] = message
        self._user_action(chat)
        return self._queue({"message": copy.deepcopy(message)})

    def _queue_member_update(self, chat: Chat, old: str, new: str) -> None:
        def member(status: str) -> JSON:
            extra = {"until_date": 0} if status == "kicked" else {}
            return {"status": status, "user": dict(self.bot_user), **extra}

        update = {
            "chat": chat.info(),
            "from": copy.deepcopy(chat.user),
            "date": _now(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        self._queue({"my_chat_member": update})

    def _known_chat(self, chat_id: int) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise AssertionError(
                f"user {chat_id} never talked to the bot (use add_user/user_sends)"
            )
        return chat

    def _record(self, chat: Chat, kind: str, message: JSON) -> None:
        self._seq += 1
        chat.history.append((self._seq, kind, copy.deepcopy(message)))
        self._touch()

    @staticmethod
    def _scope_key(scope: JSON | None) -> str:
        return json.dumps(scope or {"type": "default"}, sort_keys=True)

    # ---------------------------------------------------------------- internals: validation

    def _chat(self, params: JSON, *, writing: bool = True) -> Chat:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise chat_not_found()
        if isinstance(chat, GroupChat):
            if writing:
                chat.check_writable()
            return chat
        if writing and not chat.started:
            raise ApiRefusal(403, "Forbidden: bot can't initiate conversation with a user")
        if writing and chat.blocked:
            raise ApiRefusal(403, "Forbidden: bot was blocked by the user")
        return chat

    def _formatted(self, params: JSON, *, caption: bool = False) -> JSON:
        """A text or caption (botapi.formatted), its text mentions naming the users the fake
        knows."""
        key, entities_key = ("caption", "caption_entities") if caption else ("text", "entities")
        text, entities = formatted(
            params.get(key), params.get("parse_mode"), params.get(entities_key), caption=caption
        )
        if not text:
            return {}
        for entity in entities:
            if entity["type"] == "text_mention" and entity["user"]["id"] in self.chats:
                entity["user"] = copy.deepcopy(self.chats[entity["user"]["id"]].user)
        return {key: text, entities_key: entities} if entities else {key: text}

    @staticmethod
    def _reply_copy(chat: Chat, message_id: int) -> JSON:
        target = chat.messages.get(message_id)
        if target is None:
            raise AssertionError(f"chat {chat.id} has no message {message_id} to reply to")
        return {k: copy.deepcopy(v) for k, v in target.items() if k != "reply_to_message"}

    def _send(self, chat: Chat, params: JSON, content: JSON) -> JSON:
        inline, keyboard_change = checked_markup(params.get("reply_markup"))
        reply = params.get("reply_parameters") or {}
        reply_id = reply.get("message_id", params.get("reply_to_message_id"))
        reply_to = None
        if reply_id is not None:
            if reply_id in chat.messages:
                reply_to = self._reply_copy(chat, reply_id)
            elif not reply.get("allow_sending_without_reply"):
                raise bad_request("message to be replied not found")
        message: JSON = {
            "message_id": chat.next_id(),
            "from": dict(self.bot_user),
            "chat": chat.info(),
            "date": _now(),
            **content,
        }
        if reply_to:
            message["reply_to_message"] = reply_to
        if inline:
            message["reply_markup"] = inline
        if params.get("protect_content"):
            message["has_protected_content"] = True
        if keyboard_change is not None:
            chat.reply_keyboard = copy.deepcopy(keyboard_change) or None
        chat.messages[message["message_id"]] = message
        self._record(chat, "sent", message)
        return copy.deepcopy(message)

    def _input_file(self, params: JSON, key: str) -> StoredFile:
        value = params.get(key)
        if isinstance(value, Upload):
            if not value.data:
                raise bad_request("file must be non-empty")
            if len(value.data) > MAX_UPLOAD:
                raise ApiRefusal(413, "Request Entity Too Large")
            mime = value.content_type
            if mime == "application/octet-stream":
                mime = mimetypes.guess_type(value.filename)[0] or mime
            return self._store_file(key, value.data, value.filename, mime)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            name = value.rsplit("/", 1)[-1] or None
            return self._store_file(key, b"", name, mimetypes.guess_type(value)[0])
        stored = self.files.get(value) if isinstance(value, str) else None
        if stored is None:
            raise wrong_file_identifier()
        if stored.kind != key:
            raise bad_request("type of file mismatch")
        return stored

    def _store_file(self, kind: str, data: bytes, name: str | None, mime: str | None) -> StoredFile:
        if kind == "photo" and data and _image_size(data) is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        number = len(self.files) + 1
        if kind == "photo":
            path = f"photos/file_{number}.jpg"
        else:
            path = f"documents/file_{number}{PurePosixPath(name or '').suffix}"
        stored = StoredFile(
            file_id=("AgACAgIAAxkBAA" if kind == "photo" else "BQACAgIAAxkBAA")
            + secrets.token_urlsafe(24),
            file_unique_id="AQAD" + secrets.token_urlsafe(9),
            kind=kind,
            data=data,
            file_path=path,
            file_name=name,
            mime_type=mime,
        )
        self.files[stored.file_id] = stored
        return stored

    @staticmethod
    def _photo_size(stored: StoredFile) -> JSON:
        width, height = _image_size(stored.data) or (512, 512)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "width": width,
            "height": height,
        }

    @staticmethod
    def _document(stored: StoredFile) -> JSON:
        document: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document | {"file_size": len(stored.data)}

    def _editable(self, params: JSON) -> tuple[Chat, JSON]:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._chat(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        return chat, editable(chat.messages.get(message_id))

    def _apply_edit(self, chat: Chat, message: JSON, changes: JSON, *, content: bool) -> JSON:
        apply_changes(message, changes)
        if content:
            message["edit_date"] = _now()
        self._record(chat, "edited", message)
        return copy.deepcopy(message)

    # ---------------------------------------------------------------- Bot API methods

    def _getMe(self, params: JSON) -> JSON:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _logOut(self, params: JSON) -> bool:
        return True

    def _close(self, params: JSON) -> bool:
        return True

    async def _getUpdates(self, params: JSON) -> list[JSON]:
        if self.webhook["url"]:
            raise ApiRefusal(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = frozenset(params["allowed_updates"]) or DEFAULT_UPDATES
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._touch()

        def ready() -> list[JSON] | str | None:
            if self._poll_generation != generation:
                return "conflict"
            return self._updates[:limit] or ([] if self._closing else None)

        try:
            result = await self._wait(ready, timeout)
        except TimeoutError:
            return []
        if result == "conflict":
            raise ApiRefusal(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return copy.deepcopy(result)

    def _setWebhook(self, params: JSON) -> Described:
        url = str(params.get("url") or "")
        if not url:
            return self._deleteWebhook(params)
        if urlsplit(url).scheme not in ("http", "https"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        same = self.webhook["url"] == url
        self.webhook.update(
            url=url,
            secret_token=params.get("secret_token"),
            max_connections=int(params.get("max_connections") or 40),
        )
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = frozenset(params["allowed_updates"]) or DEFAULT_UPDATES
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if self._webhook_task is None:
            self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        self._touch()
        return Described(True, "Webhook is already set" if same else "Webhook was set")

    def _deleteWebhook(self, params: JSON) -> Described:
        was_set = bool(self.webhook["url"])
        self.webhook = {"url": "", "secret_token": None, "max_connections": 40}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._touch()
        return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    def _getWebhookInfo(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook["url"]:
            info["max_connections"] = self.webhook["max_connections"]
            if self._allowed_updates != DEFAULT_UPDATES:
                info["allowed_updates"] = sorted(self._allowed_updates)
            for key in ("last_error_date", "last_error_message"):
                if self.webhook.get(key):
                    info[key] = self.webhook[key]
        return info

    def _sendMessage(self, params: JSON) -> JSON:
        chat = self._chat(params)
        content = self._formatted(params)
        return self._send(chat, params, content)

    def _sendPhoto(self, params: JSON) -> JSON:
        chat = self._chat(params)
        caption = self._formatted(params, caption=True)
        stored = self._input_file(params, "photo")
        return self._send(chat, params, {"photo": [self._photo_size(stored)], **caption})

    def _sendDocument(self, params: JSON) -> JSON:
        chat = self._chat(params)
        caption = self._formatted(params, caption=True)
        stored = self._input_file(params, "document")
        return self._send(chat, params, {"document": self._document(stored), **caption})

    def _sendLocation(self, params: JSON) -> JSON:
        chat = self._chat(params)
        latitude, longitude = params.get("latitude"), params.get("longitude")
        if not isinstance(latitude, float | int) or not -90 <= latitude <= 90:
            raise bad_request("wrong latitude specified")
        if not isinstance(longitude, float | int) or not -180 <= longitude <= 180:
            raise bad_request("wrong longitude specified")
        location: JSON = {"latitude": latitude, "longitude": longitude}
        for key in ("live_period", "horizontal_accuracy", "heading", "proximity_alert_radius"):
            if params.get(key) is not None:
                location[key] = params[key]
        return self._send(chat, params, {"location": location})

    def _sendChatAction(self, params: JSON) -> bool:
        self._chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _copyMessage(self, params: JSON) -> JSON:
        chat = self._chat(params)
        source_chat = self.chats.get(int(params.get("from_chat_id") or 0))
        if source_chat is None:
            raise chat_not_found()
        source = source_chat.messages.get(int(params.get("message_id") or 0))
        if source is None:
            raise message_not_found("copy")
        keep = ("text", "entities", "photo", "document", "location", "contact")
        content = {k: copy.deepcopy(v) for k, v in source.items() if k in keep}
        if "caption" in params:
            content |= self._formatted(params, caption=True)
        elif "caption" in source:
            content |= {k: source[k] for k in ("caption", "caption_entities") if k in source}
        return {"message_id": self._send(chat, params, content)["message_id"]}

    def _editMessageText(self, params: JSON) -> JSON:
        chat, message = self._editable(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        content = self._formatted(params)
        inline, _ = checked_markup(params.get("reply_markup"), inline_only=True)
        changes = {"text": content["text"], "entities": content.get("entities")}
        return self._apply_edit(chat, message, changes | {"reply_markup": inline}, content=True)

    def _editMessageCaption(self, params: JSON) -> JSON:
        chat, message = self._editable(params)
        if "text" in message:
            raise bad_request("there is no caption in the message to edit")
        content = self._formatted(params, caption=True)
        inline, _ = checked_markup(params.get("reply_markup"), inline_only=True)
        changes = {k: content.get(k) for k in ("caption", "caption_entities")}
        return self._apply_edit(chat, message, changes | {"reply_markup": inline}, content=True)

    def _editMessageReplyMarkup(self, params: JSON) -> JSON:
        chat, message = self._editable(params)
        inline, _ = checked_markup(params.get("reply_markup"), inline_only=True)
        return self._apply_edit(chat, message, {"reply_markup": inline}, content=False)

    def _deleteMessage(self, params: JSON) -> bool:
        chat = self._chat(params, writing=False)
        message = chat.messages.pop(int(params.get("message_id") or 0), None)
        if message is None:
            raise message_not_found("delete")
        chat.deleted[message["message_id"]] = message
        self._record(chat, "deleted", message)
        return True

    def _deleteMessages(self, params: JSON) -> bool:
        chat = self._chat(params, writing=False)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must be a non-empty list of at most 100 identifiers")
        for message_id in ids:
            if message := chat.messages.pop(message_id, None):
                chat.deleted[message_id] = message
                self._record(chat, "deleted", message)
        return True

    def _answerCallbackQuery(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        query = self._callbacks.get(query_id)
        if (
            query is None
            or query["answered"]
            or time.monotonic() - query["at"] > self.callback_query_ttl
        ):
            raise query_is_too_old()
        query["answered"] = True
        self.callback_answers[query_id] = params
        return True

    def _getFile(self, params: JSON) -> JSON:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        if len(stored.data) > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _getChat(self, params: JSON) -> JSON:
        chat = self._chat(params, writing=False)
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        accepted = dict.fromkeys((*gifts, "gifts_from_channels"), True)
        return chat.info() | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": accepted,
        }

    def _getChatAdministrators(self, params: JSON) -> list[JSON]:
        chat = self._chat(params, writing=False)
        if not isinstance(chat, GroupChat):
            raise bad_request("there are no administrators in the private chat")
        if chat.migrated_to is not None or chat.bot_status in ("left", "kicked"):
            chat.check_writable()
        admins = []
        rights = dict.fromkeys(GROUP_ADMIN_RIGHTS, True) | {
            "can_promote_members": True,
            "can_send_welcome_messages": True,
        }
        for user_id, status in chat.members.items():
            user = copy.deepcopy(chat.users[user_id])
            if status == "creator":
                admins.append({"status": "creator", "user": user, "is_anonymous": False})
            elif status == "administrator":
                admins.append(
                    {
                        "status": "administrator",
                        "user": user,
                        "can_be_edited": False,
                        "is_anonymous": False,
                        **rights,
                    }
                )
        if chat.bot_status == "administrator":
            admins.append(
                {
                    "status": "administrator",
                    "user": dict(self.bot_user),
                    "can_be_edited": False,
                    "is_anonymous": False,
                    **rights,
                }
            )
        return admins

    def _setMyCommands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    def _getMyCommands(self, params: JSON) -> list[JSON]:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return copy.deepcopy(self._commands.get(key, []))

    def _deleteMyCommands(self, params: JSON) -> bool:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands.pop(key, None)
        return True

    def _setChatMenuButton(self, params: JSON) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise bad_request("can't parse menu button JSON object")
        if params.get("chat_id") is None:
            self._default_menu_button = button
        else:
            self._chat(params, writing=False).menu_button = button
        return True

    def _getChatMenuButton(self, params: JSON) -> JSON:
        if params.get("chat_id") is None:
            return copy.deepcopy(self._default_menu_button)
        chat = self._chat(params, writing=False)
        return copy.deepcopy(chat.menu_button or self._default_menu_button)

    def _set_info(self, params: JSON, key: str, limit: int) -> bool:
        value = str(params.get(key) or "")
        if len(value) > limit:
            raise bad_request(f"{key.replace('_', ' ')} is too long")
        self.bot_info[(key, str(params.get("language_code") or ""))] = value
        return True

    def _get_info(self, params: JSON, key: str) -> JSON:
        language = str(params.get("language_code") or "")
        value = self.bot_info.get((key, language)) or self.bot_info.get((key, ""), "")
        if key == "name" and not value:
            value = self.bot_user["first_name"]
        return {key: value}

    def _setMyDescription(self, params: JSON) -> bool:
        return self._set_info(params, "description", 512)

    def _getMyDescription(self, params: JSON) -> JSON:
        return self._get_info(params, "description")

    def _setMyShortDescription(self, params: JSON) -> bool:
        return self._set_info(params, "short_description", 120)

    def _getMyShortDescription(self, params: JSON) -> JSON:
        return self._get_info(params, "short_description")

    def _setMyName(self, params: JSON) -> bool:
        return self._set_info(params, "name", 64)

    def _getMyName(self, params: JSON) -> JSON:
        return self._get_info(params, "name")

    # ---------------------------------------------------------------- webhook delivery

    async def _deliver_webhooks(self) -> None:
        """Push queued updates to the webhook as Telegram's server does: up to
        `max_connections` requests at once, but one chat's updates one at a time and in order
        (its next only once the webhook answered the previous), a refused one retried."""
        in_flight: dict[object, asyncio.Task[None]] = {}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            try:
                while True:
                    wake = self._event
                    self._start_deliveries(session, in_flight)
                    await wake.wait()
            finally:
                for task in in_flight.values():
                    task.cancel()
                await asyncio.gather(*in_flight.values(), return_exceptions=True)

    def _start_deliveries(
        self, session: aiohttp.ClientSession, in_flight: dict[object, asyncio.Task[None]]
    ) -> None:
        if not self.webhook["url"]:
            return
        busy = set(in_flight)
        for update in self._updates:
            if len(in_flight) >= int(self.webhook["max_connections"]):
                return
            queue = _update_queue(update)
            if queue in busy:
                continue  # this chat's earlier update is not answered yet
            busy.add(queue)
            in_flight[queue] = asyncio.create_task(
                self._deliver_one(session, update, queue, in_flight)
            )

    async def _deliver_one(
        self,
        session: aiohttp.ClientSession,
        update: JSON,
        queue: object,
        in_flight: dict[object, asyncio.Task[None]],
    ) -> None:
        try:
            while not await self._post_update(session, update):
                await asyncio.sleep(self.webhook_retry_delay)
                if not self.webhook["url"] or not any(u is update for u in self._updates):
                    return  # the webhook was deleted or its queue dropped meanwhile
            self._updates[:] = [u for u in self._updates if u is not update]
        finally:
            in_flight.pop(queue, None)
            self._touch()

    async def _post_update(self, session: aiohttp.ClientSession, update: JSON) -> bool:
        headers = {}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        try:
            async with session.post(
                self.webhook["url"], json=update, headers=headers, timeout=timeout
            ) as response:
                if 200 <= response.status < 300:
                    await self._run_webhook_reply(response)
                    return True
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except TimeoutError:
            error = "Read timeout expired"
        except aiohttp.ClientConnectorError:
            error = "Connection refused"
        except aiohttp.ClientError as exc:
            error = f"Connection error: {exc}"
        self.webhook.update(last_error_date=_now(), last_error_message=error)
        self._touch()
        return False

    async def _run_webhook_reply(self, response: aiohttp.ClientResponse) -> None:
        """Telegram executes a method the webhook answered with (JSON or multipart body)."""
        raw: Any = None
        if response.content_type == "application/json":
            with contextlib.suppress(ValueError):
                raw = await response.json()
        elif response.content_type == "multipart/form-data":
            raw = await _read_multipart(aiohttp.MultipartReader(response.headers, response.content))
        if isinstance(raw, dict) and isinstance(raw.get("method"), str):
            method = raw.pop("method")
            await self._dispatch(method, raw)


def _update_queue(update: JSON) -> object:
    """Which of the server's queues an update waits in: its chat's (else its sender's)."""
    body: Any = next((v for k, v in update.items() if k != "update_id"), {})
    if isinstance(body, dict):
        message = body.get("message") if "data" in body or "chat_instance" in body else body
        chat = message.get("chat") if isinstance(message, dict) else None
        if isinstance(chat, dict) and "id" in chat:
            return ("chat", chat["id"])
        sender = body.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return ("user", sender["id"])
    return ("update", update["update_id"])
