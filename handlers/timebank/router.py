"""The volunteer's side of the records: /hours (totals, time-bank ledger, points), their
service records with correction requests, /certificate, and /verify for anyone."""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta
from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.types import InlineKeyboardMarkup as Markup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.attendance import RecordStatus
from bot.domain.enums import Channel
from bot.domain.errors import NotFound
from bot.domain.principal import Principal
from bot.domain.timebank import TransactionKind, TransferKind, hours_text
from bot.services import UnitOfWork, attendance, certificates, timebank
from bot.services.certificates import Verification
from bot.services.ports import Notifier
from bot.services.timebank import TransferView
from handlers.common.deeplinks import deep_link, start_link
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.steps import HoursThenReason, save_then_clear
from handlers.common.volunteer_texts import record_text
from handlers.timebank.callbacks import HoursAction, HoursCb
from handlers.timebank.states import CorrectionForm, TransferForm

router = RouteTable("timebank")
# A volunteer's correction request: the hours the record should show, then why.
CORRECTION = HoursThenReason(
    CorrectionForm.minutes,
    CorrectionForm.reason,
    __("Why? The organiser who recorded it decides."),
)
# A gift to family or an exchange for a service: how many hours (more than 0), then a note.
TRANSFER = HoursThenReason(
    TransferForm.minutes,
    TransferForm.memo,
    lambda data: _transfer_note_question(data),
    positive=True,
)

TX_NAMES = {
    TransactionKind.SERVICE_CREDIT: __("service"),
    TransactionKind.GIFT: __("gift"),
    TransactionKind.EXCHANGE: __("exchange"),
    TransactionKind.REVERSAL: __("reversal"),
}


def _signed_hours(minutes: int) -> str:
    return ("+" if minutes > 0 else "−") + hours_text(abs(minutes))


# ---------------------------------------------------------------- /hours


@router.message(Command("hours"))
async def hours(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    await state.clear()
    await _send_hours(message, principal, uow, settings, 0)


@router.callback_query(HoursCb.filter(F.action == HoursAction.LINES))
async def hours_page(
    callback: CallbackQuery,
    callback_data: HoursCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _send_hours(callback.message, principal, uow, settings, callback_data.id)


async def _send_hours(
    message: Message, principal: Principal, uow: UnitOfWork, settings: Settings, page: int
) -> None:
    summary = await timebank.summary(uow, principal, page=page, tz=settings.tz)
    lines = [
        _("<b>Your volunteer hours</b>"),
        _("Confirmed service: {total} hours in all, {year} this year").format(
            total=hours_text(summary.confirmed_minutes), year=hours_text(summary.year_minutes)
        ),
        _("Time bank balance: {hours} hours").format(hours=hours_text(summary.balance_minutes)),
        _("Points: {points}").format(points=summary.points),
    ]
    if summary.lines:
        lines.append("")
        lines.append(_("<b>Time bank</b> (newest first)"))
        for line in summary.lines:
            day = line.at.astimezone(settings.tz).strftime("%Y-%m-%d")
            lines.append(
                f"{day} {_signed_hours(line.minutes)} · {TX_NAMES[line.kind]} · "
                f"{html.escape(line.memo[:60])}"
            )
    elif page == 0:
        lines.append(_("No confirmed hours yet: sign up with /shifts."))
    rows = [
        [
            button(_("My service records"), HoursCb(action=HoursAction.RECORDS)),
            button(_("Certificate"), HoursCb(action=HoursAction.CERT_MENU)),
        ],
        [
            button(_("Give hours to family"), HoursCb(action=HoursAction.TB_NEW, value="gift")),
            button(
                _("Ask to be paid in hours"), HoursCb(action=HoursAction.TB_NEW, value="exchange")
            ),
        ],
    ]
    if summary.has_next:
        rows.append([button(_("Older"), HoursCb(action=HoursAction.LINES, id=page + 1))])
    await message.answer("\n".join(lines), reply_markup=Markup(inline_keyboard=rows))


# ---------------------------------------------------------------- records and corrections


@router.callback_query(HoursCb.filter(F.action == HoursAction.RECORDS))
async def my_records(
    callback: CallbackQuery,
    callback_data: HoursCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    listing = await attendance.my_records(uow, principal, page=callback_data.id)
    if not listing.items:
        await callback.message.answer(_("No service records yet."))
        return
    for view in listing.items:
        keyboard = None
        if view.status is RecordStatus.CONFIRMED and not view.correction_pending:
            keyboard = Markup(
                inline_keyboard=[
                    [button(_("Ask for a correction"), HoursCb(action=HoursAction.FIX, id=view.id))]
                ]
            )
        await callback.message.answer(record_text(view, settings), reply_markup=keyboard)
    if listing.has_next:
        await callback.message.answer(
            _("More records:"),
            reply_markup=Markup(
                inline_keyboard=[
                    [button("›", HoursCb(action=HoursAction.RECORDS, id=callback_data.id + 1))]
                ]
            ),
        )


@router.callback_query(HoursCb.filter(F.action == HoursAction.FIX))
async def ask_correction(
    callback: CallbackQuery, callback_data: HoursCb, state: FSMContext
) -> None:
    await CORRECTION.start(
        callback,
        state,
        _("How many hours should this record show? (e.g. 2.5 or 2:30) /cancel"),
        record=callback_data.id,
    )


@router.message(CorrectionForm.minutes, F.text)
async def correction_minutes(message: Message, state: FSMContext) -> None:
    await CORRECTION.hours_typed(message, state)


@router.message(CorrectionForm.reason, F.text)
async def correction_reason(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
) -> None:
    answer = await CORRECTION.answer(message, state)
    await save_then_clear(
        state,
        attendance.request_correction(
            uow,
            notifier,
            principal,
            record_id=answer.data["record"],
            minutes=answer.minutes,
            reason=answer.reason,
        ),
    )
    await message.answer(_("Your correction request was sent; you will be told the decision."))


# ---------------------------------------------------------------- certificates


PERIODS = {"year": __("This year"), "last": __("Last year"), "all": __("All my service")}


def _period(value: str, today: date) -> tuple[date, date]:
    if value == "year":
        return date(today.year, 1, 1), today
    if value == "last":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    # All the service the certificate can cover: the service refuses a longer period.
    return today - certificates.MAX_PERIOD + timedelta(days=1), today


@router.message(Command("certificate"))
async def certificate(message: Message, state: FSMContext) -> None:
    await state.clear()
    await _certificate_menu(message)


@router.callback_query(HoursCb.filter(F.action == HoursAction.CERT_MENU))
async def certificate_menu(callback: CallbackQuery) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _certificate_menu(callback.message)


async def _certificate_menu(message: Message) -> None:
    rows = [
        [button(str(label), HoursCb(action=HoursAction.CERT, value=key))]
        for key, label in PERIODS.items()
    ]
    await message.answer(
        _("A service certificate (PDF) of your confirmed hours. Which period?"),
        reply_markup=Markup(inline_keyboard=rows),
    )


@router.callback_query(HoursCb.filter(F.action == HoursAction.CERT))
async def issue_certificate(
    callback: CallbackQuery,
    callback_data: HoursCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    if callback_data.value not in PERIODS:
        raise ValueError("unknown period")
    today = datetime.now(settings.tz).date()
    start, end = _period(callback_data.value, today)
    issued = await certificates.issue(
        uow,
        principal,
        period_start=start,
        period_end=end,
        tz=settings.tz,
        public_url=settings.site_url,
    )
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    await callback.message.answer_document(
        BufferedInputFile(issued.pdf, filename=f"{issued.number}.pdf"),
        caption=_(
            "Certificate {number}: {hours} hours over {records} services. "
            "Anyone can check it with /verify {code}."
        ).format(
            number=issued.number,
            hours=hours_text(issued.total_minutes),
            records=issued.records,
            code=issued.code,
        ),
    )


# ---------------------------------------------------------------- /verify


def verification_text(found: Verification) -> str:
    lines = [
        _("✅ Certificate {number} is genuine.").format(number=found.number),
        _("Volunteer: {name} ({number})").format(
            name=html.escape(found.masked_name), number=found.volunteer_number
        ),
        _("Period: {start} – {end}").format(start=found.period_start, end=found.period_end),
        _("Service: {hours} hours in {records} sessions").format(
            hours=hours_text(found.total_minutes), records=found.records
        ),
        _("Issued by {issuer} on {day}").format(
            issuer=html.escape(found.issuer), day=found.issued_on
        ),
    ]
    if found.reversed_records:
        lines.append(
            _(
                "⚠️ {count} of its services were reversed after a spot check since it was issued."
            ).format(count=found.reversed_records)
        )
    return "\n".join(lines)


@router.message(Command("verify"))
async def verify(
    message: Message, command: CommandObject, uow: UnitOfWork, settings: Settings
) -> None:
    code = (command.args or "").strip()
    if not code:
        await message.answer(_("Send /verify and the code printed on the certificate."))
        return
    try:
        found = await certificates.verify(uow, code=code, tz=settings.tz)
    except NotFound:
        await message.answer(not_genuine_text())
        return
    await message.answer(verification_text(found))


def not_genuine_text() -> str:
    return _(
        "❌ No certificate has this code. Check the code; a certificate we cannot find is "
        "not genuine."
    )


# ---------------------------------------------------------------- gifts and exchanges


@router.callback_query(HoursCb.filter(F.action == HoursAction.TB_NEW))
async def new_transfer(callback: CallbackQuery, callback_data: HoursCb, state: FSMContext) -> None:
    kind = TransferKind(callback_data.value)  # anything else: a forged button, refused
    await TRANSFER.start(
        callback,
        state,
        _("How many hours? (e.g. 2 or 1.5) /cancel")
        if kind is TransferKind.GIFT
        else _("How many hours of service did you give them? (e.g. 2 or 1.5) /cancel"),
        kind=kind.value,
    )


@router.message(TransferForm.minutes, F.text)
async def transfer_minutes(message: Message, state: FSMContext) -> None:
    await TRANSFER.hours_typed(message, state)


def _transfer_note_question(data: dict[str, Any]) -> str:
    if TransferKind(data["kind"]) is TransferKind.GIFT:
        return _("A note for them (e.g. 给妈妈)?")
    return _("What service did you give? (they confirm it)")


@router.message(TransferForm.memo, F.text)
async def transfer_memo(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    bot: Bot,
    channel: Channel,
) -> None:
    answer = await TRANSFER.answer(message, state)
    view = await save_then_clear(
        state,
        timebank.propose(
            uow,
            principal,
            kind=TransferKind(answer.data["kind"]),
            minutes=answer.minutes,
            memo=answer.reason,
        ),
    )
    link = await start_link(bot, channel, settings, f"tb_{view.token}")
    await message.answer(
        _(
            "Send this link to the other person; {hours} hours move only when they accept it "
            "(valid 24 hours):\n{link}"
        ).format(hours=hours_text(view.minutes), link=html.escape(link))
    )


def transfer_text(view: TransferView) -> str:
    if view.kind is TransferKind.GIFT:
        text = _("{name} gives you {hours} hours from their time bank.")
    else:
        text = _("{name} asks {hours} hours from your time bank for a service they gave you.")
    lines = [text.format(name=html.escape(view.proposer_name), hours=hours_text(view.minutes))]
    if view.memo:
        lines.append(_("Note: {memo}").format(memo=html.escape(view.memo)))
    return "\n".join(lines)


@deep_link("tb_")
async def open_transfer(message: Message, token: str, data: dict[str, Any]) -> None:
    try:
        view = await timebank.transfer(data["uow"], token=token)
    except NotFound:
        await message.answer(_("This link is not valid or has expired."))
        return
    keyboard = Markup(
        inline_keyboard=[
            [
                button(_("Accept these hours"), HoursCb(action=HoursAction.TB_OK, value=token)),
                button(_("Decline"), HoursCb(action=HoursAction.TB_NO, value=token)),
            ]
        ]
    )
    await message.answer(transfer_text(view), reply_markup=keyboard)


@router.callback_query(HoursCb.filter(F.action.in_({HoursAction.TB_OK, HoursAction.TB_NO})))
async def decide_transfer(
    callback: CallbackQuery,
    callback_data: HoursCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
) -> None:
    accept = callback_data.action == HoursAction.TB_OK
    try:
        view = await timebank.decide(
            uow, notifier, principal, token=callback_data.value, accept=accept
        )
    except NotFound:
        await callback.answer(_("This link is not valid or has expired."), show_alert=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        done = _("Accepted: {hours} hours moved.") if accept else _("Declined. Nothing moved.")
        await callback.message.edit_text(
            transfer_text(view) + "\n\n" + done.format(hours=hours_text(view.minutes))
        )
