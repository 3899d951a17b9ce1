"""Small steps that many conversations share: a button that asks for a typed answer, and
reading hours or a whole number from what people type."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.attendance import parse_hours
from bot.domain.errors import InvalidInput
from bot.services import UnitOfWork, places


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
