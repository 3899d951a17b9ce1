"""The central errors router: domain errors get their translated message; anything else is
logged with the update id and the person gets an apology, never a stack trace."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, ErrorEvent, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import DomainError
from handlers.common.routing import RouteTable
from handlers.common.texts import error_text

router = RouteTable("errors")
log = logging.getLogger(__name__)


async def _tell(event: ErrorEvent, text: str) -> None:
    update = event.update
    try:
        if update.callback_query is not None:
            await _tell_tapper(update.callback_query, text)
        elif update.message is not None:
            await update.message.answer(text)
    except Exception:  # the apology itself failed; the log has the original error
        log.exception("could not tell the user about an error in update %s", update.update_id)


async def _tell_tapper(query: CallbackQuery, text: str) -> None:
    """An alert on the button; if the handler already answered the tap (the platform allows
    one answer), a message in the chat instead, so the person is never left without a word."""
    try:
        await query.answer(text, show_alert=True)
    except TelegramBadRequest:
        if not isinstance(query.message, Message):
            raise
        await query.message.answer(text)


@router.errors()
async def on_error(event: ErrorEvent) -> bool:
    if isinstance(event.exception, DomainError):
        await _tell(event, error_text(event.exception))
        return True
    if isinstance(event.exception, TelegramBadRequest) and "not modified" in str(event.exception):
        # A double tap re-rendered the same screen: harmless.
        if event.update.callback_query is not None:
            await event.update.callback_query.answer()
        return True
    if isinstance(event.exception, ValueError) and event.update.callback_query is not None:
        # Button data that does not parse (an old keyboard, or a forged one): change nothing.
        log.warning(
            "update %s: unusable callback data: %s", event.update.update_id, event.exception
        )
        await _tell(event, _("This button is no longer valid. Send /start to begin again."))
        return True
    log.error("update %s failed", event.update.update_id, exc_info=event.exception)

    await _tell(event, _("Sorry, something went wrong on our side. Please try again later."))
    return True
