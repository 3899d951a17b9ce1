"""The social-work talent pipeline (policy 三.(五)) in chat: /training (sessions to sign up for;
posting is /newtraining, the shift form), /mytraining (hours this year, certificates and the
community's 社工证 share), /swcert (record a certificate) and /swcerts (a worker verifies)."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.errors import Conflict
from bot.domain.principal import Principal
from bot.domain.social_work import CertificateLevel, CertificateState
from bot.domain.timebank import hours_text
from bot.domain.volunteers import SignupStatus
from bot.services import UnitOfWork, social_work, training
from bot.services.ports import Notifier
from bot.services.shifts import ShiftView
from bot.services.social_work import CertificateView
from handlers.common.callbacks import SocialWorkAction, SocialWorkCb
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.steps import save_then_clear
from handlers.common.texts import error_text, local_time
from handlers.training.states import CertificateForm, CertificateRejection

router = RouteTable("training")

CERTIFICATE_NAMES = {
    CertificateLevel.ASSISTANT: __("Assistant Social Worker (助理社会工作师)"),
    CertificateLevel.SOCIAL_WORKER: __("Social Worker (社会工作师)"),
    CertificateLevel.SENIOR: __("Senior Social Worker (高级社会工作师)"),
}
CERTIFICATE_STATES = {
    CertificateState.PENDING: __("waiting for a worker to verify it"),
    CertificateState.VERIFIED: __("verified"),
    CertificateState.REJECTED: __("not verified"),
}


def session_text(view: ShiftView, settings: Settings, locale: str) -> str:
    end = view.ends_at.astimezone(settings.tz).strftime("%H:%M")
    lines = [
        _("📚 Training: <b>{title}</b>").format(title=html.escape(view.title)),
        _("When: {start}–{end}").format(start=local_time(view.starts_at, settings.tz), end=end),
        _("Where: {place} ({community})").format(
            place=html.escape(view.place), community=html.escape(view.community.label(locale))
        ),
        _("Places: {taken}/{capacity} taken, {waiting} on the wait list").format(
            taken=view.confirmed, capacity=view.capacity, waiting=view.waitlisted
        ),
    ]
    if view.my_status is SignupStatus.CONFIRMED:
        lines.append(_("✅ You are signed up. Check in with /checkin when it starts."))
    elif view.my_status is SignupStatus.WAITLISTED:
        lines.append(_("⏳ You are on the wait list; you will be told if a place comes free."))
    return "\n".join(lines)


def certificate_text(view: CertificateView, locale: str, *, for_worker: bool = False) -> str:
    line = _("{level}, exam year {year}: {state}").format(
        level=CERTIFICATE_NAMES[view.level],
        year=view.exam_year,
        state=CERTIFICATE_STATES[view.state],
    )
    if for_worker:
        line = _("{name} ({community}): {certificate}").format(
            name=html.escape(view.holder),
            community=html.escape(view.community.label(locale)),
            certificate=line,
        )
        if view.number:
            line += "\n" + _("Certificate number: {number}").format(number=html.escape(view.number))
    if view.rejection_reason:
        line += "\n" + _("Reason: {reason}").format(reason=html.escape(view.rejection_reason))
    return line


# ---------------------------------------------------------------- sessions


@router.message(Command("training"))
async def list_sessions(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    await state.clear()
    views = await training.upcoming(uow, principal)
    if not views:
        await message.answer(
            _(
                "No training sessions are coming up in your communities. Workers post them "
                "with /newtraining."
            )
        )
        return
    for view in views:
        keyboard = None
        if view.my_status is None:
            label = _("Sign up") if view.confirmed < view.capacity else _("Join the wait list")
            keyboard = InlineKeyboardMarkup(
                inline_keyboard=[
                    [button(label, SocialWorkCb(action=SocialWorkAction.JOIN, id=view.id))]
                ]
            )
        await message.answer(session_text(view, settings, principal.locale), reply_markup=keyboard)


@router.callback_query(SocialWorkCb.filter(F.action == SocialWorkAction.JOIN))
async def join_session(
    callback: CallbackQuery,
    callback_data: SocialWorkCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    view = await training.sign_up(uow, principal, shift_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(session_text(view, settings, principal.locale))


@router.message(Command("mytraining"))
async def my_training(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    await state.clear()
    found = await training.progress(
        uow, principal, tz=settings.tz, target_share=settings.targets.certified_share
    )
    lines = [
        _("<b>Social-work training and certificates</b>"),
        _("Training hours in {year}: {hours}").format(
            year=found.year, hours=hours_text(found.training_minutes)
        ),
    ]
    if found.certificates:
        lines += [certificate_text(c, principal.locale) for c in found.certificates]
    else:
        lines.append(_("No social-work certificate recorded. Record yours with /swcert."))
    if found.community is not None and found.workers:
        lines.append(
            _(
                "{community}: {certified} of {workers} community workers hold the certificate "
                "(target {share:.0f}%); {needed} more needed."
            ).format(
                community=html.escape(found.community.label(principal.locale)),
                certified=found.certified,
                workers=found.workers,
                share=settings.targets.certified_share * 100,
                needed=found.needed,
            )
        )
    await message.answer("\n".join(lines))


# ---------------------------------------------------------------- certificates: record


@router.message(Command("swcert"))
async def start_certificate(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(CertificateForm.level)
    rows = [
        [button(str(name), SocialWorkCb(action=SocialWorkAction.LEVEL, value=level.value))]
        for level, name in CERTIFICATE_NAMES.items()
    ]
    await message.answer(
        _("Which social-work qualification do you hold? Or /cancel."),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


@router.callback_query(
    CertificateForm.level, SocialWorkCb.filter(F.action == SocialWorkAction.LEVEL)
)
async def certificate_level(
    callback: CallbackQuery, callback_data: SocialWorkCb, state: FSMContext
) -> None:
    await callback.answer()
    if callback_data.value not in CertificateLevel._value2member_map_:
        return
    await state.update_data(level=callback_data.value)
    await state.set_state(CertificateForm.exam_year)
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("{level}: in which year did you pass the exam? (e.g. 2021)").format(
                level=CERTIFICATE_NAMES[CertificateLevel(callback_data.value)]
            )
        )


@router.message(CertificateForm.level, ~F.text.startswith("/"))
async def certificate_level_again(message: Message) -> None:
    await message.answer(_("Please tap one of the three qualifications above, or /cancel."))


@router.message(CertificateForm.exam_year, F.text, ~F.text.startswith("/"))
async def certificate_year(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip()
    this_year = datetime.now(UTC).year
    if not (text.isascii() and text.isdigit() and 2008 <= int(text) <= this_year):
        await message.answer(
            _("Please send the year as four digits, from 2008 to {year}.").format(year=this_year)
        )
        return
    await state.update_data(exam_year=int(text))
    await state.set_state(CertificateForm.number)
    await message.answer(
        _("The certificate's number, if you want a worker to check it (or tap Skip)."),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[button(_("Skip"), SocialWorkCb(action=SocialWorkAction.SKIP))]]
        ),
    )


@router.message(CertificateForm.number, F.text, ~F.text.startswith("/"))
async def certificate_number(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await _save_certificate(message, state, principal, uow, message.text or "")


@router.callback_query(
    CertificateForm.number, SocialWorkCb.filter(F.action == SocialWorkAction.SKIP)
)
async def certificate_without_number(
    callback: CallbackQuery, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await _save_certificate(callback.message, state, principal, uow, "")


async def _save_certificate(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, number: str
) -> None:
    data = await state.get_data()
    try:
        view = await save_then_clear(
            state,
            social_work.record_certificate(
                uow,
                principal,
                level=CertificateLevel(data["level"]),
                exam_year=int(data["exam_year"]),
                number=number,
            ),
        )
    except Conflict as error:  # already recorded: nothing to try again
        await state.clear()
        await message.answer(error_text(error))
        return
    await message.answer(
        _(
            "Recorded: {certificate}. A worker of your community will verify it; see /mytraining."
        ).format(certificate=certificate_text(view, principal.locale))
    )


# ---------------------------------------------------------------- certificates: verify


@router.message(Command("swcerts"))
async def pending_certificates(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    views = await social_work.pending_certificates(uow, principal)
    if not views:
        await message.answer(_("No social-work certificates are waiting for verification."))
        return
    for view in views:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(
                        _("✅ Verified"), SocialWorkCb(action=SocialWorkAction.VERIFY, id=view.id)
                    ),
                    button(
                        _("❌ Not verified"),
                        SocialWorkCb(action=SocialWorkAction.REJECT, id=view.id),
                    ),
                ]
            ]
        )
        await message.answer(
            certificate_text(view, principal.locale, for_worker=True), reply_markup=keyboard
        )


@router.callback_query(SocialWorkCb.filter(F.action == SocialWorkAction.VERIFY))
async def verify_certificate(
    callback: CallbackQuery,
    callback_data: SocialWorkCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
) -> None:
    view = await social_work.decide_certificate(
        uow, notifier, principal, certificate_id=callback_data.id, approve=True
    )
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(certificate_text(view, principal.locale, for_worker=True))


@router.callback_query(SocialWorkCb.filter(F.action == SocialWorkAction.REJECT))
async def reject_certificate(
    callback: CallbackQuery, callback_data: SocialWorkCb, state: FSMContext
) -> None:
    await state.set_state(CertificateRejection.reason)
    await state.update_data(certificate=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("Why can it not be verified? The holder is told. (Or /cancel.)")
        )


@router.message(CertificateRejection.reason, F.text, ~F.text.startswith("/"))
async def rejection_reason(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
) -> None:
    data = await state.get_data()
    view = await save_then_clear(
        state,
        social_work.decide_certificate(
            uow,
            notifier,
            principal,
            certificate_id=int(data["certificate"]),
            approve=False,
            reason=message.text or "",
        ),
    )
    await message.answer(certificate_text(view, principal.locale, for_worker=True))
