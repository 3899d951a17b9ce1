"""`/start <payload>` routing: features register the payload prefixes they own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

DeepLinkHandler = Callable[[Message, str, dict[str, Any]], Awaitable[None]]
_REGISTRY: dict[str, DeepLinkHandler] = {}


def deep_link(prefix: str) -> Callable[[DeepLinkHandler], DeepLinkHandler]:
    """Register a handler for payloads like `ci_<token>` (prefix `ci_`)."""

    def register(handler: DeepLinkHandler) -> DeepLinkHandler:
        if prefix in _REGISTRY:
            raise ValueError(f"deep-link prefix {prefix!r} is taken")
        _REGISTRY[prefix] = handler
        return handler

    return register


def owner_of(payload: str) -> tuple[DeepLinkHandler, str] | None:
    for prefix, handler in _REGISTRY.items():
        if payload.startswith(prefix):
            return handler, payload.removeprefix(prefix)
    return None


async def open_deep_link(message: Message, payload: str, data: dict[str, Any]) -> None:
    """Hand the payload to its feature; an unknown one gets a clear message."""
    found = owner_of(payload)
    if found is None:
        await message.answer(_("This link is not valid or has expired."))
        return
    handler, rest = found
    await handler(message, rest, data)
