"""Small steps that many conversations share: a button that asks for a typed answer, saving a
form without losing it, and reading hours or a whole number from what people type."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeVar

from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.attendance import parse_hours
from bot.domain.errors import InvalidInput
from bot.services import UnitOfWork, places

T = TypeVar("T")
log = logging.getLogger(__name__)


async def ask(
    callback: CallbackQuery, state: FSMContext, step: State, prompt: str, **data: Any
) -> None:
    """Go to `step` remembering `data` (what the answer is about), and ask for the answer."""
    await state.set_state(step)
    if data:
        await state.update_data(**data)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(prompt)


async def save_then_clear(state: FSMContext, save: Awaitable[T]) -> T:
    """Save a form, then forget it. `save` is the service call that commits; the conversation
    state is cleared only after it returns. When it raises (a conflict, the database gone for a
    moment) the form is still there, at the same step: the person taps Confirm again, or
    /cancel, and nothing they typed is lost. Every handler that saves a form goes through here."""
    result = await save
    await state.clear()
    return result


async def delete_typed(message: Message) -> bool:
    """Delete a person's own message that holds personal data (an ID number), where the
    channel can: Telegram deletes it in a private chat, the web page redacts it from its
    transcript. A refusal (too old, a channel without it) does not stop the conversation;
    the answer says whether it was removed."""
    try:
        return bool(await message.delete())
    except TelegramAPIError as error:
        # The refusal's wording names no content, only why.
        log.info(
            "message %s in chat %s not deleted: %s", message.message_id, message.chat.id, error
        )
        return False


async def read_hours(message: Message) -> int | None:
    """Whole minutes from "2.5", "2:30"…; None (and the person is told how) otherwise."""
    try:
        return parse_hours(message.text or "")
    except InvalidInput:
        await message.answer(_("Please write hours like 2.5 or 2:30."))
        return None


def whole_number(text: str | None, limit: int) -> int | None:
    """1 to `limit` typed as plain digits, else None."""
    text = (text or "").strip()
    if text.isascii() and text.isdigit() and 1 <= int(text) <= limit:
        return int(text)
    return None


MAX_ID = 2**63 - 1  # what both databases store; a bigger forged number is not an id


def id_number(text: str | None) -> int | None:
    """A plain ASCII number that fits a database id, else None (for ids typed or carried in
    button data: "P²" or a forged 30-digit number is refused, not crashed on)."""
    text = (text or "").strip()
    if text.isascii() and text.isdigit() and int(text) <= MAX_ID:
        return int(text)
    return None


async def communities_by_code(
    message: Message, uow: UnitOfWork, allowed: Collection[int]
) -> list[int] | None:
    """Community ids from typed codes ("A1 A2" or "A1,A2"), all among `allowed`; None (and
    the person is told) otherwise."""
    by_code = {c.code.upper(): c.id for c in await places.all_communities(uow)}
    codes = (message.text or "").upper().replace(",", " ").split()
    chosen = [by_code.get(code) for code in codes]
    found = {c for c in chosen if c is not None}
    if not codes or len(found) != len(set(chosen)) or not found <= set(allowed):
        await message.answer(
            _(
                "Some of these codes are not communities you cover. Send the codes again, or tap "
                "All."
            )
        )
        return None
    return sorted(found)


def in_both_languages(i18n: I18n, render: Callable[[], str]) -> tuple[str, str]:
    """A notice rendered in Chinese and in English (each recipient reads their own)."""
    texts = []
    for locale in ("zh", "en"):
        with i18n.use_locale(locale):
            texts.append(render())
    return texts[0], texts[1]
