"""Shifts: /newshift for workers, /shifts and /myshifts for verified volunteers."""

from __future__ import annotations

import html
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.errors import InvalidInput
from bot.domain.principal import Principal
from bot.domain.social_work import ShiftKind
from bot.domain.time_phrases import parse_period
from bot.domain.volunteers import WEEKDAYS, SignupStatus, Skill
from bot.services import UnitOfWork, places, shifts
from bot.services.ports import Notifier
from bot.services.shifts import ShiftView
from handlers.common.callbacks import ConfirmCb, ShiftAction, ShiftCb
from handlers.common.confirm import ConfirmStep
from handlers.common.keyboards import Keyboard, button, confirm_keyboard, toggle_keyboard
from handlers.common.routing import RouteTable
from handlers.common.states import ShiftForm
from handlers.common.steps import save_then_clear
from handlers.common.volunteer_texts import DAY_NAMES, shift_text, skill_options

router = RouteTable("shifts")
CONFIRM = ConfirmStep("shift", ShiftForm.confirm)


# ---------------------------------------------------------------- workers: /newshift


@router.message(Command("newshift", "newtraining"))
async def new_shift(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    command: CommandObject,
) -> None:
    """/newtraining posts a training session (社会工作教育培训) through the same steps, without
    the skills, and announces nothing to volunteers."""
    await state.clear()
    communities = await places.covered_communities(uow, principal)
    if not communities:
        await message.answer(_("Sorry, you are not allowed to do that here."))
        return
    await state.set_state(ShiftForm.community)
    training = command.command.lower() == "newtraining"
    await state.update_data(kind=ShiftKind.TRAINING.value if training else ShiftKind.SERVICE.value)
    if training:
        question = _("Which community is the training for? Or /cancel.")
    else:
        question = _("Which community needs volunteers? Or /cancel.")
    builder = Keyboard()
    for community in communities[:30]:
        builder.row(
            button(
                community.label(principal.locale),
                ShiftCb(action=ShiftAction.COMMUNITY, id=community.id),
            )
        )
    await message.answer(question, reply_markup=builder.as_markup())


@router.callback_query(ShiftForm.community, ShiftCb.filter(F.action == ShiftAction.COMMUNITY))
async def shift_community(
    callback: CallbackQuery,
    callback_data: ShiftCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    community = await places.community(uow, community_id=callback_data.id)
    await state.update_data(
        community=community.id, community_name=community.label(principal.locale), skills=[]
    )
    await state.set_state(ShiftForm.title)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if await _is_training(state):
        await callback.message.edit_text(
            _("What is the training about? (a short title, e.g. 个案工作方法培训)")
        )
        return
    await callback.message.edit_text(_("What is the service? (a short title, e.g. 助餐送餐)"))


async def _is_training(state: FSMContext) -> bool:
    return (await state.get_data()).get("kind") == ShiftKind.TRAINING.value


@router.message(ShiftForm.title, F.text)
async def shift_title(message: Message, state: FSMContext) -> None:
    await state.update_data(title=(message.text or "")[:200])
    await state.set_state(ShiftForm.place)
    await message.answer(_("Where? (the meeting place)"))


@router.message(ShiftForm.place, F.text)
async def shift_place(message: Message, state: FSMContext) -> None:
    await state.update_data(place=(message.text or "")[:200], latitude=None, longitude=None)
    await state.set_state(ShiftForm.location)
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_("📍 Share my location"), request_location=True)],
            [KeyboardButton(text=_("No location: site code only"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await message.answer(
        _(
            "Send the location of the meeting place: volunteers check in within 300 m of it. "
            "(Use 📍 when you are there, or Telegram's attachment menu to pick a point.)"
        ),
        reply_markup=keyboard,
    )


@router.message(ShiftForm.location, F.location)
async def shift_location(message: Message, state: FSMContext) -> None:
    assert message.location is not None
    await state.update_data(
        latitude=message.location.latitude, longitude=message.location.longitude
    )
    await _ask_time(message, state)


@router.message(ShiftForm.location, F.text == __("No location: site code only"))
async def shift_without_location(message: Message, state: FSMContext) -> None:
    await _ask_time(message, state)


@router.message(ShiftForm.location)
async def shift_location_again(message: Message) -> None:
    await message.answer(_("Please share the location, or tap “No location: site code only”."))


async def _ask_time(message: Message, state: FSMContext) -> None:
    await state.set_state(ShiftForm.time)
    await message.answer(
        _(
            "When? For example: 明天上午9点到11点, 下周六下午2点到4点, tomorrow 9am to 11am, "
            "or 2026-12-05 09:00-11:30"
        ),
        reply_markup=ReplyKeyboardRemove(),
    )


def period_text(start: datetime, end: datetime, settings: Settings) -> str:
    """ "Tue 2026-12-08 09:00–11:00", in the deployment's time zone."""
    start, end = start.astimezone(settings.tz), end.astimezone(settings.tz)
    text = _("{weekday} {start}–{end}").format(
        weekday=str(DAY_NAMES[WEEKDAYS[start.weekday()]]),
        start=start.strftime("%Y-%m-%d %H:%M"),
        end=end.strftime("%H:%M"),
    )
    if end.date() != start.date():
        text += " " + _("(ends the next day)")
    return text


TIME_ERRORS = {
    "past": __("That time has already passed. Please give a time still to come."),
    "hours": __("The end must be after the start, and a shift lasts at most 24 hours."),
    "no_end": __("Please give a start and an end, e.g. 明天上午9点到11点."),
}


@router.message(ShiftForm.time, F.text)
@router.message(ShiftForm.time_check, F.text)
async def shift_time(message: Message, state: FSMContext, settings: Settings) -> None:
    try:
        period = parse_period(message.text or "", now=datetime.now(UTC), tz=settings.tz)
    except InvalidInput as error:
        reason = TIME_ERRORS.get(error.reason)
        await message.answer(
            (str(reason) + "\n" if reason else _("Sorry, I could not read that time.") + "\n")
            + _(
                "Write it like 明天上午9点到11点, 下周六下午2点半到4点, tomorrow 9am to 11am "
                "or 2026-12-05 09:00-11:30."
            )
        )
        return
    await state.update_data(
        starts_at=period.starts_at.isoformat(), ends_at=period.ends_at.isoformat()
    )
    await state.set_state(ShiftForm.time_check)
    await message.answer(
        _("I understood: {when}. Is that right? (Or type the time again.)").format(
            when=period_text(period.starts_at, period.ends_at, settings)
        ),
        reply_markup=confirm_keyboard("shift_time"),
    )


@router.callback_query(ShiftForm.time_check, ConfirmCb.filter(F.flow == "shift_time"))
async def shift_time_checked(
    callback: CallbackQuery, callback_data: ConfirmCb, state: FSMContext
) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if not callback_data.yes:
        await state.set_state(ShiftForm.time)
        await callback.message.edit_reply_markup(reply_markup=None)
        await callback.message.answer(_("Please type the time again."))
        return
    await callback.message.edit_reply_markup(reply_markup=None)
    await state.set_state(ShiftForm.capacity)
    await callback.message.answer(await _capacity_question(state))


async def _capacity_question(state: FSMContext) -> str:
    if await _is_training(state):
        return _("How many places does the training have?")
    return _("How many volunteers are needed?")


@router.message(ShiftForm.capacity, F.text)
async def shift_capacity(message: Message, state: FSMContext, settings: Settings) -> None:
    text = (message.text or "").strip()
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= shifts.MAX_CAPACITY):
        await message.answer(_("Please send a number from 1 to 500."))
        return
    await state.update_data(capacity=int(text))
    if await _is_training(state):  # no skills to ask for: straight to the check
        await CONFIRM.ask(message, state, await _check_text(state, settings))
        return
    await state.set_state(ShiftForm.skills)
    await message.answer(
        _("Which skills are wanted? Tap any, then Next (none: anyone can come)."),
        reply_markup=_skills_keyboard(set()),
    )


def _skills_keyboard(chosen: set[str]) -> InlineKeyboardMarkup:
    return toggle_keyboard(
        skill_options(),
        chosen,
        tap=lambda value: ShiftCb(action=ShiftAction.SKILL, value=value),
        done=ShiftCb(action=ShiftAction.NEXT),
    )


@router.callback_query(ShiftForm.skills, ShiftCb.filter(F.action == ShiftAction.SKILL))
async def shift_skill(callback: CallbackQuery, callback_data: ShiftCb, state: FSMContext) -> None:
    chosen = set((await state.get_data())["skills"]) ^ {callback_data.value}
    chosen &= set(Skill._value2member_map_)
    await state.update_data(skills=sorted(chosen))
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=_skills_keyboard(chosen))


@router.callback_query(ShiftForm.skills, ShiftCb.filter(F.action == ShiftAction.NEXT))
async def shift_confirm(callback: CallbackQuery, state: FSMContext, settings: Settings) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await CONFIRM.ask(callback.message, state, await _check_text(state, settings))


async def _check_text(state: FSMContext, settings: Settings) -> str:
    data = await state.get_data()
    start, end = datetime.fromisoformat(data["starts_at"]), datetime.fromisoformat(data["ends_at"])
    heading = _("<b>Please check</b>")
    if await _is_training(state):
        heading = _("<b>Please check the training session</b>")
    return "\n".join(
        [
            heading,
            html.escape(data["title"]),
            _("Where: {place} ({community})").format(
                place=html.escape(data["place"]), community=html.escape(data["community_name"])
            ),
            _("When: {when}").format(when=period_text(start, end, settings)),
            await _capacity_question(state) + f" {data['capacity']}",
        ]
    )


@router.callback_query(*CONFIRM.filters)
async def shift_save(
    callback: CallbackQuery,
    callback_data: ConfirmCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    settings: Settings,
) -> None:
    data = await state.get_data()
    if not await CONFIRM.confirmed(callback, callback_data, state):
        return
    if not isinstance(callback.message, Message):
        return
    view = await save_then_clear(state, _create(uow, principal, data))
    if view_is_training(data):
        await callback.message.edit_text(
            _(
                "The training session is open; people sign up with /training and check in "
                "with /checkin as at a shift. Show the site code with /sitecode."
            )
            + "\n\n"
            + shift_text(view, settings, principal.locale)
        )
        return
    await callback.message.edit_text(
        _("The shift is open; volunteers find it with /shifts.")
        + "\n\n"
        + shift_text(view, settings, principal.locale)
    )
    told = await shifts.announce(uow, notifier, shift_id=view.id, tz=settings.tz)
    await callback.message.answer(
        _("{count} volunteers whom it fits were told about it.").format(count=told)
    )


def _create(uow: UnitOfWork, principal: Principal, data: dict[str, Any]) -> Awaitable[ShiftView]:
    """The service call that saves the shift form."""
    return shifts.create_shift(
        uow,
        principal,
        community_id=data["community"],
        title=data["title"],
        place=data["place"],
        starts_at=datetime.fromisoformat(data["starts_at"]),
        ends_at=datetime.fromisoformat(data["ends_at"]),
        capacity=data["capacity"],
        skills=[Skill(s) for s in data["skills"]],
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        project_id=data.get("project"),
        kind=ShiftKind(data.get("kind", ShiftKind.SERVICE.value)),
    )


def view_is_training(data: dict[str, object]) -> bool:
    return data.get("kind") == ShiftKind.TRAINING.value


# ---------------------------------------------------------------- volunteers


@router.message(Command("shifts"))
async def list_shifts(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    await state.clear()
    await _send_page(message, principal, uow, settings, 0)


@router.callback_query(ShiftCb.filter(F.action == ShiftAction.PAGE))
async def shifts_page(
    callback: CallbackQuery,
    callback_data: ShiftCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _send_page(callback.message, principal, uow, settings, callback_data.id)


async def _send_page(
    message: Message, principal: Principal, uow: UnitOfWork, settings: Settings, page: int
) -> None:
    listing = await shifts.open_shifts(uow, principal, page=page, tz=settings.tz)
    if not listing.items:
        await message.answer(_("No upcoming shifts in your communities right now."))
        return
    for view in listing.items:
        keyboard = None
        if view.my_status is None:
            label = _("Sign up") if view.confirmed < view.capacity else _("Join the wait list")
            keyboard = InlineKeyboardMarkup(
                inline_keyboard=[[button(label, ShiftCb(action=ShiftAction.JOIN, id=view.id))]]
            )
        await message.answer(shift_text(view, settings, principal.locale), reply_markup=keyboard)
    if listing.has_next:
        await message.answer(
            _("More shifts:"),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[button("›", ShiftCb(action=ShiftAction.PAGE, id=page + 1))]]
            ),
        )


@router.callback_query(ShiftCb.filter(F.action == ShiftAction.JOIN))
async def join(
    callback: CallbackQuery,
    callback_data: ShiftCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    view = await shifts.sign_up(uow, principal, shift_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(shift_text(view, settings, principal.locale))


@router.message(Command("myshifts"))
async def my_shifts(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    await state.clear()
    views = await shifts.my_shifts(uow, principal)
    if not views:
        await message.answer(_("You have no upcoming shifts. Find one with /shifts."))
        return
    for view in views:
        keyboard = None
        if view.can_cancel or view.my_status is SignupStatus.WAITLISTED:
            keyboard = InlineKeyboardMarkup(
                inline_keyboard=[
                    [button(_("Cancel my place"), ShiftCb(action=ShiftAction.CANCEL, id=view.id))]
                ]
            )
        await message.answer(shift_text(view, settings, principal.locale), reply_markup=keyboard)


@router.callback_query(ShiftCb.filter(F.action == ShiftAction.CANCEL))
async def cancel_place(
    callback: CallbackQuery,
    callback_data: ShiftCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    settings: Settings,
) -> None:
    view = await shifts.cancel(uow, notifier, principal, shift_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("Your place is cancelled.") + "\n\n" + shift_text(view, settings, principal.locale)
        )
