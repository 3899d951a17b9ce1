"""Included last: whatever nobody else understood gets a hint, never silence."""

from __future__ import annotations

from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.routing import RouteTable

router = RouteTable("fallback")


@router.message(StateFilter("*"))
async def not_understood(message: Message) -> None:
    if message.text and message.text.startswith("/"):
        await message.answer(_("I don't know that command. Send /help to see what you can do."))
        return
    await message.answer(_("Sorry, I didn't understand that. Send /help to see what you can do."))


@router.callback_query(StateFilter("*"))
async def stale_button(callback: CallbackQuery) -> None:
    # Buttons from an old conversation, or forged data: say so, change nothing.
    await callback.answer(
        _("This button is no longer valid. Send /start to begin again."), show_alert=True
    )
