"""`/start <payload>` routing: features register the payload prefixes they own."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import segno
from aiogram import Bot
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.domain.enums import Channel

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


async def start_link(bot: Bot, channel: Channel, settings: Settings, payload: str) -> str:
    """A link that opens the bot with `/start <payload>`: Telegram's t.me link for people on
    Telegram, the web chat page (`/?start=`) for everyone else."""
    if channel is Channel.TELEGRAM:
        me = await bot.me()
        if me.username:
            return f"https://t.me/{me.username}?start={payload}"
    return f"{settings.site_url}/?start={payload}"


def qr_png(link: str) -> bytes:
    """A QR code to print or show on a phone (8 px a module, quiet zone included)."""
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="png", scale=8)
    return out.getvalue()
