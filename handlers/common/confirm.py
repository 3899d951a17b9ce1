"""The confirm-or-cancel step that ends a form: a summary with Confirm / Cancel, then either the
save or "Cancelled. Nothing was saved." Every form that saves on Confirm goes through here.

    CONFIRM = ConfirmStep("org", OrgForm.confirm)

    await CONFIRM.ask(message, state, summary)             # the summary and its two buttons

    @router.callback_query(*CONFIRM.filters)
    async def org_save(callback, callback_data: ConfirmCb, state, …):
        if not await CONFIRM.confirmed(callback, callback_data, state):
            return                                          # cancelled: the form is forgotten
        …save (save_then_clear)…
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import F
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.lazy_proxy import LazyProxy

from handlers.common.callbacks import ConfirmCb
from handlers.common.keyboards import confirm_keyboard


@dataclass(frozen=True, slots=True)
class ConfirmStep:
    """One form's confirmation. `flow` is what its buttons carry (ConfirmCb.flow), `state` the
    step that waits for the tap. On Cancel the answer is `cancelled` (lazy text; by default
    "Cancelled. Nothing was saved."), written over the summary when `edit_on_cancel`, else sent
    as a new message."""

    flow: str
    state: State
    cancelled: LazyProxy | None = None  # rendered in the person's language when used
    edit_on_cancel: bool = True

    @property
    def filters(self) -> tuple[State, CallbackQueryFilter]:
        """What the handler of the tap registers with: the step and this flow's buttons."""
        return self.state, ConfirmCb.filter(F.flow == self.flow)

    async def ask(
        self, message: Message, state: FSMContext, summary: str, *, edit: bool = False
    ) -> None:
        """Wait at the step and show the summary with Confirm / Cancel (in place when `edit`)."""
        await state.set_state(self.state)
        keyboard = confirm_keyboard(self.flow)
        if edit:
            await message.edit_text(summary, reply_markup=keyboard)
        else:
            await message.answer(summary, reply_markup=keyboard)

    async def confirmed(
        self, callback: CallbackQuery, callback_data: ConfirmCb, state: FSMContext
    ) -> bool:
        """True on Confirm (the caller saves). On Cancel the form is forgotten and the person
        told nothing was saved; False."""
        await callback.answer()
        if callback_data.yes:
            return True
        await state.clear()
        if isinstance(callback.message, Message):
            text = str(self.cancelled) if self.cancelled else _("Cancelled. Nothing was saved.")
            if self.edit_on_cancel:
                await callback.message.edit_text(text)
            else:
                await callback.message.answer(text)
        return False
