"""Per-update context: who is writing (a Principal), and a fresh unit of work for the handler."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from weakref import WeakValueDictionary

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.enums import Channel
from bot.i18n import locale_from_language_code
from bot.services import people
from storage.uow import UnitOfWork

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class IdentityMiddleware(BaseMiddleware):
    """Outer middleware on updates: finds or creates the person behind the sender."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], settings: Settings
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data["uow"] = UnitOfWork(self.session_factory)
        data["settings"] = self.settings
        user: User | None = data.get("event_from_user")
        chat = data.get("event_chat")
        if user is None or user.is_bot:
            return await handler(event, data)
        channel: Channel = data.setdefault("channel", Channel.TELEGRAM)
        identity = await people.identify(
            data["uow"],
            channel=channel,
            external_id=str(user.id),
            chat_id=str(chat.id if chat else user.id),
            display_name=user.full_name,
            fallback_locale=locale_from_language_code(
                user.language_code, self.settings.default_locale
            ),
            superadmin=channel is Channel.TELEGRAM and user.id in self.settings.admin_ids,
        )
        data["identity"] = identity
        data["principal"] = identity.principal
        return await handler(event, data)


class ChatOrderMiddleware(BaseMiddleware):
    """One chat's updates are handled one after another.

    Long polling hands aiogram a batch and handles it concurrently, so a double tap on
    "Confirm" could file twice; in order, the second tap finds the flow finished."""

    def __init__(self) -> None:
        self._locks: WeakValueDictionary[tuple[int, int], asyncio.Lock] = WeakValueDictionary()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        key_id = chat.id if chat is not None else (user.id if user is not None else None)
        if key_id is None:
            return await handler(event, data)
        key = (data["bot"].id, key_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            return await handler(event, data)
