"""/funds: a charity's or community foundation's funds — statement (also CSV), donations,
allocations to another organisation's project; /spend: a project's organisation records what it
spent of an allocation. Amounts are typed in yuan and kept in exact fen."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.enums import Role
from bot.domain.errors import InvalidInput
from bot.domain.funds import Statement
from bot.domain.needs import NeedCategory
from bot.domain.principal import Principal
from bot.domain.projects import parse_yuan, yuan_text
from bot.services import UnitOfWork, funds, organisations
from bot.services.funds import FundView
from handlers.common.exports import csv_file
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.steps import ask
from handlers.common.texts import CATEGORY_NAMES
from handlers.funds.callbacks import FundAction, FundCb
from handlers.funds.states import FundForm

router = RouteTable("funds")

LINE_NAMES = {
    "donation": __("donation"),
    "allocation": __("allocation"),
    "expenditure": __("expenditure"),
}
UNRESTRICTED = "any"


def statement_text(statement: Statement) -> str:
    return _(
        "Donated ¥{donated} · allocated ¥{allocated} · spent ¥{spent}\n"
        "Balance ¥{balance} (unallocated) · ¥{unspent} allocated but not yet spent"
    ).format(
        donated=yuan_text(statement.donated),
        allocated=yuan_text(statement.allocated),
        spent=yuan_text(statement.spent),
        balance=yuan_text(statement.balance),
        unspent=yuan_text(statement.unspent),
    )


def fund_text(view: FundView) -> str:
    return f"<b>{html.escape(view.name)}</b> ({html.escape(view.organisation)})\n" + statement_text(
        view.statement
    )


def _purpose_name(purpose: str | None) -> str:
    if purpose is None or purpose not in NeedCategory._value2member_map_:
        return _("unrestricted")
    return str(CATEGORY_NAMES[NeedCategory(purpose)])


def _purpose_keyboard(action: FundAction) -> InlineKeyboardMarkup:
    rows = [[button(_("Unrestricted"), FundCb(action=action, value=UNRESTRICTED))]]
    rows += [
        [button(str(name), FundCb(action=action, value=c.value))]
        for c, name in CATEGORY_NAMES.items()
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _purpose(value: str) -> NeedCategory | None:
    return None if value == UNRESTRICTED else NeedCategory(value)


async def _amount(message: Message) -> int | None:
    try:
        amount = parse_yuan(message.text or "")
    except InvalidInput:
        amount = 0
    if amount <= 0:
        await message.answer(_("Please write an amount in yuan, like 12000 or 12,000.50."))
        return None
    return amount


def _fund_keyboard(fund_id: int) -> InlineKeyboardMarkup:
    donate = FundCb(action=FundAction.DONATE, id=fund_id)
    allocate = FundCb(action=FundAction.ALLOCATE, id=fund_id)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("Record a donation"), donate), button(_("Allocate to a project"), allocate)],
            [button(_("Statement (CSV)"), FundCb(action=FundAction.CSV, id=fund_id))],
        ]
    )


@router.message(Command("funds"))
async def my_funds(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    for fund_id, _name in await funds.funds_of(uow, principal):
        view = await funds.statement(uow, fund_id=fund_id)
        await message.answer(fund_text(view), reply_markup=_fund_keyboard(fund_id))
    holders = [
        o
        for o in await organisations.mine(uow, principal)
        if o.type in funds.FUND_HOLDERS and organisations.member_of(principal, o.id, Role.ORG_ADMIN)
    ]
    if holders:
        rows = [
            [
                button(
                    _("New fund for {name}").format(name=o.name)[:60],
                    FundCb(action=FundAction.NEW, id=o.id),
                )
            ]
            for o in holders
        ]
        await message.answer(
            _("Charity funds (募用分离: you raise, others spend)."),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
        )
    elif not await funds.funds_of(uow, principal):
        await message.answer(
            _("Funds are held by verified charities and community foundations (/org).")
        )


@router.callback_query(FundCb.filter(F.action == FundAction.NEW))
async def new_fund(callback: CallbackQuery, callback_data: FundCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        FundForm.name,
        _("The fund's name (e.g. 磁器口社区基金)? /cancel"),
        organisation=callback_data.id,
    )


@router.message(FundForm.name, F.text)
async def fund_name(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.get_data()
    await funds.create(
        uow, principal, organisation_id=data["organisation"], name=message.text or ""
    )
    await state.clear()
    await message.answer(_("The fund is open. Record donations from /funds."))


# ---------------------------------------------------------------- donations


@router.callback_query(FundCb.filter(F.action == FundAction.DONATE))
async def donate(callback: CallbackQuery, callback_data: FundCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        FundForm.amount,
        _("How much, in yuan? /cancel"),
        fund=callback_data.id,
        flow="donate",
    )


@router.message(FundForm.amount, F.text)
async def amount(message: Message, state: FSMContext) -> None:
    value = await _amount(message)
    if value is None:
        return
    await state.update_data(amount=value)
    flow = (await state.get_data())["flow"]
    if flow == "donate":
        await state.set_state(FundForm.donor)
        await message.answer(
            _("Who gave it?"),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[button(_("Anonymous"), FundCb(action=FundAction.ANONYMOUS))]]
            ),
        )
    elif flow == "spend":
        await state.set_state(FundForm.description)
        await message.answer(_("What was it spent on?"))
    else:
        await state.set_state(FundForm.purpose)
        await message.answer(
            _("From which money?"), reply_markup=_purpose_keyboard(FundAction.PURPOSE)
        )


@router.message(FundForm.donor, F.text)
async def donor(message: Message, state: FSMContext) -> None:
    await state.update_data(donor=(message.text or "")[:200])
    await state.set_state(FundForm.purpose)
    await message.answer(
        _("Is it for a purpose?"), reply_markup=_purpose_keyboard(FundAction.PURPOSE)
    )


@router.callback_query(FundForm.donor, FundCb.filter(F.action == FundAction.ANONYMOUS))
async def anonymous(callback: CallbackQuery, state: FSMContext) -> None:
    await state.update_data(donor=None)
    await state.set_state(FundForm.purpose)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("Is it for a purpose?"), reply_markup=_purpose_keyboard(FundAction.PURPOSE)
        )


async def _record(
    uow: UnitOfWork,
    principal: Principal,
    data: dict[str, Any],
    purpose: NeedCategory | None,
    settings: Settings,
) -> tuple[Statement, str]:
    """Record the donation or the allocation the form is about; the statement after it and
    what to say (to be formatted with the amount, purpose and project)."""
    if data["flow"] == "donate":
        statement = await funds.donate(
            uow,
            principal,
            fund_id=data["fund"],
            amount_fen=data["amount"],
            donor=data.get("donor"),
            purpose=purpose,
            donated_on=datetime.now(settings.tz).date(),
        )
        return statement, _("Donation of ¥{amount} recorded ({purpose}).")
    statement = await funds.allocate(
        uow,
        principal,
        fund_id=data["fund"],
        project_id=data["project"],
        amount_fen=data["amount"],
        purpose=purpose,
    )
    return statement, _("¥{amount} allocated to P{project} ({purpose}).")


@router.callback_query(FundForm.purpose, FundCb.filter(F.action == FundAction.PURPOSE))
async def purpose(
    callback: CallbackQuery,
    callback_data: FundCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    data = await state.get_data()
    chosen = _purpose(callback_data.value)
    statement, done = await _record(uow, principal, data, chosen, settings)
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            done.format(
                amount=yuan_text(data["amount"]),
                purpose=_purpose_name(callback_data.value if chosen else None),
                project=data.get("project"),
            )
            + "\n"
            + statement_text(statement)
        )


# ---------------------------------------------------------------- allocations and spending


@router.callback_query(FundCb.filter(F.action == FundAction.ALLOCATE))
async def allocate(callback: CallbackQuery, callback_data: FundCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        FundForm.project,
        _("To which project (its number, e.g. P3)? /cancel"),
        fund=callback_data.id,
        flow="allocate",
    )


@router.message(FundForm.project, F.text)
async def allocation_project(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip().upper().removeprefix("P")
    if not (text.isascii() and text.isdigit()):
        await message.answer(_("Please send the project number, like P3."))
        return
    await state.update_data(project=int(text))
    await state.set_state(FundForm.amount)
    await message.answer(_("How much, in yuan? /cancel"))


@router.message(Command("spend"))
async def spend(message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork) -> None:
    await state.clear()
    text = (message.text or "").split(maxsplit=1)
    number = text[1].strip().upper().removeprefix("P") if len(text) > 1 else ""
    if not (number.isascii() and number.isdigit()):
        await message.answer(_("Send /spend and the project number, like /spend P3."))
        return
    allocations = await funds.allocations_for(uow, principal, project_id=int(number))
    if not allocations:
        await message.answer(_("This project has no allocated money."))
        return
    rows = [
        [
            button(
                _("{fund}: ¥{left} left of ¥{amount}").format(
                    fund=name, left=yuan_text(left), amount=yuan_text(total)
                )[:60],
                FundCb(action=FundAction.SPEND, id=allocation_id),
            )
        ]
        for allocation_id, name, total, left in allocations
    ]
    await message.answer(
        _("Spent from which allocation?"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


@router.callback_query(FundCb.filter(F.action == FundAction.SPEND))
async def spend_from(callback: CallbackQuery, callback_data: FundCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        FundForm.amount,
        _("How much, in yuan? /cancel"),
        allocation=callback_data.id,
        flow="spend",
    )


@router.message(FundForm.description, F.text)
async def spent_on(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    data = await state.get_data()
    statement = await funds.spend(
        uow,
        principal,
        allocation_id=data["allocation"],
        amount_fen=data["amount"],
        description=message.text or "",
        spent_on=datetime.now(settings.tz).date(),
    )
    await state.clear()
    await message.answer(
        _("Spending of ¥{amount} recorded.").format(amount=yuan_text(data["amount"]))
        + "\n"
        + statement_text(statement)
    )


@router.callback_query(FundCb.filter(F.action == FundAction.CSV))
async def export(callback: CallbackQuery, callback_data: FundCb, uow: UnitOfWork) -> None:
    view = await funds.statement(uow, fund_id=callback_data.id)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    header = [
        _("Date"),
        _("Kind"),
        _("Amount (yuan)"),
        _("Donor / project / spending"),
        _("Purpose"),
    ]
    rows = [
        [
            line.on.isoformat(),
            str(LINE_NAMES[line.kind]),
            yuan_text(line.amount_fen),
            line.party,
            _purpose_name(line.purpose),
        ]
        for line in view.lines
    ]
    await callback.message.answer_document(
        csv_file(header, rows, f"fund-{view.id}.csv"), caption=fund_text(view)
    )
