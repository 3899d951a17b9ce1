"""Taking part in a consultation: opinions (give, support; moderators hide), the vote (online
or recorded from paper), the meeting (its code, attendance) and the invitation links."""

from __future__ import annotations

import html

from aiogram import Bot, F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.domain.consultations import INVITED_ACTORS
from bot.domain.enums import Channel
from bot.domain.errors import InvalidInput, PermissionDenied
from bot.domain.principal import Principal
from bot.services import UnitOfWork, consultations
from bot.services.consultations import ConsultationView
from bot.services.crypto import PersonalDataCipher
from handlers.common.deeplinks import start_link
from handlers.common.keyboards import button, choice_label
from handlers.common.routing import RouteTable
from handlers.common.steps import (
    ask,
    id_number,
    whole_number,
)
from handlers.consultations.callbacks import ConsultAction, ConsultCb
from handlers.consultations.states import ConsultForm
from handlers.consultations.texts import ACTOR_NAMES

router = RouteTable("consultation_voting")


@router.callback_query(ConsultCb.filter(F.action.in_({ConsultAction.OPINIONS, ConsultAction.MORE})))
async def list_opinions(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    page = min(id_number(callback_data.value) or 0, 10_000)
    found = await consultations.opinions(
        uow, principal, consultation_id=callback_data.id, page=page
    )
    view = await consultations.view(uow, principal, consultation_id=callback_data.id)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if not found.items:
        await callback.message.answer(_("No opinions yet."))
        return
    for opinion in found.items:
        who = f"{html.escape(opinion.author)} ({ACTOR_NAMES[opinion.actor]})"
        if opinion.text is None:
            text = _("{who}: hidden by a moderator ({reason})").format(
                who=who, reason=html.escape(opinion.hidden_reason or "")
            )
        else:
            text = f"{who}: {html.escape(opinion.text)}"
        row = []
        if opinion.text is not None and view.entitled:
            label = _("Support ({count})").format(count=opinion.supporters)
            row.append(button(label, ConsultCb(action=ConsultAction.SUPPORT, id=opinion.id)))
        if opinion.text is not None and view.can_manage:
            row.append(button(_("Hide"), ConsultCb(action=ConsultAction.HIDE, id=opinion.id)))
        markup = InlineKeyboardMarkup(inline_keyboard=[row]) if row else None
        await callback.message.answer(text, reply_markup=markup)
    if found.has_next:
        more = ConsultCb(action=ConsultAction.MORE, id=callback_data.id, value=str(page + 1))
        await callback.message.answer(
            _("Page {page} of {pages}").format(page=page + 1, pages=found.pages),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button("›", more)]]),
        )


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.OPINE))
async def opine(callback: CallbackQuery, callback_data: ConsultCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        ConsultForm.opinion,
        _("Your opinion (one message)? /cancel"),
        consultation=callback_data.id,
    )


@router.message(ConsultForm.opinion, F.text)
async def opinion_typed(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.get_data()
    try:
        await consultations.add_opinion(
            uow, principal, consultation_id=data["consultation"], text=message.text or ""
        )
    except InvalidInput:
        await message.answer(_("Please keep your opinion under 1,000 characters."))
        return
    await state.clear()
    await message.answer(_("Thank you: your opinion is posted."))


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.SUPPORT))
async def support(
    callback: CallbackQuery, callback_data: ConsultCb, principal: Principal, uow: UnitOfWork
) -> None:
    added = await consultations.support(uow, principal, opinion_id=callback_data.id)
    await callback.answer(_("You support it.") if added else _("You support it already."))


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.HIDE))
async def hide(callback: CallbackQuery, callback_data: ConsultCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        ConsultForm.hide_reason,
        _("Why hide it? (the reason is shown)"),
        opinion=callback_data.id,
    )


@router.message(ConsultForm.hide_reason, F.text)
async def hide_reason(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.get_data()
    await consultations.hide(uow, principal, opinion_id=data["opinion"], reason=message.text or "")
    await state.clear()
    await message.answer(_("Hidden. The reason is shown in its place."))


def _options_keyboard(
    view: ConsultationView, action: ConsultAction, value: str = ""
) -> InlineKeyboardMarkup:
    rows = []
    for option in view.options:
        mine = option.id == view.my_option and action is ConsultAction.VOTE
        data = ConsultCb(action=action, id=view.id, value=f"{option.id}{value}")
        rows.append([button(choice_label(option.text[:50], mine), data)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.BALLOT))
async def ballot(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
) -> None:
    view = await consultations.view(
        uow, principal, consultation_id=callback_data.id, ballot_secret=cipher.ballot_secret
    )
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("Your vote (you can change it until voting closes):"),
            reply_markup=_options_keyboard(view, ConsultAction.VOTE),
        )


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.VOTE))
async def vote(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
) -> None:
    option = id_number(callback_data.value)
    if option is None:
        raise InvalidInput("option", callback_data.value)
    await consultations.vote(
        uow, cipher, principal, consultation_id=callback_data.id, option_id=option
    )
    view = await consultations.view(
        uow, principal, consultation_id=callback_data.id, ballot_secret=cipher.ballot_secret
    )
    await callback.answer(_("Your vote is counted."))
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(
            reply_markup=_options_keyboard(view, ConsultAction.VOTE)
        )


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.PAPER))
async def paper(callback: CallbackQuery, callback_data: ConsultCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        ConsultForm.paper_person,
        _("The number of the person who voted on paper (their /me shows it)?"),
        consultation=callback_data.id,
    )


@router.message(ConsultForm.paper_person, F.text)
async def paper_person(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    number = whole_number(message.text, 10**12)
    if number is None:
        await message.answer(_("Please send the person's number."))
        return
    data = await state.get_data()
    view = await consultations.view(uow, principal, consultation_id=data["consultation"])
    await state.clear()
    await message.answer(
        _("Their choice on paper:"),
        reply_markup=_options_keyboard(view, ConsultAction.PAPER_VOTE, f"_{number}"),
    )


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.PAPER_VOTE))
async def paper_vote(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
) -> None:
    option_text, _sep, person_text = callback_data.value.partition("_")
    option, person = id_number(option_text), id_number(person_text)
    if option is None or person is None:
        raise InvalidInput("option", callback_data.value)
    await consultations.record_paper_vote(
        uow,
        cipher,
        principal,
        consultation_id=callback_data.id,
        person_id=int(person),
        option_id=int(option),
    )
    await callback.answer(_("The paper vote is recorded (marked as assisted)."), show_alert=True)


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.ATTEND))
async def attend(callback: CallbackQuery, callback_data: ConsultCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        ConsultForm.meeting_code,
        _("Type the code shown at the meeting."),
        consultation=callback_data.id,
    )


@router.message(ConsultForm.meeting_code, F.text)
async def meeting_code_typed(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
) -> None:
    data = await state.get_data()
    try:
        await consultations.attend(
            uow, cipher, principal, consultation_id=data["consultation"], code=message.text or ""
        )
    except InvalidInput:
        await message.answer(_("That is not the meeting's code. Try again, or /cancel."))
        return
    await state.clear()
    await message.answer(_("Your attendance is recorded. Welcome!"))


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.CODE))
async def show_code(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
) -> None:
    view = await consultations.view(uow, principal, consultation_id=callback_data.id)
    if not view.can_manage:
        raise PermissionDenied()
    await callback.answer()
    if isinstance(callback.message, Message):
        code = consultations.meeting_code(cipher, view.id)
        await callback.message.answer(
            _("Meeting code for “{title}”: <b>{code}</b>").format(
                title=html.escape(view.title), code=code
            )
        )


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.INVITE))
async def invite(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    settings: Settings,
    bot: Bot,
    channel: Channel,
) -> None:
    view = await consultations.view(uow, principal, consultation_id=callback_data.id)
    if not view.can_manage:
        raise PermissionDenied()
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    lines = [_("Send each representative the link of their seat:")]
    for actor in INVITED_ACTORS:
        token = consultations.invite_token(cipher, view.id, actor)
        link = await start_link(bot, channel, settings, f"c_{view.id}_{actor.value}_{token}")
        lines.append(f"{ACTOR_NAMES[actor]}: {html.escape(link)}")
    await callback.message.answer("\n".join(lines))
