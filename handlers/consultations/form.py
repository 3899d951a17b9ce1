"""Opening a consultation (协商议事), from /consult new, its button or a need in /queue: topic,
background, options, communities, days, anonymity, a major matter, the meeting, confirm."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.domain.broadcasts import parse_when
from bot.domain.consultations import MAX_DAYS, parse_options
from bot.domain.errors import InvalidInput
from bot.domain.policy import CONSULTATION_ROLES
from bot.domain.principal import Principal
from bot.services import UnitOfWork, consultations, needs, places
from handlers.common.callbacks import NeedAction, NeedCb
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.steps import (
    communities_by_code,
    in_both_languages,
    whole_number,
)
from handlers.consultations.callbacks import ConsultAction, ConsultCb
from handlers.consultations.states import ConsultForm
from handlers.consultations.texts import show

router = RouteTable("consultation_form")


async def start_form(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    need_id: int | None,
) -> None:
    covered = await places.covered_communities(uow, principal, CONSULTATION_ROLES)
    if not covered:
        await message.answer(_("Consultations are opened by community workers and admins."))
        return
    await state.set_state(ConsultForm.title)
    await state.update_data(allowed=[c.id for c in covered], need=need_id)
    await message.answer(_("The topic, in one line? /cancel stops."))


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.NEW))
async def new_from_button(
    callback: CallbackQuery, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await start_form(callback.message, state, principal, uow, need_id=None)


@router.callback_query(NeedCb.filter(F.action == NeedAction.CONSULT))
async def new_from_need(
    callback: CallbackQuery,
    callback_data: NeedCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    detail = await needs.need_detail(uow, principal, need_id=callback_data.id)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    await start_form(callback.message, state, principal, uow, need_id=detail.brief.id)
    await callback.message.answer(
        _("It will be linked to request {reference}; its outcome goes to the resident.").format(
            reference=detail.brief.reference
        )
    )


@router.message(ConsultForm.title, F.text)
async def form_title(message: Message, state: FSMContext) -> None:
    title = " ".join((message.text or "").split())
    if not title or len(title) > 120:
        await message.answer(_("Please keep the topic to one line of at most 120 characters."))
        return
    await state.update_data(title=title)
    await state.set_state(ConsultForm.background)
    await message.answer(_("The background: what is it about, what is known? (one message)"))


@router.message(ConsultForm.background, F.text)
async def form_background(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip()
    if len(text) > 3000:
        await message.answer(_("That is too long: please keep it under 3,000 characters."))
        return
    await state.update_data(background=text)
    await state.set_state(ConsultForm.options)
    await message.answer(
        _(
            "The options to vote on, one a line (2 to 8). Send - for an open discussion "
            "without a vote."
        )
    )


@router.message(ConsultForm.options, F.text)
async def form_options(message: Message, state: FSMContext) -> None:
    try:
        options = parse_options(message.text or "")
    except InvalidInput:
        await message.answer(
            _("Please send 2 to 8 different options, one a line (or - for no vote).")
        )
        return
    await state.update_data(options=options)
    data = await state.get_data()
    await state.set_state(ConsultForm.communities)
    allowed: list[int] = data["allowed"]
    if len(allowed) == 1:
        await state.update_data(communities=allowed)
        await _ask_days(message, state)
        return
    await message.answer(
        _("Residents of which communities take part? Send their codes, or tap All."),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(
                        _("All {count}").format(count=len(allowed)),
                        ConsultCb(action=ConsultAction.ALL),
                    )
                ]
            ]
        ),
    )


@router.callback_query(ConsultForm.communities, ConsultCb.filter(F.action == ConsultAction.ALL))
async def form_all(callback: CallbackQuery, state: FSMContext) -> None:
    await state.update_data(communities=(await state.get_data())["allowed"])
    await callback.answer()
    if isinstance(callback.message, Message):
        await _ask_days(callback.message, state)


@router.message(ConsultForm.communities, F.text)
async def form_communities(message: Message, state: FSMContext, uow: UnitOfWork) -> None:
    chosen = await communities_by_code(message, uow, (await state.get_data())["allowed"])
    if chosen is None:
        return
    await state.update_data(communities=chosen)
    await _ask_days(message, state)


async def _ask_days(message: Message, state: FSMContext) -> None:
    await state.set_state(ConsultForm.discussion_days)
    await message.answer(_("How many days of discussion? (1 to {max})").format(max=MAX_DAYS))


@router.message(ConsultForm.discussion_days, F.text)
async def form_discussion(message: Message, state: FSMContext) -> None:
    days = whole_number(message.text, MAX_DAYS)
    if days is None:
        await message.answer(_("Please send a whole number from 1 to {max}.").format(max=MAX_DAYS))
        return
    await state.update_data(discussion_days=days)
    if not (await state.get_data())["options"]:
        await state.update_data(voting_days=0, anonymous=True)
        await _ask_major(message, state)
        return
    await state.set_state(ConsultForm.voting_days)
    await message.answer(_("How many days of voting after it? (1 to {max})").format(max=MAX_DAYS))


@router.message(ConsultForm.voting_days, F.text)
async def form_voting(message: Message, state: FSMContext) -> None:
    days = whole_number(message.text, MAX_DAYS)
    if days is None:
        await message.answer(_("Please send a whole number from 1 to {max}.").format(max=MAX_DAYS))
        return
    await state.update_data(voting_days=days)
    await state.set_state(ConsultForm.anonymous)
    await message.answer(
        _("Anonymous or named voting?"),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("Anonymous"), ConsultCb(action=ConsultAction.ANON, value="1"))],
                [button(_("Named"), ConsultCb(action=ConsultAction.ANON, value="0"))],
            ]
        ),
    )


@router.callback_query(ConsultForm.anonymous, ConsultCb.filter(F.action == ConsultAction.ANON))
async def form_anonymous(
    callback: CallbackQuery, callback_data: ConsultCb, state: FSMContext
) -> None:
    await state.update_data(anonymous=callback_data.value == "1")
    await callback.answer()
    if isinstance(callback.message, Message):
        await _ask_major(callback.message, state)


async def _ask_major(message: Message, state: FSMContext) -> None:
    await state.set_state(ConsultForm.major)
    await message.answer(
        _("Is it a major matter (重大事项), decided by the community party organisation?"),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(
                        _("Yes, a major matter"), ConsultCb(action=ConsultAction.MAJOR, value="1")
                    )
                ],
                [button(_("No"), ConsultCb(action=ConsultAction.MAJOR, value="0"))],
            ]
        ),
    )


@router.callback_query(ConsultForm.major, ConsultCb.filter(F.action == ConsultAction.MAJOR))
async def form_major(callback: CallbackQuery, callback_data: ConsultCb, state: FSMContext) -> None:
    await state.update_data(major=callback_data.value == "1")
    await state.set_state(ConsultForm.meeting)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _(
                "An in-person meeting? Send its time and place, e.g. 2026-12-05 19:00 活动室, "
                "or tap No meeting."
            ),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [button(_("No meeting"), ConsultCb(action=ConsultAction.NO_MEETING))]
                ]
            ),
        )


@router.message(ConsultForm.meeting, F.text)
async def form_meeting(message: Message, state: FSMContext, settings: Settings) -> None:
    parts = (message.text or "").split(maxsplit=2)
    try:
        if len(parts) < 3:
            raise InvalidInput("meeting", "format")
        moment = parse_when(f"{parts[0]} {parts[1]}", settings.tz)
    except InvalidInput:
        await message.answer(_("Please write it like 2026-12-05 19:00 活动室, or tap No meeting."))
        return
    await state.update_data(meeting_at=moment.isoformat(), meeting_place=parts[2])
    await _confirm(message, state, settings)


@router.callback_query(ConsultForm.meeting, ConsultCb.filter(F.action == ConsultAction.NO_MEETING))
async def form_no_meeting(callback: CallbackQuery, state: FSMContext, settings: Settings) -> None:
    await state.update_data(meeting_at=None, meeting_place=None)
    await callback.answer()
    if isinstance(callback.message, Message):
        await _confirm(callback.message, state, settings)


async def _confirm(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    await state.set_state(ConsultForm.confirm)
    options = "\n".join(f"{n}. {html.escape(o)}" for n, o in enumerate(data["options"], 1))
    summary = _(
        "<b>{title}</b>\n{background}\n\n{options}\nDiscussion {discussion} days, voting "
        "{voting} days."
    ).format(
        title=html.escape(data["title"]),
        background=html.escape(data["background"]),
        options=options or _("(an open discussion, no vote)"),
        discussion=data["discussion_days"],
        voting=data["voting_days"],
    )
    await message.answer(
        summary + "\n\n" + _("Open it and tell the residents?"),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("Open it"), ConsultCb(action=ConsultAction.CREATE))],
                [button(_("Cancel"), ConsultCb(action=ConsultAction.DROP))],
            ]
        ),
    )


@router.callback_query(ConsultForm.confirm, ConsultCb.filter(F.action == ConsultAction.DROP))
async def form_drop(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(_("Cancelled. Nothing was saved."))


@router.callback_query(ConsultForm.confirm, ConsultCb.filter(F.action == ConsultAction.CREATE))
async def form_create(
    callback: CallbackQuery,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    title = data["title"]
    view = await consultations.open_consultation(
        uow,
        principal,
        _new_consultation(data),
        texts=in_both_languages(
            i18n,
            lambda: _(
                "New consultation in your community: “{title}”. Read it, "
                "give your opinion and vote."
            ).format(title=title),
        ),
        reminder=in_both_languages(
            i18n,
            lambda: _("Voting on “{title}” closes soon, and you have not voted yet.").format(
                title=title
            ),
        ),
    )
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(_("Opened. Residents are being told."))
        await show(callback.message, view, settings)


def _new_consultation(data: dict[str, Any]) -> consultations.NewConsultation:
    """What the form collected (the FSM data of ConsultForm)."""
    meeting = datetime.fromisoformat(data["meeting_at"]) if data.get("meeting_at") else None
    return consultations.NewConsultation(
        title=data["title"],
        background=data["background"],
        options=data["options"],
        community_ids=data["communities"],
        discussion_days=data["discussion_days"],
        voting_days=data["voting_days"],
        anonymous=data["anonymous"],
        major=data["major"],
        meeting_at=meeting,
        meeting_place=data.get("meeting_place"),
        need_id=data.get("need"),
    )
