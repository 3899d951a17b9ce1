"""Check-in and check-out (/checkin, /checkout, the `ci_` QR deep link), the organiser's site
code (/sitecode) and confirmation of records (/records: confirm, adjust, corrections)."""

from __future__ import annotations

import html
from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
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
from bot.domain.attendance import looks_like_code
from bot.domain.enums import Channel
from bot.domain.errors import DomainError
from bot.domain.principal import Principal
from bot.domain.timebank import hours_text
from bot.services import UnitOfWork, attendance
from bot.services.attendance import Checked, TooFar
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import Notifier
from handlers.attendance.callbacks import AttendanceAction, AttendanceCb
from handlers.attendance.states import CheckForm, CorrectionDecision, RecordAdjust
from handlers.common.deeplinks import deep_link, qr_image, start_link
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.steps import HoursThenReason, ask, save_then_clear
from handlers.common.texts import error_text, local_time
from handlers.common.volunteer_texts import record_text

router = RouteTable("attendance")
# An organiser's adjustment of a record: the hours that count, then why (the volunteer sees it).
ADJUST = HoursThenReason(
    RecordAdjust.minutes,
    RecordAdjust.reason,
    __("Why? (the volunteer sees the reason; it is kept in the audit log)"),
)


def _checked_text(done: Checked, settings: Settings) -> str:
    view = done.record
    if not done.checked_out:
        return _(
            "✅ Checked in to “{title}” at {time}. Check out with /checkout when you leave."
        ).format(title=html.escape(view.content), time=local_time(view.checked_in_at, settings.tz))
    if done.training:
        return _(
            "✅ Checked out of the training “{title}”: {hours} training hours, counted in "
            "/mytraining."
        ).format(title=html.escape(view.content), hours=hours_text(view.minutes))
    return _(
        "✅ Checked out of “{title}”: {hours} hours. The organiser confirms them; "
        "you will be told, and /hours shows them."
    ).format(title=html.escape(view.content), hours=hours_text(view.minutes))


def check_error_text(error: DomainError) -> str:
    if isinstance(error, TooFar):
        return _(
            "You are {distance} from the meeting place; check-in works within {radius} m. "
            "Please go there, or type the site code the organiser shows."
        ).format(distance=_distance(error.distance_m), radius=error.radius_m)
    return error_text(error)


def _distance(metres: float) -> str:
    if metres >= 1000:
        return _("{km} km").format(km=f"{metres / 1000:.1f}")
    return _("{m} m").format(m=round(metres))


# ---------------------------------------------------------------- volunteers


@router.message(Command("checkin"))
async def check_in(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await _ask_where(message, state, principal, uow, check_out=False)


@router.message(Command("checkout"))
async def check_out(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await _ask_where(message, state, principal, uow, check_out=True)


async def _ask_where(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, *, check_out: bool
) -> None:
    await state.clear()
    shift_id, title, checked_in = await attendance.current_shift(uow, principal)
    if checked_in and not check_out:
        await message.answer(
            _("You are already checked in to “{title}”. Use /checkout when you leave.").format(
                title=html.escape(title)
            )
        )
        return
    if check_out and not checked_in:
        await message.answer(
            _("You are not checked in to “{title}” yet: use /checkin first.").format(
                title=html.escape(title)
            )
        )
        return
    await state.set_state(CheckForm.waiting)
    await state.update_data(shift=shift_id, out=check_out)
    prompt = (
        _("Checking out of “{title}”.") if check_out else _("Checking in to “{title}”.")
    ).format(title=html.escape(title))
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📍 Share my location"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await message.answer(
        prompt
        + "\n"
        + _("Share your location at the place, or type the site code the organiser shows. /cancel"),
        reply_markup=keyboard,
    )


@router.message(CheckForm.waiting, F.location)
async def checked_by_location(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    data = await state.get_data()
    assert message.location is not None
    try:
        done = await attendance.check_by_location(
            uow,
            principal,
            shift_id=data["shift"],
            latitude=message.location.latitude,
            longitude=message.location.longitude,
            check_out=data["out"],
        )
    except DomainError as error:
        await message.answer(check_error_text(error))  # stay: they may move, or type the code
        return
    await state.clear()
    await message.answer(_checked_text(done, settings), reply_markup=ReplyKeyboardRemove())


@router.message(CheckForm.waiting, F.text)
async def checked_by_typed_code(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    cipher: PersonalDataCipher,
) -> None:
    text = message.text or ""
    if not looks_like_code(text):
        await message.answer(
            _("Please share your location, or type the 6-character site code. /cancel")
        )
        return
    data = await state.get_data()
    try:
        done = await attendance.check_by_code(
            uow, cipher, principal, shift_id=data["shift"], code=text, check_out=data["out"]
        )
    except DomainError as error:
        await message.answer(check_error_text(error))
        return
    await state.clear()
    await message.answer(_checked_text(done, settings), reply_markup=ReplyKeyboardRemove())


@deep_link("ci_")
async def checked_by_qr(message: Message, rest: str, data: dict[str, Any]) -> None:
    """`/start ci_<shift>_<code>`: in if not yet checked in, otherwise out."""
    shift, _sep, code = rest.partition("_")
    if not shift.isdigit() or not code:
        await message.answer(_("This link is not valid or has expired."))
        return
    try:
        done = await attendance.check_by_code(
            data["uow"],
            data["cipher"],
            data["principal"],
            shift_id=int(shift),
            code=code,
            check_out=None,
        )
    except DomainError as error:
        await message.answer(check_error_text(error))
        return
    await message.answer(_checked_text(done, data["settings"]))


# ---------------------------------------------------------------- organisers: site codes


@router.message(Command("sitecode"))
async def site_codes(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    await state.clear()
    rows = await attendance.running_shifts(uow, principal)
    if not rows:
        await message.answer(_("No shift of yours starts within a day or is running now."))
        return
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    f"{local_time(start, settings.tz)} {title}"[:60],
                    AttendanceCb(action=AttendanceAction.CODE, id=shift_id),
                )
            ]
            for shift_id, title, start in rows
        ]
    )
    await message.answer(
        _("Which shift? The code is for volunteers at the place."), reply_markup=keyboard
    )


@router.callback_query(AttendanceCb.filter(F.action == AttendanceAction.CODE))
async def show_site_code(
    callback: CallbackQuery,
    callback_data: AttendanceCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    cipher: PersonalDataCipher,
    bot: Bot,
    channel: Channel,
) -> None:
    code = await attendance.site_code_for(uow, cipher, principal, shift_id=callback_data.id)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    link = await start_link(bot, channel, settings, code.payload)
    caption = _(
        "Site code for “{title}”: <b>{code}</b>\nValid until {until}. Volunteers type it after "
        "/checkin or /checkout, or scan the QR code. Tap below for a new one."
    ).format(
        title=html.escape(code.title),
        code=code.code,
        until=code.valid_until.astimezone(settings.tz).strftime("%H:%M"),
    )
    refresh = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("New code"), AttendanceCb(action=AttendanceAction.CODE, id=code.shift_id))]
        ]
    )
    await callback.message.answer_photo(
        BufferedInputFile(await qr_image(bot, link), filename="site-code.png"),
        caption=caption,
        reply_markup=refresh,
    )


# ---------------------------------------------------------------- organisers: records


@router.message(Command("records"))
async def records(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    await state.clear()
    await _records_page(message, principal, uow, settings, 0)
    for correction in await attendance.pending_corrections(uow, principal):
        text = (
            record_text(correction.record, settings, for_organiser=True)
            + "\n"
            + _("Asks for {hours} hours instead: {reason}").format(
                hours=hours_text(correction.minutes), reason=html.escape(correction.reason)
            )
        )
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(
                        _("Approve"), AttendanceCb(action=AttendanceAction.FIX_OK, id=correction.id)
                    ),
                    button(
                        _("Reject"), AttendanceCb(action=AttendanceAction.FIX_NO, id=correction.id)
                    ),
                ]
            ]
        )
        await message.answer(text, reply_markup=keyboard)


@router.callback_query(AttendanceCb.filter(F.action == AttendanceAction.REC_PAGE))
async def records_page(
    callback: CallbackQuery,
    callback_data: AttendanceCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _records_page(callback.message, principal, uow, settings, callback_data.id)


async def _records_page(
    message: Message, principal: Principal, uow: UnitOfWork, settings: Settings, page: int
) -> None:
    listing = await attendance.awaiting(uow, principal, page=page)
    if not listing.items and page == 0:
        await message.answer(_("No service records are waiting for confirmation."))
        return
    for view in listing.items:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(_("Confirm"), AttendanceCb(action=AttendanceAction.OK, id=view.id)),
                    button(
                        _("Adjust hours"), AttendanceCb(action=AttendanceAction.ADJUST, id=view.id)
                    ),
                ]
            ]
        )
        await message.answer(record_text(view, settings, for_organiser=True), reply_markup=keyboard)
    if listing.has_next:
        await message.answer(
            _("More records:"),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [button("›", AttendanceCb(action=AttendanceAction.REC_PAGE, id=page + 1))]
                ]
            ),
        )


@router.callback_query(AttendanceCb.filter(F.action == AttendanceAction.OK))
async def confirm_record(
    callback: CallbackQuery,
    callback_data: AttendanceCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    settings: Settings,
) -> None:
    view = await attendance.confirm(
        uow,
        notifier,
        principal,
        record_id=callback_data.id,
        points_per_hour=settings.points_per_hour,
    )
    await callback.answer(_("Confirmed."))
    if isinstance(callback.message, Message):
        await callback.message.edit_text(record_text(view, settings, for_organiser=True))


@router.callback_query(AttendanceCb.filter(F.action == AttendanceAction.ADJUST))
async def adjust_record(
    callback: CallbackQuery, callback_data: AttendanceCb, state: FSMContext
) -> None:
    await ADJUST.start(
        callback,
        state,
        _("How many hours should count? (e.g. 2.5 or 2:30; 0 if they did not serve) /cancel"),
        record=callback_data.id,
    )


@router.message(RecordAdjust.minutes, F.text)
async def adjust_minutes(message: Message, state: FSMContext) -> None:
    await ADJUST.hours_typed(message, state)


@router.message(RecordAdjust.reason, F.text)
async def adjust_reason(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    settings: Settings,
) -> None:
    answer = await ADJUST.answer(message, state)
    view = await save_then_clear(
        state,
        attendance.confirm(
            uow,
            notifier,
            principal,
            record_id=answer.data["record"],
            minutes=answer.minutes,
            reason=answer.reason,
            points_per_hour=settings.points_per_hour,
        ),
    )
    await message.answer(_("Confirmed.") + "\n\n" + record_text(view, settings, for_organiser=True))


@router.callback_query(AttendanceCb.filter(F.action == AttendanceAction.FIX_OK))
async def approve_correction(
    callback: CallbackQuery,
    callback_data: AttendanceCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    settings: Settings,
) -> None:
    view = await attendance.decide_correction(
        uow,
        notifier,
        principal,
        correction_id=callback_data.id,
        approve=True,
        points_per_hour=settings.points_per_hour,
    )
    await callback.answer(_("Approved."))
    if isinstance(callback.message, Message):
        await callback.message.edit_text(record_text(view, settings, for_organiser=True))


@router.callback_query(AttendanceCb.filter(F.action == AttendanceAction.FIX_NO))
async def reject_correction(
    callback: CallbackQuery, callback_data: AttendanceCb, state: FSMContext
) -> None:
    await ask(
        callback,
        state,
        CorrectionDecision.note,
        _("Why is it rejected? (the volunteer sees this) /cancel"),
        correction=callback_data.id,
    )


@router.message(CorrectionDecision.note, F.text)
async def rejection_note(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    settings: Settings,
) -> None:
    data = await state.get_data()
    view = await attendance.decide_correction(
        uow,
        notifier,
        principal,
        correction_id=data["correction"],
        approve=False,
        note=message.text or "",
        points_per_hour=settings.points_per_hour,
    )
    await state.clear()
    await message.answer(_("Rejected.") + "\n\n" + record_text(view, settings, for_organiser=True))
