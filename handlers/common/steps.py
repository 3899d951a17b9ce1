"""Small steps that many conversations share: a button that asks for a typed answer, saving a
form without losing it, reading hours or a whole number from what people type, and the "hours,
then why" form (an organiser's adjustment, a volunteer's correction, a time-bank transfer)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.lazy_proxy import LazyProxy

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


@dataclass(frozen=True, slots=True)
class HoursAndReason:
    minutes: int
    reason: str
    data: dict[str, Any]  # the whole form: what the hours are about (a record id, a kind …)


@dataclass(frozen=True, slots=True)
class HoursThenReason:
    """A number of hours, then why: `hours` and `reason` are the feature's own two states, `why`
    the second question (a text, or made from the form so far). `positive` refuses 0 hours.

        ADJUST = HoursThenReason(RecordAdjust.minutes, RecordAdjust.reason, __("Why?"))
        await ADJUST.start(callback, state, _("How many hours?"), record=record_id)
        # the handler of ADJUST.hours:   await ADJUST.hours_typed(message, state)
        # the handler of ADJUST.reason:  answer = await ADJUST.answer(message, state) → save
    """

    hours: State
    reason: State
    why: LazyProxy | Callable[[dict[str, Any]], str]
    positive: bool = False

    async def start(
        self, callback: CallbackQuery, state: FSMContext, prompt: str, **about: Any
    ) -> None:
        """Ask for the hours, remembering what they are about."""
        await ask(callback, state, self.hours, prompt, **about)

    async def hours_typed(self, message: Message, state: FSMContext) -> None:
        """Keep the hours and ask why; a text that is not hours is asked again."""
        minutes = await read_hours(message)
        if minutes is None:
            return
        if self.positive and minutes <= 0:
            await message.answer(_("Please write hours like 2.5 or 2:30."))
            return
        data = await state.update_data(minutes=minutes)
        await state.set_state(self.reason)
        why = self.why
        await message.answer(str(why) if isinstance(why, LazyProxy) else why(data))

    async def answer(self, message: Message, state: FSMContext) -> HoursAndReason:
        """The hours and the reason just typed, with the rest of the form (nothing is saved:
        the caller saves, then clears)."""
        data = await state.get_data()
        return HoursAndReason(data["minutes"], message.text or "", data)


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
