"""Emergencies in any message: the first router sees every free text of a private chat, in
every state, and answers at once with the number to call (120/119/110) and the community's
duty phone — then lets the conversation go on (the step the person is at still gets the text).

The word list is `bot.domain.emergency_signs`. Texts people write *for others* (a broadcast, a
worker's note on a need, the description of emergency mode…) are not checked: a notice about
fire safety must not answer its author with 119. Which states those are, each feature says next
to its states (handlers/common/authoring.py)."""

from __future__ import annotations

from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.fsm.context import FSMContext
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.emergency_signs import looks_like_emergency
from bot.domain.principal import Principal
from bot.services import UnitOfWork, needs
from bot.services.crypto import PersonalDataCipher
from handlers.common import drafts
from handlers.common.authoring import is_filing_a_need, is_for_others
from handlers.common.callbacks import NeedNewCb
from handlers.common.emergency_alert import emergency_alert
from handlers.common.keyboards import button
from handlers.common.questions import current_turn
from handlers.common.routing import RouteTable

router = RouteTable("emergency_signs")


@router.message()
async def watch_for_emergencies(
    message: Message,
    state: FSMContext,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    principal: Principal | None = None,
) -> None:
    text = message.text or message.caption or ""
    if principal is None or message.chat.type != "private" or not text or text.startswith("/"):
        raise SkipHandler()
    if not looks_like_emergency(text):  # first the pure check: most texts stop here
        raise SkipHandler()
    current = await state.get_state()
    if is_for_others(current):
        raise SkipHandler()
    alert = await emergency_alert(uow, principal, text)
    if alert is None:
        raise SkipHandler()
    keyboard = None
    if is_filing_a_need(current):
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("🔴 Mark my request as urgent"), NeedNewCb(step="sos", value="mark"))]
            ]
        )
    elif principal.home is not None and len(text) <= needs.MAX_DESCRIPTION:
        await drafts.keep(state, cipher, drafts.EMERGENCY, text.strip())
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("📝 File it as an urgent request"), NeedNewCb(step="sos", value="file"))]
            ]
        )
    sent = await message.answer(alert, reply_markup=keyboard)
    turn = current_turn()
    if turn is not None:
        turn.not_questions.add(sent.message_id)
        turn.emergency_answered = True
    raise SkipHandler()
