"""Government purchase of services (四.(三)): /newpurchase (a street or district buys a service),
/purchases (the buyer's and the provider's purchases) and the purchase page: milestone reports
with the evidence counted from the records, acceptance, payments, the performance evaluation,
and statements (XLSX, CSV) per purchase and per funding source."""

from __future__ import annotations

import asyncio
import html
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.documents.workbook import Sheet, workbook
from bot.domain.competitions import score_text
from bot.domain.enums import ScopeLevel
from bot.domain.errors import InvalidInput
from bot.domain.principal import Principal
from bot.domain.projects import parse_period, parse_yuan, yuan_text
from bot.domain.purchases import (
    FundingSource,
    MilestoneSpec,
    MilestoneState,
    parse_indicators,
    parse_milestones,
)
from bot.domain.timebank import hours_text
from bot.services import UnitOfWork, buyers, purchases
from bot.services.purchases import MilestoneView, NewPurchase, PurchaseView
from handlers.common.buyers import unit_keyboard
from handlers.common.callbacks import ConfirmCb
from handlers.common.confirm import ConfirmStep
from handlers.common.exports import csv_file
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.steps import id_number, save_then_clear
from handlers.purchases.callbacks import PurchaseAction, PurchaseCb
from handlers.purchases.states import PurchaseForm

router = RouteTable("purchases")
RECORD = ConfirmStep("purchase", PurchaseForm.confirm, edit_on_cancel=False)
PAY = ConfirmStep("pay", PurchaseForm.pay, __("Cancelled. Nothing was paid."), edit_on_cancel=False)

SOURCE_NAMES = {
    FundingSource.GENERAL_BUDGET: __("General public budget (一般公共预算)"),
    FundingSource.WELFARE_LOTTERY: __("Welfare lottery fund (福彩公益金)"),
    FundingSource.SOCIAL_ASSISTANCE: __("Social assistance fund (社会救助专项资金)"),
    FundingSource.OTHER: __("Other source"),
}
MILESTONE_NAMES = {
    MilestoneState.PENDING: __("to report"),
    MilestoneState.REPORTED: __("reported, waiting for acceptance"),
    MilestoneState.ACCEPTED: __("accepted, to pay"),
    MilestoneState.PAID: __("paid"),
}


def _milestone_lines(m: MilestoneView) -> list[str]:
    lines = [
        _("{n}. {deliverable} — {share}% (¥{amount}): {state}").format(
            n=m.position + 1,
            deliverable=html.escape(m.deliverable),
            share=m.share,
            amount=yuan_text(m.amount_fen),
            state=MILESTONE_NAMES[m.state],
        )
    ]
    if m.evidence is not None:
        lines.append(
            _(
                "   evidence: {requests} requests handled, {hours} hours of "
                "service, {people} people served"
            ).format(
                requests=m.evidence.requests,
                hours=hours_text(m.evidence.minutes),
                people=m.evidence.people,
            )
        )
    return lines


def purchase_text(view: PurchaseView) -> str:
    lines = [
        f"<b>{html.escape(view.service)}</b> (G{view.id}, P{view.project_id})",
        _("Provider: {provider} · ¥{amount} from {source}").format(
            provider=html.escape(view.provider),
            amount=yuan_text(view.amount_fen),
            source=SOURCE_NAMES[view.source],
        ),
        _("{start} – {end} · paid ¥{paid}, ¥{unpaid} to pay").format(
            start=view.starts_on,
            end=view.ends_on,
            paid=yuan_text(view.paid_fen),
            unpaid=yuan_text(view.unpaid_fen),
        ),
    ]
    for m in view.milestones:
        lines += _milestone_lines(m)
    if view.evaluation is not None:
        lines.append(
            _("Performance evaluation (绩效评估): {score}").format(
                score=score_text(view.evaluation.score_centi)
            )
        )
    return "\n".join(lines)


def _milestone_rows(view: PurchaseView, m: MilestoneView) -> list[list[InlineKeyboardButton]]:
    """What the provider (report) and the buyer (accept, pay) can do with one milestone."""
    n = m.position + 1
    rows = []
    if view.provider_member and m.state in (MilestoneState.PENDING, MilestoneState.REPORTED):
        report = _("Report milestone {n}").format(n=n)
        rows.append([button(report, PurchaseCb(action=PurchaseAction.REPORT, id=m.id))])
    if view.buyer and m.state is MilestoneState.REPORTED:
        accept = _("Accept milestone {n}").format(n=n)
        rows.append([button(accept, PurchaseCb(action=PurchaseAction.ACCEPT, id=m.id))])
    if view.buyer and m.state is MilestoneState.ACCEPTED:
        pay = _("Pay milestone {n}").format(n=n)
        rows.append(
            [button(pay, PurchaseCb(action=PurchaseAction.PAY, id=m.id, value=str(view.id)))]
        )
    return rows


def _keyboard(view: PurchaseView) -> InlineKeyboardMarkup:
    rows = [row for m in view.milestones for row in _milestone_rows(view, m)]
    done = all(m.state in (MilestoneState.ACCEPTED, MilestoneState.PAID) for m in view.milestones)
    if view.buyer and done and view.evaluation is None:
        rows.append(
            [
                button(
                    _("Performance evaluation"),
                    PurchaseCb(action=PurchaseAction.EVALUATE, id=view.id),
                )
            ]
        )
    rows.append(
        [
            button(_("Statement (XLSX)"), PurchaseCb(action=PurchaseAction.XLSX, id=view.id)),
            button(_("Statement (CSV)"), PurchaseCb(action=PurchaseAction.CSV, id=view.id)),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def _show(message: Message, view: PurchaseView) -> None:
    await message.answer(purchase_text(view), reply_markup=_keyboard(view))


# ---------------------------------------------------------------- /purchases and the page


@router.message(Command("purchases"))
async def list_purchases(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    found = await purchases.listing(uow, principal)
    if not found:
        await message.answer(
            _(
                "No purchases of services here. Street and district admins "
                "record them with /newpurchase."
            )
        )
        return
    rows = [
        [
            button(
                f"G{p.id} {p.service} · {p.provider}"[:60],
                PurchaseCb(action=PurchaseAction.OPEN, id=p.id),
            )
        ]
        for p in found
    ]
    if buyers.units_of(principal):
        rows.append(
            [button(_("Statement per funding source"), PurchaseCb(action=PurchaseAction.SOURCES))]
        )
    await message.answer(
        _("Government purchases of services (政府购买服务):"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


@router.callback_query(PurchaseCb.filter(F.action == PurchaseAction.OPEN))
async def open_page(
    callback: CallbackQuery, callback_data: PurchaseCb, principal: Principal, uow: UnitOfWork
) -> None:
    view = await purchases.view(uow, principal, purchase_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await _show(callback.message, view)


# ---------------------------------------------------------------- /newpurchase


@router.message(Command("newpurchase"))
async def new_purchase(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    keyboard = await unit_keyboard(
        uow,
        principal,
        lambda level, scope_id: PurchaseCb(
            action=PurchaseAction.UNIT, id=scope_id, value=level.value
        ),
    )
    if keyboard is None:
        await message.answer(_("Only street and district admins record purchases of services."))
        return
    await state.set_state(PurchaseForm.unit)
    await message.answer(
        _("Which unit buys the service? /cancel"),
        reply_markup=keyboard,
    )


@router.callback_query(PurchaseForm.unit, PurchaseCb.filter(F.action == PurchaseAction.UNIT))
async def purchase_unit(
    callback: CallbackQuery, callback_data: PurchaseCb, state: FSMContext
) -> None:
    await state.update_data(level=ScopeLevel(callback_data.value).value, scope=callback_data.id)
    await state.set_state(PurchaseForm.service)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(_("Which service is bought (e.g. 社区养老服务)? /cancel"))


@router.message(PurchaseForm.service, F.text)
async def purchase_service(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.update_data(service=(message.text or "")[:200])
    found = await purchases.providers(
        uow, principal, level=ScopeLevel(data["level"]), scope_id=data["scope"]
    )
    if not found:
        await message.answer(_("No verified organisation in this unit can provide it (/org)."))
        return
    rows = [
        [button(name[:60], PurchaseCb(action=PurchaseAction.PROVIDER, id=oid))]
        for oid, name in found
    ]
    await state.set_state(PurchaseForm.provider)
    await message.answer(
        _("Which organisation provides it? /cancel"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


@router.callback_query(
    PurchaseForm.provider, PurchaseCb.filter(F.action == PurchaseAction.PROVIDER)
)
async def purchase_provider(
    callback: CallbackQuery, callback_data: PurchaseCb, state: FSMContext
) -> None:
    await state.update_data(provider=callback_data.id)
    await state.set_state(PurchaseForm.amount)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(_("The amount of the contract, in yuan? /cancel"))


@router.message(PurchaseForm.amount, F.text)
async def purchase_amount(message: Message, state: FSMContext) -> None:
    try:
        amount = parse_yuan(message.text or "")
    except InvalidInput:
        amount = 0
    if amount <= 0:
        await message.answer(_("Please write an amount in yuan, like 12000 or 12,000.50."))
        return
    await state.update_data(amount=amount)
    await state.set_state(PurchaseForm.source)
    rows = [
        [button(str(name), PurchaseCb(action=PurchaseAction.SOURCE, value=s.value))]
        for s, name in SOURCE_NAMES.items()
    ]
    await message.answer(
        _("Paid from which funding source? /cancel"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


@router.callback_query(PurchaseForm.source, PurchaseCb.filter(F.action == PurchaseAction.SOURCE))
async def purchase_source(
    callback: CallbackQuery, callback_data: PurchaseCb, state: FSMContext
) -> None:
    await callback.answer()
    if callback_data.value not in FundingSource._value2member_map_:
        return
    await state.update_data(source=callback_data.value)
    await state.set_state(PurchaseForm.period)
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("The period, two dates (e.g. 2027-01-01 2027-12-31)? /cancel")
        )


@router.message(PurchaseForm.period, F.text)
async def purchase_period(message: Message, state: FSMContext) -> None:
    try:
        start, end = parse_period(message.text or "")
    except InvalidInput:
        await message.answer(_("Please send two dates, like 2027-01-01 2027-12-31."))
        return
    await state.update_data(start=start.isoformat(), end=end.isoformat())
    await state.set_state(PurchaseForm.milestones)
    await message.answer(
        _(
            "The milestones: a deliverable and its share of the payment "
            "each, summing to 100%, separated by ；, e.g. 需求调研报告 30；中期服务 "
            "40；结项报告 30. /cancel"
        )
    )


def _spec(data: dict[str, Any]) -> NewPurchase:
    return NewPurchase(
        level=ScopeLevel(data["level"]),
        scope_id=data["scope"],
        service=data["service"],
        provider_id=data["provider"],
        amount_fen=data["amount"],
        source=FundingSource(data["source"]),
        starts_on=datetime.fromisoformat(data["start"]).date(),
        ends_on=datetime.fromisoformat(data["end"]).date(),
        milestones=[MilestoneSpec(d, s) for d, s in data["milestones"]],
    )


@router.message(PurchaseForm.milestones, F.text)
async def purchase_milestones(message: Message, state: FSMContext) -> None:
    try:
        milestones = parse_milestones(message.text or "")
    except InvalidInput:
        await message.answer(
            _(
                "Please give each milestone a deliverable and a share; the "
                "shares must sum to 100, e.g. 需求调研报告 30；中期服务 40；结项报告 30."
            )
        )
        return
    data = await state.update_data(milestones=[[m.deliverable, m.share] for m in milestones])
    spec = _spec(data)
    summary = _(
        "Record this purchase?\n{service}: ¥{amount} from {source}, "
        "{start} – {end}\nMilestones: {milestones}"
    ).format(
        service=html.escape(spec.service),
        amount=yuan_text(spec.amount_fen),
        source=SOURCE_NAMES[spec.source],
        start=spec.starts_on,
        end=spec.ends_on,
        milestones=html.escape("；".join(f"{m.deliverable} {m.share}%" for m in milestones)),
    )
    await RECORD.ask(message, state, summary)


@router.callback_query(*RECORD.filters)
async def purchase_confirm(
    callback: CallbackQuery,
    callback_data: ConfirmCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    if not await RECORD.confirmed(callback, callback_data, state):
        return
    view = await save_then_clear(
        state, purchases.create(uow, principal, _spec(await state.get_data()))
    )
    if isinstance(callback.message, Message):
        await callback.message.answer(_("The purchase G{id} is recorded.").format(id=view.id))
        await _show(callback.message, view)


# ---------------------------------------------------------------- milestones


@router.callback_query(PurchaseCb.filter(F.action == PurchaseAction.REPORT))
async def report_start(
    callback: CallbackQuery, callback_data: PurchaseCb, state: FSMContext
) -> None:
    await state.set_state(PurchaseForm.report)
    await state.update_data(milestone=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _(
                "What was delivered? The requests handled, hours and people "
                "served are counted from the records. /cancel"
            )
        )


@router.message(PurchaseForm.report, F.text)
async def report_typed(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    data = await state.get_data()
    view = await save_then_clear(
        state,
        purchases.report_milestone(
            uow, principal, milestone_id=data["milestone"], text=message.text or "", tz=settings.tz
        ),
    )
    await message.answer(_("Reported. The buyer is asked to accept it."))
    await _show(message, view)


@router.callback_query(PurchaseCb.filter(F.action == PurchaseAction.ACCEPT))
async def accept(
    callback: CallbackQuery, callback_data: PurchaseCb, principal: Principal, uow: UnitOfWork
) -> None:
    view = await purchases.accept_milestone(uow, principal, milestone_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(_("Milestone accepted."))
        await _show(callback.message, view)


@router.callback_query(PurchaseCb.filter(F.action == PurchaseAction.PAY))
async def pay_ask(
    callback: CallbackQuery,
    callback_data: PurchaseCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    await callback.answer()
    purchase_id = id_number(callback_data.value)
    if purchase_id is None or not isinstance(callback.message, Message):
        return
    purchase = await purchases.view(uow, principal, purchase_id=purchase_id)
    found = [m for m in purchase.milestones if m.id == callback_data.id]
    if not found:
        return
    milestone = found[0]
    await state.update_data(milestone=milestone.id)
    question = _("Record the payment of ¥{amount} for “{deliverable}” of G{id} today?").format(
        amount=yuan_text(milestone.amount_fen),
        deliverable=html.escape(milestone.deliverable),
        id=purchase.id,
    )
    await PAY.ask(callback.message, state, question)


@router.callback_query(*PAY.filters)
async def pay(
    callback: CallbackQuery,
    callback_data: ConfirmCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    if not await PAY.confirmed(callback, callback_data, state):
        return
    data = await state.get_data()
    view = await save_then_clear(
        state,
        purchases.pay_milestone(
            uow, principal, milestone_id=data["milestone"], paid_on=datetime.now(settings.tz).date()
        ),
    )
    if isinstance(callback.message, Message):
        await callback.message.answer(_("Payment recorded."))
        await _show(callback.message, view)


@router.callback_query(PurchaseCb.filter(F.action == PurchaseAction.EVALUATE))
async def evaluate_start(
    callback: CallbackQuery, callback_data: PurchaseCb, state: FSMContext
) -> None:
    await state.set_state(PurchaseForm.indicators)
    await state.update_data(purchase=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _(
                "The indicators: a name, its weight and its score 0–100 "
                "each, the weights summing to 100, separated by ；, e.g. 服务人次 "
                "40 90；满意度 30 80；资料规范 30 70. /cancel"
            )
        )


@router.message(PurchaseForm.indicators, F.text)
async def evaluate_indicators(message: Message, state: FSMContext) -> None:
    try:
        indicators = parse_indicators(message.text or "")
    except InvalidInput:
        await message.answer(
            _(
                "Please write each indicator as a name, a weight and a "
                "score, the weights summing to 100, e.g. 服务人次 40 90；满意度 60 "
                "80."
            )
        )
        return
    await state.update_data(indicators=[list(i) for i in indicators])
    await state.set_state(PurchaseForm.summary)
    await message.answer(_("A short summary of the evaluation? /cancel"))


@router.message(PurchaseForm.summary, F.text)
async def evaluate_summary(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.get_data()
    view = await save_then_clear(
        state,
        purchases.evaluate(
            uow,
            principal,
            purchase_id=data["purchase"],
            indicators=[(n, w, s) for n, w, s in data["indicators"]],
            summary=message.text or "",
        ),
    )
    await message.answer(_("The evaluation is recorded with the project's results."))
    await _show(message, view)


# ---------------------------------------------------------------- statements


def _header() -> list[str]:
    return [
        _("Purchase"),
        _("Service"),
        _("Provider"),
        _("Funding source"),
        _("Milestone"),
        _("Share (%)"),
        _("Amount (yuan)"),
        _("State"),
        _("Requests handled"),
        _("Service hours"),
        _("People served"),
        _("Paid (yuan)"),
        _("Paid on"),
    ]


def _rows(views: list[PurchaseView]) -> list[list[object]]:
    rows: list[list[object]] = []
    for v in views:
        for m in v.milestones:
            e = m.evidence
            rows.append(
                [
                    f"G{v.id}",
                    v.service,
                    v.provider,
                    str(SOURCE_NAMES[v.source]),
                    m.deliverable,
                    m.share,
                    Decimal(m.amount_fen) / 100,
                    str(MILESTONE_NAMES[m.state]),
                    e.requests if e else "",
                    round(e.minutes / 60, 2) if e else "",
                    e.people if e else "",
                    Decimal(m.paid_fen) / 100,
                    m.paid_on,
                ]
            )
        if v.evaluation is not None:
            rows.append(
                [
                    f"G{v.id}",
                    _("Performance evaluation"),
                    "",
                    "",
                    v.evaluation.summary,
                    "",
                    "",
                    score_text(v.evaluation.score_centi),
                ]
            )
    return rows


def _totals(views: list[PurchaseView]) -> list[list[object]]:
    return [
        [
            f"G{v.id}",
            v.service,
            v.provider,
            str(SOURCE_NAMES[v.source]),
            Decimal(v.amount_fen) / 100,
            Decimal(v.paid_fen) / 100,
            Decimal(v.unpaid_fen) / 100,
            score_text(v.evaluation.score_centi) if v.evaluation else "",
        ]
        for v in views
    ]


def statement_xlsx(views: list[PurchaseView], settings: Settings) -> bytes:
    money = "#,##0.00"
    sheets = [
        Sheet(
            _("Purchases"),
            [
                _("Purchase"),
                _("Service"),
                _("Provider"),
                _("Funding source"),
                _("Amount (yuan)"),
                _("Paid (yuan)"),
                _("To pay (yuan)"),
                _("Evaluation score"),
            ],
            _totals(views),
            {4: money, 5: money, 6: money},
        ),
        Sheet(_("Milestones"), _header(), _rows(views), {6: money, 11: money}),
    ]
    return workbook(sheets, settings.tz)


async def _send(
    message: Message, views: list[PurchaseView], name: str, kind: str, settings: Settings
) -> None:
    if kind == "csv":
        await message.answer_document(csv_file(_header(), _rows(views), f"{name}.csv"))
        return
    data = await asyncio.to_thread(statement_xlsx, views, settings)
    await message.answer_document(BufferedInputFile(data, filename=f"{name}.xlsx"))


@router.callback_query(PurchaseCb.filter(F.action.in_({PurchaseAction.XLSX, PurchaseAction.CSV})))
async def statement(
    callback: CallbackQuery,
    callback_data: PurchaseCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    view = await purchases.view(uow, principal, purchase_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await _send(
            callback.message, [view], f"purchase-G{view.id}", callback_data.action, settings
        )


@router.callback_query(PurchaseCb.filter(F.action == PurchaseAction.SOURCES))
async def sources(callback: CallbackQuery) -> None:
    await callback.answer()
    rows = [
        [button(str(name), PurchaseCb(action=PurchaseAction.BY_SOURCE, value=s.value))]
        for s, name in SOURCE_NAMES.items()
    ]
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("The statement of which funding source?"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
        )


@router.callback_query(PurchaseCb.filter(F.action == PurchaseAction.BY_SOURCE))
async def by_source(
    callback: CallbackQuery,
    callback_data: PurchaseCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    await callback.answer()
    if callback_data.value not in FundingSource._value2member_map_:
        return
    source = FundingSource(callback_data.value)
    views = await purchases.by_source(uow, principal, source=source)
    if isinstance(callback.message, Message):
        await _send(callback.message, views, f"purchases-{source.value}", "xlsx", settings)
