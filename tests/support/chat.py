"""Conversation harness: the real Dispatcher (routers, middlewares, i18n) fed with Updates,
answered by the recording web chat session, on a real test database."""

from __future__ import annotations

import html
import re
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import Update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_dispatcher
from bot.channels.telegram.notifier import ChatNotifier
from bot.channels.webchat import WebChat, WebChatHub, WebChatSession
from bot.config import load_settings
from bot.domain.enums import Channel
from bot.i18n import make_i18n
from bot.services.crypto import PersonalDataCipher
from handlers.common.capabilities import PhotoLibrary
from handlers.common.questions import QuestionCapture
from storage.db import make_session_factory
from storage.uow import UnitOfWork

TAG = re.compile(r"<[^>]+>")


def plain(markup: str) -> str:
    return html.unescape(TAG.sub("", markup))


class ChatHarness:
    """Drives users through the bot; `channel` is what the middleware is told the chat is."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        channel: Channel = Channel.WEB,
        storage: BaseStorage | None = None,
        hub: WebChatHub | None = None,
        **settings: Any,
    ) -> None:
        self.settings = load_settings(**settings)
        self.session_factory = make_session_factory(engine)
        self.i18n = make_i18n(self.settings.default_locale)
        self.dispatcher = build_dispatcher(
            self.settings, self.session_factory, self.i18n, storage or MemoryStorage()
        )
        # Pass the hub of an earlier harness to keep the chats across a simulated restart.
        self.hub = hub or WebChatHub()
        self.bot = Bot(
            "1:webchat",
            session=WebChatSession(self.hub),
            default=DefaultBotProperties(parse_mode="HTML"),
        )
        self.bot.session.middleware(QuestionCapture())
        self.channel = channel
        self.webchat = WebChat(self.hub, self.bot, self._feed)
        self.notifier = ChatNotifier(
            lambda: UnitOfWork(self.session_factory),
            self.i18n,
            {Channel.WEB: self.bot, Channel.TELEGRAM: self.bot},
            self.settings.tz,
            self.settings.default_locale,
        )
        self.dispatcher["notifier"] = self.notifier
        self.dispatcher["photos"] = PhotoLibrary(
            {Channel.WEB: self.bot, Channel.TELEGRAM: self.bot}
        )
        self.dispatcher["cipher"] = PersonalDataCipher(b"test-secret")

    async def _feed(self, bot: Bot, update: Update) -> Any:
        return await self.dispatcher.feed_update(bot, update, channel=self.channel)

    async def send(self, user_id: int, text: str, language: str = "zh") -> list[dict[str, Any]]:
        before = self.hub.conversation(user_id).seq
        await self.webchat.user_text(user_id, text, language=language)
        await self.webchat.drain()
        return self.hub.conversation(user_id).since(before)

    async def share_location(
        self, user_id: int, latitude: float, longitude: float, language: str = "zh"
    ) -> list[dict[str, Any]]:
        before = self.hub.conversation(user_id).seq
        await self.webchat.user_location(user_id, latitude, longitude, language=language)
        await self.webchat.drain()
        return self.hub.conversation(user_id).since(before)

    async def send_photo(
        self, user_id: int, content: bytes, caption: str = "", language: str = "zh"
    ) -> list[dict[str, Any]]:
        """Upload a photo from the web page (as POST /chat/api/photo does once checked)."""
        before = self.hub.conversation(user_id).seq
        await self.webchat.user_photo(user_id, content, caption=caption, language=language)
        await self.webchat.drain()
        return self.hub.conversation(user_id).since(before)

    async def tap(self, user_id: int, label: str, language: str = "zh") -> list[dict[str, Any]]:
        """Tap the newest visible inline button whose text contains `label`."""
        message_id, data = self.find_button(user_id, label)
        return await self.tap_data(user_id, message_id, data, language)

    async def tap_data(
        self, user_id: int, message_id: int, data: str, language: str = "zh"
    ) -> list[dict[str, Any]]:
        chat = self.hub.conversation(user_id)
        before = chat.seq
        if not await self.webchat.user_callback(user_id, message_id, data, language=language):
            raise AssertionError(f"button {data!r} is not on message {message_id}")
        await self.webchat.drain()
        return chat.since(before)

    def find_button(self, user_id: int, label: str) -> tuple[int, str]:
        chat = self.hub.conversation(user_id)
        for message_id in sorted(chat.messages, reverse=True):
            markup = chat.messages[message_id].get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if label in button["text"] and "callback_data" in button:
                        return message_id, button["callback_data"]
        raise AssertionError(f"no button {label!r}; screens: {self.screens(user_id)}")

    def screens(self, user_id: int) -> list[str]:
        """The current text of every bot message in the chat, oldest first."""
        chat = self.hub.conversation(user_id)
        return [plain(m["_html"]) for _, m in sorted(chat.messages.items()) if "_html" in m]

    def last_text(self, user_id: int) -> str:
        chat = self.hub.conversation(user_id)
        for event in reversed(chat.events):
            if event["type"] in {"message", "edit"} and event.get("from", "bot") == "bot":
                return plain(event["html"])
        raise AssertionError("the bot has said nothing")

    def alerts(self, user_id: int) -> list[str]:
        chat = self.hub.conversation(user_id)
        return [e["text"] for e in chat.events if e["type"] == "callback_answer" and e["text"]]

    async def onboard(
        self,
        user_id: int,
        *,
        language: str = "中文",
        path: tuple[str, ...],
        name: str | None = None,
    ) -> None:
        """/start → language → district → street → community → name (typed, or skipped)."""
        await self.send(user_id, "/start")
        await self.tap(user_id, language)
        for label in path:
            await self.tap(user_id, label)
        if name is not None:
            await self.send(user_id, name)
            return
        chat = self.hub.conversation(user_id)
        newest = chat.messages[max(chat.messages)] if chat.messages else {}
        for row in (newest.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if button.get("callback_data") == "nm:skip":
                    await self.tap_data(user_id, newest["message_id"], "nm:skip")
                    return

    async def close(self) -> None:
        await self.webchat.drain()
        await self.dispatcher.storage.close()
