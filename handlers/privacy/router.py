"""The person's rights in chat: /privacy (what was consented to, withdraw), /mydata (a copy of
everything), /deleteme (erasure); for workers /guardian (a child's guardian consents), for
district admins /accesslog. The consent notice before /volunteer is rendered here too."""

from __future__ import annotations

import html
import json
from typing import Any

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.principal import Principal
from bot.domain.privacy import Access, Purpose
from bot.services import UnitOfWork, access_log, privacy
from bot.services.ports import Notifier
from handlers.common.callbacks import PrivacyAction, PrivacyCb
from handlers.common.keyboards import Keyboard, button
from handlers.common.routing import RouteTable
from handlers.common.texts import local_time
from handlers.privacy.states import GuardianForm

router = RouteTable("privacy")

PURPOSE_NAMES = {
    Purpose.VOLUNTEER: __("Volunteer registration (name, phone, skills, times)"),
    Purpose.ID_NUMBER: __("Your resident ID number (sensitive information)"),
    Purpose.GUARDIAN: __("A guardian's consent, recorded by a community worker"),
}
ACCESS_NAMES = {
    Access.ID_UNMASKED: __("ID number read in clear"),
    Access.EXPORT: __("personal data exported"),
    Access.ON_BEHALF: __("acted on someone's behalf"),
}
SECTION_NAMES = {
    "profile": __("Profile"),
    "accounts": __("Chat accounts"),
    "roles": __("Roles"),
    "consents": __("Consents"),
    "volunteer": __("Volunteer registration"),
    "volunteer_communities": __("Communities you serve in"),
    "requests": __("Your requests"),
    "requests_supported": __("Requests you support (“me too”)"),
    "request_feedback": __("Your feedback on requests"),
    "survey_responses": __("Survey responses"),
    "survey_answers": __("Survey answers"),
    "shift_signups": __("Shift sign-ups"),
    "service_records": __("Service records"),
    "record_corrections": __("Corrections you asked for"),
    "time_bank": __("Time bank entries (minutes)"),
    "time_transfers": __("Time bank gifts and exchanges"),
    "points": __("Points"),
    "redemptions": __("Rewards redeemed"),
    "certificates": __("Certificates"),
    "votes": __("Votes (named votes only; anonymous ballots carry no name)"),
    "opinions": __("Opinions in consultations"),
    "consultations": __("Consultations you took part in"),
    "consultation_seats": __("Seats in consultations"),
    "broadcast_settings": __("Broadcast settings"),
    "audit": __("Audit log entries about you or by you"),
    "access_log": __("Access log entries about you"),
}


# ---------------------------------------------------------------- the consent notice


# ---------------------------------------------------------------- /privacy


def overview_text(view: privacy.ConsentOverview, settings: Settings) -> str:
    lines = [_("<b>Your consents</b>")]
    if not view.items:
        lines.append(_("You have not given any consent yet."))
    for item in view.items:
        line = _("• {purpose}: version {version}, given {given}").format(
            purpose=PURPOSE_NAMES[item.purpose],
            version=item.version,
            given=local_time(item.given_at, settings.tz),
        )
        if item.guardian:
            line += " " + _("(guardian: {guardian})").format(guardian=html.escape(item.guardian))
        if item.withdrawn_at is not None:
            line += " — " + _("withdrawn {when}").format(
                when=local_time(item.withdrawn_at, settings.tz)
            )
        lines.append(line)
    lines.append("")
    lines.append(
        _(
            "/mydata sends you a copy of everything stored about you; /deleteme erases your "
            "data. Withdrawing stops your volunteer registration: no more shifts or requests "
            "are offered to you, and your community's workers are told."
        )
    )
    return "\n".join(lines)


@router.message(Command("privacy"), StateFilter("*"))
async def show_privacy(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    await state.clear()
    view = await privacy.overview(uow, principal)
    keyboard = None
    if view.active:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("Withdraw my consent"), PrivacyCb(action=PrivacyAction.WITHDRAW))]
            ]
        )
    await message.answer(overview_text(view, settings), reply_markup=keyboard)


@router.callback_query(PrivacyCb.filter(F.action == PrivacyAction.WITHDRAW))
async def ask_withdraw(callback: CallbackQuery) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _(
                "Withdraw every consent? Your volunteer registration stops at once (the records "
                "already made stay). You can register again later with /volunteer."
            ),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        button(_("Yes, withdraw"), PrivacyCb(action=PrivacyAction.WITHDRAW_YES)),
                        button(_("No, keep it"), PrivacyCb(action=PrivacyAction.KEEP)),
                    ]
                ]
            ),
        )


@router.callback_query(PrivacyCb.filter(F.action == PrivacyAction.KEEP))
async def keep(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(_("Nothing was changed."))


@router.callback_query(PrivacyCb.filter(F.action == PrivacyAction.WITHDRAW_YES))
async def withdraw(
    callback: CallbackQuery, principal: Principal, uow: UnitOfWork, notifier: Notifier
) -> None:
    result = await privacy.withdraw(uow, notifier, principal)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    text = _("Your consent is withdrawn.")
    if result.volunteer_stopped:
        text += " " + _(
            "Your volunteer registration is stopped and your community's workers have been told."
        )
    await callback.message.edit_text(text)


# ---------------------------------------------------------------- /mydata


def _plain(value: object) -> str:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def summary_text(data: privacy.PersonalData, settings: Settings) -> str:
    lines = [
        _("Everything stored about you (person number {number}), as of {when}.").format(
            number=data.person_id, when=local_time(data.exported_at, settings.tz)
        ),
        _("The file mydata.json holds the same data in full, for computers."),
        "",
    ]
    for name, rows in data.sections.items():
        title = str(SECTION_NAMES.get(name, name))
        lines.append(f"== {title} ({len(rows)}) ==")
        for row in rows:
            fields = "; ".join(
                f"{key}: {_plain(value)}"
                for key, value in row.items()
                if value not in (None, "", [], {})
            )
            lines.append(f"- {fields}")
        lines.append("")
    return "\n".join(lines)


@router.message(Command("mydata"), StateFilter("*"))
async def send_my_data(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    await state.clear()
    data = await privacy.export(uow, principal)
    await message.answer(
        _("Here is everything stored about you: a readable summary and the full data (JSON).")
    )
    await message.answer_document(
        BufferedInputFile(summary_text(data, settings).encode("utf-8"), filename="mydata.txt")
    )
    await message.answer_document(
        BufferedInputFile(data.to_json().encode("utf-8"), filename="mydata.json")
    )


# ---------------------------------------------------------------- /deleteme


@router.message(Command("deleteme"), StateFilter("*"))
async def ask_erase(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(
        _(
            "<b>Erase your data?</b>\n\n"
            "Erased: your name, phone number, ID number, skills and times, your chat accounts "
            "and roles, the photos and locations of your requests.\n"
            "Kept, as the rules require, without your name: service records and time-bank "
            "entries (under your volunteer number only), the texts of your requests, and the "
            "audit log.\n\n"
            "This cannot be undone. After it, this chat starts afresh."
        ),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(_("Yes, erase my data"), PrivacyCb(action=PrivacyAction.ERASE_YES)),
                    button(_("No, keep it"), PrivacyCb(action=PrivacyAction.KEEP)),
                ]
            ]
        ),
    )


@router.callback_query(PrivacyCb.filter(F.action == PrivacyAction.ERASE_YES))
async def erase(
    callback: CallbackQuery,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
) -> None:
    result = await privacy.erase(uow, notifier, principal)
    await state.clear()
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    text = _("Your data is erased.")
    if result.volunteer_number:
        text += " " + _(
            "{records} service record(s) and {entries} time-bank entry(ies) stay under the "
            "volunteer number {number} only."
        ).format(
            records=result.service_records_kept,
            entries=result.ledger_entries_kept,
            number=result.volunteer_number,
        )
    text += "\n" + _("Goodbye. Send /start if you want to begin again.")
    await callback.message.edit_text(text)


# ---------------------------------------------------------------- /guardian (workers)


@router.message(Command("guardian"), StateFilter("*"))
async def guardian_list(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    waiting = await privacy.minors_waiting(uow, principal)
    if not waiting:
        await message.answer(_("No registration of a child under 14 is waiting for a guardian."))
        return
    builder = Keyboard()
    for view in waiting:
        builder.row(
            button(
                f"{view.real_name} · {view.masked_id}",
                PrivacyCb(action=PrivacyAction.GUARDIAN, id=view.volunteer_id),
            )
        )
    await message.answer(
        _(
            "Children under 14 waiting for a guardian's consent: {count}. Record it only after "
            "meeting the parent or guardian in person."
        ).format(count=len(waiting)),
        reply_markup=builder.as_markup(),
    )


@router.callback_query(PrivacyCb.filter(F.action == PrivacyAction.GUARDIAN))
async def guardian_pick(
    callback: CallbackQuery, callback_data: PrivacyCb, state: FSMContext
) -> None:
    await state.set_state(GuardianForm.guardian)
    await state.update_data(volunteer_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("The guardian's name and relation to the child (e.g. 王丽 母亲)? Or /cancel.")
        )


@router.message(GuardianForm.guardian, F.text)
async def guardian_record(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    **_data: Any,
) -> None:
    volunteer_id = int((await state.get_data())["volunteer_id"])
    view = await privacy.record_guardian_consent(
        uow, notifier, principal, volunteer_id=volunteer_id, guardian=message.text or ""
    )
    await state.clear()
    await message.answer(
        _("Recorded: the guardian consents for {name}. You can verify them in /volunteers.").format(
            name=html.escape(view.real_name)
        )
    )


# ---------------------------------------------------------------- /accesslog (district admins)


def access_text(view: access_log.AccessPage, settings: Settings) -> str:
    lines = [
        _("<b>Access log</b> (page {page} of {pages}, {total} entries)").format(
            page=view.page + 1, pages=view.pages, total=view.total
        )
    ]
    if not view.items:
        lines.append(_("Nothing recorded."))
    for item in view.items:
        actor = html.escape(item.actor_name or "—") if item.actor_id else _("the system")
        subject = html.escape(item.subject_name or "—") if item.subject_id else "—"
        lines.append(
            _(
                "{when} · {kind} · by {actor} (#{actor_id}) · about {subject} (#{subject_id})"
            ).format(
                when=local_time(item.at, settings.tz),
                kind=ACCESS_NAMES[item.kind],
                actor=actor,
                actor_id=item.actor_id or "—",
                subject=subject,
                subject_id=item.subject_id or "—",
            )
            + "\n    "
            + _("why: {reason}").format(reason=html.escape(item.reason))
        )
    return "\n".join(lines)


def _access_keyboard(view: access_log.AccessPage) -> InlineKeyboardMarkup | None:
    row = []
    if view.page > 0:
        row.append(button(_("« Newer"), PrivacyCb(action=PrivacyAction.LOG, id=view.page - 1)))
    if view.page + 1 < view.pages:
        row.append(button(_("Older »"), PrivacyCb(action=PrivacyAction.LOG, id=view.page + 1)))
    return InlineKeyboardMarkup(inline_keyboard=[row]) if row else None


@router.message(Command("accesslog"), StateFilter("*"))
async def show_access_log(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    await state.clear()
    view = await access_log.page(uow, principal)
    await message.answer(access_text(view, settings), reply_markup=_access_keyboard(view))


@router.callback_query(PrivacyCb.filter(F.action == PrivacyAction.LOG))
async def access_log_page(
    callback: CallbackQuery,
    callback_data: PrivacyCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    view = await access_log.page(uow, principal, page=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            access_text(view, settings), reply_markup=_access_keyboard(view)
        )
