"""The emergency header on every reply to people of a community in emergency mode.

An update middleware looks up (with a short per-process cache) whether the sender's community
is in an emergency and remembers it for this update; a request middleware on the bots' sessions
puts the header above each message sent into that chat while the update is handled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject

from bot.domain.principal import Principal
from bot.services import UnitOfWork, emergencies
from handlers.emergencies.texts import header_text

# (chat id, description) of the update being handled, when its sender is in an emergency.
_current: ContextVar[tuple[int, str] | None] = ContextVar("emergency_header", default=None)


async def _description(uow: UnitOfWork, community_id: int) -> str | None:
    return await emergencies.active_description(uow, community_id=community_id)


class EmergencyUpdateMiddleware(BaseMiddleware):
    """Outer, after the identity middleware."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        principal: Principal | None = data.get("principal")
        chat = data.get("event_chat")
        if principal is None or principal.home is None or chat is None:
            return await handler(event, data)
        description = await _description(data["uow"], principal.home.community_id)
        token = _current.set((chat.id, description) if description else None)
        try:
            return await handler(event, data)
        finally:
            _current.reset(token)


class EmergencyHeaderRequest(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        current = _current.get()
        if current is not None and isinstance(method, SendMessage | EditMessageText):
            chat_id, description = current
            header = header_text(description)
            text = method.text or ""
            fits = len(text) + len(header) < 4000
            if str(method.chat_id) == str(chat_id) and fits and not text.startswith(header):
                method.text = f"{header}\n\n{text}"
        return await make_request(bot, method)
