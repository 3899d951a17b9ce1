"""The emergency header on every reply to people of a community in emergency mode.

An update middleware looks up (with a short per-process cache) whether the sender's community
is in an emergency and remembers it for this update; a request middleware on the bots' sessions
puts the header above each message sent into that chat while the update is handled."""

from __future__ import annotations

import html
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject
from aiogram.utils.i18n import gettext as _

from bot.domain.principal import Principal
from bot.services import UnitOfWork, emergencies

CACHE_SECONDS = 10.0

# (chat id, description) of the update being handled, when its sender is in an emergency.
_current: ContextVar[tuple[int, str] | None] = ContextVar("emergency_header", default=None)
_cache: dict[int, tuple[float, str | None]] = {}


def header_text(description: str) -> str:
    return _("🚨 Emergency mode: {description}").format(description=html.escape(description))


def forget() -> None:
    """Emergency mode changed in this process: look again."""
    _cache.clear()


async def _description(uow: UnitOfWork, community_id: int) -> str | None:
    now = time.monotonic()
    found = _cache.get(community_id)
    if found is None or found[0] < now:
        view = await emergencies.active_for(uow, community_id=community_id)
        found = (now + CACHE_SECONDS, view.description if view else None)
        _cache[community_id] = found
    return found[1]


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
