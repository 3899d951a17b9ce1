"""/spotcheck for workers: draw a seeded random sample of confirmed records in a community and
period, mark each passed or failed (with a note), export the result as CSV."""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.attendance import SpotResult
from bot.domain.principal import Principal
from bot.domain.timebank import hours_text
from bot.services import UnitOfWork, access_log, places, spotchecks
from bot.services.ports import Notifier
from bot.services.spotchecks import SpotCheckView, SpotItemView
from handlers.common.exports import csv_file
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.steps import ask
from handlers.spotchecks.callbacks import SpotAction, SpotCb
from handlers.spotchecks.states import SpotForm

router = RouteTable("spotchecks")

PERIODS = {"30": __("Last 30 days"), "90": __("Last 90 days"), "year": __("This year")}
SIZES = ("5", "10", "20")
RESULT_NAMES = {
    SpotResult.PENDING: __("to check"),
    SpotResult.PASSED: __("passed"),
    SpotResult.FAILED: __("failed"),
}


def _period(value: str, today: date) -> tuple[date, date]:
    if value == "year":
        return date(today.year, 1, 1), today
    return today - timedelta(days=int(value)), today


@router.message(Command("spotcheck"))
async def start(message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork) -> None:
    await state.clear()
    communities = await places.covered_communities(uow, principal)
    if not communities:
        await message.answer(_("Sorry, you are not allowed to do that here."))
        return
    await state.set_state(SpotForm.community)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(c.label(principal.locale), SpotCb(action=SpotAction.COMMUNITY, id=c.id))]
            for c in communities[:30]
        ]
    )
    await message.answer(
        _("Spot check of confirmed service records. Which community? Or /cancel."),
        reply_markup=keyboard,
    )


@router.callback_query(SpotForm.community, SpotCb.filter(F.action == SpotAction.COMMUNITY))
async def chose_community(
    callback: CallbackQuery, callback_data: SpotCb, state: FSMContext
) -> None:
    await state.update_data(community=callback_data.id)
    await state.set_state(SpotForm.period)
    await callback.answer()
    if isinstance(callback.message, Message):
        rows = [
            [button(str(label), SpotCb(action=SpotAction.PERIOD, value=k))]
            for k, label in PERIODS.items()
        ]
        await callback.message.edit_text(
            _("Records of which period?"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )


@router.callback_query(SpotForm.period, SpotCb.filter(F.action == SpotAction.PERIOD))
async def chose_period(callback: CallbackQuery, callback_data: SpotCb, state: FSMContext) -> None:
    if callback_data.value not in PERIODS:
        raise ValueError("unknown period")
    await state.update_data(period=callback_data.value)
    await state.set_state(SpotForm.size)
    await callback.answer()
    if isinstance(callback.message, Message):
        row = [button(size, SpotCb(action=SpotAction.SIZE, value=size)) for size in SIZES]
        await callback.message.edit_text(
            _("How many records to draw?"), reply_markup=InlineKeyboardMarkup(inline_keyboard=[row])
        )


@router.callback_query(SpotForm.size, SpotCb.filter(F.action == SpotAction.SIZE))
async def draw(
    callback: CallbackQuery,
    callback_data: SpotCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    if callback_data.value not in SIZES:
        raise ValueError("unknown size")
    data = await state.get_data()
    start, end = _period(data["period"], datetime.now(settings.tz).date())
    view = await spotchecks.draw(
        uow,
        principal,
        community_id=data["community"],
        period_start=start,
        period_end=end,
        size=int(callback_data.value),
        tz=settings.tz,
    )
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(_summary(view))
        for item in view.items:
            await callback.message.answer(_item_text(item), reply_markup=_item_keyboard(item))


def _summary(view: SpotCheckView) -> str:
    failed = sum(i.result is SpotResult.FAILED for i in view.items)
    passed = sum(i.result is SpotResult.PASSED for i in view.items)
    return _(
        "Spot check {id}: {drawn} of {population} confirmed records ({start} – {end}), drawn "
        "with seed {seed} (the same seed draws the same sample again). Passed {passed}, "
        "failed {failed}."
    ).format(
        id=view.id,
        drawn=len(view.items),
        population=view.population,
        start=view.period_start,
        end=view.period_end,
        seed=view.seed,
        passed=passed,
        failed=failed,
    )


def _item_text(item: SpotItemView) -> str:
    text = _("{name} ({number}) · {day} · {content} · {hours} h · {result}").format(
        name=html.escape(item.volunteer_name),
        number=item.volunteer_number,
        day=item.day,
        content=html.escape(item.content),
        hours=hours_text(item.minutes),
        result=RESULT_NAMES[item.result],
    )
    if item.note:
        text += "\n" + html.escape(item.note)
    return text


def _item_keyboard(item: SpotItemView) -> InlineKeyboardMarkup | None:
    if item.result is not SpotResult.PENDING:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_("Passed"), SpotCb(action=SpotAction.PASS, id=item.id)),
                button(_("Failed"), SpotCb(action=SpotAction.FAIL, id=item.id)),
            ]
        ]
    )


async def _after_mark(message: Message, view: SpotCheckView, item_id: int) -> None:
    item = next(i for i in view.items if i.id == item_id)
    await message.answer(_item_text(item))
    if all(i.result is not SpotResult.PENDING for i in view.items):
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[[button(_("Download CSV"), SpotCb(action=SpotAction.CSV, id=view.id))]]
        )
        await message.answer(_summary(view), reply_markup=keyboard)


@router.callback_query(SpotCb.filter(F.action == SpotAction.PASS))
async def passed(
    callback: CallbackQuery,
    callback_data: SpotCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    settings: Settings,
) -> None:
    view = await spotchecks.mark(
        uow, notifier, principal, item_id=callback_data.id, passed=True, tz=settings.tz
    )
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await _after_mark(callback.message, view, callback_data.id)


@router.callback_query(SpotCb.filter(F.action == SpotAction.FAIL))
async def failed(callback: CallbackQuery, callback_data: SpotCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        SpotForm.note,
        _(
            "What was wrong? The volunteer is told, and the record's hours are reversed in "
            "the time bank. /cancel"
        ),
        item=callback_data.id,
    )


@router.message(SpotForm.note, F.text)
async def failure_note(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    settings: Settings,
) -> None:
    data = await state.get_data()
    view = await spotchecks.mark(
        uow,
        notifier,
        principal,
        item_id=data["item"],
        passed=False,
        note=message.text or "",
        tz=settings.tz,
    )
    await state.clear()
    await _after_mark(message, view, data["item"])


def _sheet(view: SpotCheckView) -> tuple[list[str], list[list[object]]]:
    """The spot check as a table: its header and one row per record drawn."""
    header = [
        _("Spot check"),
        _("Seed"),
        _("Record"),
        _("Volunteer"),
        _("Volunteer number"),
        _("Service"),
        _("Date"),
        _("Hours"),
        _("Result"),
        _("Note"),
    ]
    rows: list[list[object]] = [
        [
            view.id,
            view.seed,
            item.record_id,
            item.volunteer_name,
            item.volunteer_number,
            item.content,
            item.day.isoformat(),
            hours_text(item.minutes),
            str(RESULT_NAMES[item.result]),
            item.note,
        ]
        for item in view.items
    ]
    return header, rows


@router.callback_query(SpotCb.filter(F.action == SpotAction.CSV))
async def export(
    callback: CallbackQuery,
    callback_data: SpotCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    view = await spotchecks.get(uow, principal, spot_check_id=callback_data.id, tz=settings.tz)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    header, rows = _sheet(view)
    await callback.message.answer_document(csv_file(header, rows, f"spot-check-{view.id}.csv"))
    await access_log.log_export(
        uow, principal, reason="spot-check sheet with volunteers' names", details={"id": view.id}
    )
