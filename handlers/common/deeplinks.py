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
    if channel is Channel.WECHAT:
        # A parameter QR code made by the account (its SCAN is the same `/start <payload>`).
        scene_link = getattr(bot.session, "scene_link", None)
        link = await scene_link(payload) if scene_link is not None else None
        if link:
            return str(link)
    return f"{settings.site_url}/?start={payload}"


async def qr_image(bot: Bot, link: str) -> bytes:
    """A QR code picture of a link from `start_link`: on WeChat, of the parameter QR code's
    own content, so scanning it is the account's SCAN."""
    qr_content = getattr(bot.session, "qr_content", None)
    return qr_png(str(await qr_content(link)) if qr_content is not None else link)


def qr_png(link: str) -> bytes:
    """A QR code to print or show on a phone (8 px a module, quiet zone included)."""
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="png", scale=8)
    return out.getvalue()
