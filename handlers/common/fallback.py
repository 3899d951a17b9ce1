"""Included last: whatever nobody else understood gets a hint, never silence.

A text at a step that expects a button repeats that step's question with its buttons
(handlers/common/questions.py); a text that was already answered with an emergency alert needs
nothing more."""

from __future__ import annotations

from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.services.crypto import PersonalDataCipher
from handlers.common.questions import current_turn, repeat_question
from handlers.common.routing import RouteTable

router = RouteTable("fallback")


@router.message(StateFilter("*"))
async def not_understood(
    message: Message, state: FSMContext, cipher: PersonalDataCipher | None = None
) -> None:
    if message.text and message.text.startswith("/"):
        await message.answer(_("I don't know that command. Send /help to see what you can do."))
        return
    if cipher is not None and await repeat_question(message, state, cipher):
        return
    turn = current_turn()
    if turn is not None and turn.emergency_answered:
        return
    await message.answer(_("Sorry, I didn't understand that. Send /help to see what you can do."))


@router.callback_query(StateFilter("*"))
async def stale_button(callback: CallbackQuery) -> None:
    # Buttons from an old conversation, or forged data: say so, change nothing.
    await callback.answer(
        _("This button is no longer valid. Send /start to begin again."), show_alert=True
    )
