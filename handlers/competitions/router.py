"""Competitions and micro-grants (三.(四)): /newcall (a street or district admin opens a call),
/calls (the calls one organises, reviews or may enter) and the call's page: submit or revise a
proposal, name reviewers, score, close the panel, the residents' vote, publish the results."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.competitions import (
    AwardReason,
    CallState,
    Criterion,
    parse_criteria,
    parse_scores,
    score_text,
)
from bot.domain.enums import OrganisationType, ScopeLevel
from bot.domain.errors import InvalidInput
from bot.domain.principal import Principal
from bot.domain.projects import parse_yuan, yuan_text
from bot.domain.time_phrases import end_of_day, parse_day
from bot.services import UnitOfWork, competitions, consultations
from bot.services.competitions import BudgetLine, CallView, NewCall, RankedView
from bot.services.consultations import NewConsultation
from handlers.common.buyers import unit_keyboard
from handlers.common.callbacks import ConfirmCb
from handlers.common.confirm import ConfirmStep
from handlers.common.keyboards import button, toggle_keyboard
from handlers.common.routing import RouteTable
from handlers.common.steps import id_number, in_both_languages, save_then_clear
from handlers.common.texts import ORG_TYPE_NAMES
from handlers.competitions.callbacks import CallAction, CallCb
from handlers.competitions.states import CallForm, ProposalForm

router = RouteTable("competitions")
OPEN_CALL = ConfirmStep("call", CallForm.confirm, edit_on_cancel=False)
SUBMIT = ConfirmStep("proposal", ProposalForm.confirm, edit_on_cancel=False)
PUBLISH = ConfirmStep(
    "publish", CallForm.publish, __("Cancelled. Nothing was published."), edit_on_cancel=False
)

PHASE_NAMES = {
    CallState.OPEN: __("taking proposals"),
    CallState.REVIEWING: __("the panel is reviewing"),
    CallState.CLOSED: __("the panel has closed"),
    CallState.PUBLISHED: __("results published"),
}
REASON_NAMES = {
    AwardReason.AWARDED: __("awarded"),
    AwardReason.BELOW_PASS_MARK: __("below the pass mark"),
    AwardReason.BUDGET_EXHAUSTED: __("the budget did not reach it"),
    AwardReason.NOT_SCORED: __("not scored"),
}
VOTE_WEIGHTS = (0, 10, 20, 30)


def _local(moment: datetime, settings: Settings) -> str:
    return moment.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")


def criteria_text(criteria: tuple[Criterion, ...]) -> str:
    return "、".join(f"{c.name} {c.weight}%" for c in criteria)


def call_text(view: CallView, settings: Settings) -> str:
    types = "、".join(str(ORG_TYPE_NAMES[t]) for t in view.eligible_types)
    lines = [
        f"<b>{html.escape(view.title)}</b> (C{view.id}) · {PHASE_NAMES[view.phase]}",
        html.escape(view.theme),
        _("Budget ¥{budget} from {fund}").format(
            budget=yuan_text(view.budget_fen), fund=html.escape(view.fund)
        ),
        _("Who may enter: {types}").format(types=types),
        _("Criteria: {criteria} · pass mark {mark}").format(
            criteria=html.escape(criteria_text(view.criteria)), mark=view.pass_mark
        ),
        _("Proposals until {proposals} · review until {review}").format(
            proposals=_local(view.proposals_due_at, settings),
            review=_local(view.review_due_at, settings),
        ),
        _("{count} proposals · panel: {panel}").format(
            count=view.proposals, panel=html.escape("、".join(view.reviewers) or "—")
        ),
    ]
    if view.vote_weight:
        lines.append(_("Residents' vote: {weight}% of the score").format(weight=view.vote_weight))
    return "\n".join(lines)


def _call_keyboard(view: CallView, member: bool) -> InlineKeyboardMarkup:
    rows = []
    if member and view.phase is CallState.OPEN:
        rows.append(
            [button(_("Submit or revise a proposal"), CallCb(action=CallAction.SUBMIT, id=view.id))]
        )
    if view.reviewer and view.phase is CallState.REVIEWING:
        rows.append(
            [button(_("Score the proposals"), CallCb(action=CallAction.REVIEW, id=view.id))]
        )
    if view.organiser and view.phase is CallState.OPEN:
        rows.append([button(_("Name a reviewer"), CallCb(action=CallAction.NAME, id=view.id))])
    voting = view.phase in (CallState.OPEN, CallState.REVIEWING) and view.proposals
    if view.organiser and view.vote_weight and view.consultation_id is None and voting:
        rows.append(
            [button(_("Open the residents' vote"), CallCb(action=CallAction.RESIDENTS, id=view.id))]
        )
    if view.organiser and view.phase is CallState.REVIEWING:
        rows.append([button(_("Close the panel"), CallCb(action=CallAction.CLOSE, id=view.id))])
    if view.organiser and view.phase is CallState.CLOSED:
        rows.append(
            [button(_("Publish the results"), CallCb(action=CallAction.PUBLISH, id=view.id))]
        )
    if view.phase is CallState.PUBLISHED or (view.organiser and view.phase is CallState.CLOSED):
        rows.append([button(_("Ranking"), CallCb(action=CallAction.RANK, id=view.id))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def ranking_text(rows: list[RankedView]) -> str:
    if not rows:
        return _("No proposals.")
    lines = []
    for row in rows:
        lines.append(
            _("{rank}. {title} ({organisation}) — score {score}, ¥{amount}: {reason}").format(
                rank=row.rank,
                title=html.escape(row.proposal.title),
                organisation=html.escape(row.proposal.organisation),
                score=score_text(row.score_centi),
                amount=yuan_text(row.amount_fen),
                reason=REASON_NAMES[row.reason],
            )
        )
    return "\n".join(lines)


async def _show(
    message: Message, uow: UnitOfWork, principal: Principal, settings: Settings, call_id: int
) -> None:
    view = await competitions.view(uow, principal, competition_id=call_id)
    member = any(g.organisation_id is not None for g in principal.grants)
    await message.answer(call_text(view, settings), reply_markup=_call_keyboard(view, member))


# ---------------------------------------------------------------- /calls and the page


@router.message(Command("calls"))
async def list_calls(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    await state.clear()
    found = await competitions.listing(uow, principal)
    if not found:
        await message.answer(
            _("No calls for proposals here. Street and district admins open them with /newcall.")
        )
        return
    rows = [
        [
            button(
                f"C{c.id} {c.title} · {PHASE_NAMES[c.phase]}"[:60],
                CallCb(action=CallAction.OPEN, id=c.id),
            )
        ]
        for c in found
    ]
    await message.answer(
        _("Calls for proposals (微创投 / 公益创投):"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


@router.callback_query(CallCb.filter(F.action == CallAction.OPEN))
async def open_page(
    callback: CallbackQuery,
    callback_data: CallCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _show(callback.message, uow, principal, settings, callback_data.id)


# ---------------------------------------------------------------- /newcall


@router.message(Command("newcall"))
async def new_call(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    keyboard = await unit_keyboard(
        uow,
        principal,
        lambda level, scope_id: CallCb(action=CallAction.UNIT, id=scope_id, value=level.value),
    )
    if keyboard is None:
        await message.answer(_("Only street and district admins open calls for proposals."))
        return
    await state.set_state(CallForm.unit)
    await message.answer(
        _("Which unit opens the call? /cancel"),
        reply_markup=keyboard,
    )


@router.callback_query(CallForm.unit, CallCb.filter(F.action == CallAction.UNIT))
async def call_unit(callback: CallbackQuery, callback_data: CallCb, state: FSMContext) -> None:
    level = ScopeLevel(callback_data.value)
    await state.update_data(level=level.value, scope=callback_data.id)
    await state.set_state(CallForm.title)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(_("The call's title (e.g. 2027 社区微创投)? /cancel"))


@router.message(CallForm.title, F.text)
async def call_title(message: Message, state: FSMContext) -> None:
    await state.update_data(title=(message.text or "")[:200])
    await state.set_state(CallForm.theme)
    await message.answer(_("The theme (主题): what should the projects do? /cancel"))


@router.message(CallForm.theme, F.text)
async def call_theme(message: Message, state: FSMContext) -> None:
    await state.update_data(theme=(message.text or "")[:2000])
    await state.set_state(CallForm.budget)
    await message.answer(_("The budget, in yuan? /cancel"))


@router.message(CallForm.budget, F.text)
async def call_budget(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    try:
        budget = parse_yuan(message.text or "")
    except InvalidInput:
        budget = 0
    if budget <= 0:
        await message.answer(_("Please write an amount in yuan, like 12000 or 12,000.50."))
        return
    data = await state.update_data(budget=budget)
    found = await competitions.funds_for(
        uow, principal, level=ScopeLevel(data["level"]), scope_id=data["scope"]
    )
    if not found:
        await message.answer(
            _(
                "No fund of this unit can pay for a call. A charity or "
                "community foundation opens one with /funds."
            )
        )
        return
    rows = [
        [
            button(
                _("{fund} (¥{balance} left)").format(fund=name, balance=yuan_text(left))[:60],
                CallCb(action=CallAction.FUND, id=fund_id),
            )
        ]
        for fund_id, name, left in found
    ]
    await state.set_state(CallForm.fund)
    await message.answer(
        _("Which fund pays the awards? /cancel"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


def _types_keyboard(chosen: set[str]) -> InlineKeyboardMarkup:
    return toggle_keyboard(
        [(t.value, str(name)) for t, name in ORG_TYPE_NAMES.items()],
        chosen,
        tap=lambda value: CallCb(action=CallAction.TYPE, value=value),
        done=CallCb(action=CallAction.TYPES_DONE),
        columns=1,
    )


@router.callback_query(CallForm.fund, CallCb.filter(F.action == CallAction.FUND))
async def call_fund(callback: CallbackQuery, callback_data: CallCb, state: FSMContext) -> None:
    await state.update_data(fund=callback_data.id, types=[])
    await state.set_state(CallForm.eligible)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("Which organisations may enter? Tap each, then Next. /cancel"),
            reply_markup=_types_keyboard(set()),
        )


@router.callback_query(CallForm.eligible, CallCb.filter(F.action == CallAction.TYPE))
async def call_type(callback: CallbackQuery, callback_data: CallCb, state: FSMContext) -> None:
    if callback_data.value not in OrganisationType._value2member_map_:
        await callback.answer()
        return
    chosen = set((await state.get_data()).get("types", []))
    chosen ^= {callback_data.value}
    await state.update_data(types=sorted(chosen))
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=_types_keyboard(chosen))


@router.callback_query(CallForm.eligible, CallCb.filter(F.action == CallAction.TYPES_DONE))
async def call_types_done(callback: CallbackQuery, state: FSMContext) -> None:
    await callback.answer()
    if not (await state.get_data()).get("types"):
        if isinstance(callback.message, Message):
            await callback.message.answer(_("Please choose at least one kind of organisation."))
        return
    await state.set_state(CallForm.criteria)
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _(
                "The scoring criteria with their weights, summing to 100, "
                "e.g. 创新性 30，需求契合 40，可行性 30. /cancel"
            )
        )


@router.message(CallForm.criteria, F.text)
async def call_criteria(message: Message, state: FSMContext) -> None:
    try:
        criteria = parse_criteria(message.text or "")
    except InvalidInput:
        await message.answer(
            _(
                "Please give each criterion a name and a weight; the weights "
                "must sum to 100, e.g. 创新性 30，需求契合 40，可行性 30."
            )
        )
        return
    await state.update_data(criteria=[[c.name, c.weight] for c in criteria])
    await state.set_state(CallForm.proposals_due)
    await message.answer(_("Proposals until which day (e.g. 12月20日, 下周五)? /cancel"))


async def _day(message: Message, settings: Settings) -> datetime | None:
    try:
        day = parse_day(message.text or "", now=datetime.now(settings.tz), tz=settings.tz)
    except InvalidInput:
        await message.answer(
            _("Please write a day that is not past, like 12月20日, 下周五 or 2026-12-20.")
        )
        return None
    return end_of_day(day, settings.tz)


@router.message(CallForm.proposals_due, F.text)
async def call_proposals_due(message: Message, state: FSMContext, settings: Settings) -> None:
    due = await _day(message, settings)
    if due is None:
        return
    await state.update_data(proposals_due=due.isoformat())
    await state.set_state(CallForm.review_due)
    await message.answer(_("The panel reviews until which day? /cancel"))


@router.message(CallForm.review_due, F.text)
async def call_review_due(message: Message, state: FSMContext, settings: Settings) -> None:
    due = await _day(message, settings)
    if due is None:
        return
    data = await state.get_data()
    if due <= datetime.fromisoformat(data["proposals_due"]):
        await message.answer(_("The review must end after the proposal deadline."))
        return
    await state.update_data(review_due=due.isoformat())
    await state.set_state(CallForm.vote)
    rows = [
        [
            button(
                _("No residents' vote") if w == 0 else _("{weight}% of the score").format(weight=w),
                CallCb(action=CallAction.VOTE, id=w),
            )
        ]
        for w in VOTE_WEIGHTS
    ]
    await message.answer(
        _("Should residents vote (one ballot per person) as part of the score? /cancel"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


def _spec(data: dict[str, Any]) -> NewCall:
    return NewCall(
        level=ScopeLevel(data["level"]),
        scope_id=data["scope"],
        title=data["title"],
        theme=data["theme"],
        budget_fen=data["budget"],
        fund_id=data["fund"],
        eligible_types=[OrganisationType(t) for t in data["types"]],
        criteria=[Criterion(n, w) for n, w in data["criteria"]],
        proposals_due_at=datetime.fromisoformat(data["proposals_due"]),
        review_due_at=datetime.fromisoformat(data["review_due"]),
        vote_weight=data.get("vote", 0),
    )


@router.callback_query(CallForm.vote, CallCb.filter(F.action == CallAction.VOTE))
async def call_vote(
    callback: CallbackQuery, callback_data: CallCb, state: FSMContext, settings: Settings
) -> None:
    if callback_data.id not in VOTE_WEIGHTS:
        await callback.answer()
        return
    data = await state.update_data(vote=callback_data.id)
    await callback.answer()
    spec = _spec(data)
    summary = _(
        "Open this call and announce it to the unit's "
        "residents?\n<b>{title}</b>\nBudget ¥{budget} · criteria "
        "{criteria}\nProposals until {proposals} · review until "
        "{review}"
    ).format(
        title=html.escape(spec.title),
        budget=yuan_text(spec.budget_fen),
        criteria=html.escape(criteria_text(tuple(spec.criteria))),
        proposals=_local(spec.proposals_due_at, settings),
        review=_local(spec.review_due_at, settings),
    )
    if isinstance(callback.message, Message):
        await OPEN_CALL.ask(callback.message, state, summary)


@router.callback_query(*OPEN_CALL.filters)
async def call_confirm(
    callback: CallbackQuery,
    callback_data: ConfirmCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    i18n: I18n,
) -> None:
    if not await OPEN_CALL.confirmed(callback, callback_data, state):
        return
    spec = _spec(await state.get_data())
    texts = in_both_languages(
        i18n,
        lambda: _(
            "📣 A call for proposals: {title}\n{theme}\nBudget ¥{budget}. "
            "Organisations enter with /calls until {due}."
        ).format(
            title=spec.title,
            theme=spec.theme,
            budget=yuan_text(spec.budget_fen),
            due=_local(spec.proposals_due_at, settings),
        ),
    )
    view = await save_then_clear(state, competitions.open_call(uow, principal, spec, texts=texts))
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("The call C{id} is open and announced.").format(id=view.id)
            + "\n"
            + call_text(view, settings),
            reply_markup=_call_keyboard(view, False),
        )


# ---------------------------------------------------------------- proposals


@router.callback_query(CallCb.filter(F.action == CallAction.SUBMIT))
async def submit_start(
    callback: CallbackQuery,
    callback_data: CallCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    await callback.answer()
    drafts = await competitions.draft_projects(uow, principal)
    if not isinstance(callback.message, Message):
        return
    if not drafts:
        await callback.message.answer(
            _("Your organisation has no draft project. Draft one with /newproject first.")
        )
        return
    await state.set_state(ProposalForm.project)
    await state.update_data(call=callback_data.id)
    rows = [
        [button(f"P{pid} {title}"[:60], CallCb(action=CallAction.PROJECT, id=pid))]
        for pid, title in drafts
    ]
    await callback.message.answer(
        _("Which draft project do you put forward? /cancel"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


@router.callback_query(ProposalForm.project, CallCb.filter(F.action == CallAction.PROJECT))
async def submit_project(callback: CallbackQuery, callback_data: CallCb, state: FSMContext) -> None:
    await state.update_data(project=callback_data.id)
    await state.set_state(ProposalForm.lines)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _(
                "The budget lines, an item and an amount in yuan each, "
                "separated by ；, e.g. 场地 2000；物资 3000. /cancel"
            )
        )


def _lines(text: str) -> list[BudgetLine]:
    found = []
    for part in [
        p.strip() for p in text.replace(";", "；").replace("\n", "；").split("；") if p.strip()
    ]:
        item, _sep, amount = part.rpartition(" ")
        fen = parse_yuan(amount)
        if not item.strip() or fen <= 0:
            raise InvalidInput("budget_lines", "shape")
        found.append(BudgetLine(" ".join(item.split())[:100], fen))
    if not found:
        raise InvalidInput("budget_lines", "shape")
    return found


@router.message(ProposalForm.lines, F.text)
async def submit_lines(message: Message, state: FSMContext) -> None:
    try:
        lines = _lines(message.text or "")
    except InvalidInput:
        await message.answer(
            _("Please write each line as an item and an amount, e.g. 场地 2000；物资 3000.")
        )
        return
    await state.update_data(lines=[[b.item, b.amount_fen] for b in lines])
    await state.set_state(ProposalForm.needs)
    await message.answer(
        _(
            "Which requests of the needs list does it answer (their "
            "references, e.g. A1-2026-0001)? /cancel"
        ),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[button(_("None"), CallCb(action=CallAction.SKIP_NEEDS))]]
        ),
    )


@router.message(ProposalForm.needs, F.text)
async def submit_needs(message: Message, state: FSMContext) -> None:
    await state.update_data(
        needs=(message.text or "").replace(",", " ").replace("，", " ").split()[:20]
    )
    await state.set_state(ProposalForm.results)
    await message.answer(_("The expected results (how many people, what changes)? /cancel"))


@router.callback_query(ProposalForm.needs, CallCb.filter(F.action == CallAction.SKIP_NEEDS))
async def submit_no_needs(callback: CallbackQuery, state: FSMContext) -> None:
    await state.update_data(needs=[])
    await state.set_state(ProposalForm.results)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("The expected results (how many people, what changes)? /cancel")
        )


@router.message(ProposalForm.results, F.text)
async def submit_results(message: Message, state: FSMContext) -> None:
    data = await state.update_data(results=(message.text or "")[:2000])
    total = sum(amount for _item, amount in data["lines"])
    summary = _("Put P{project} forward to C{call}, asking for ¥{total}?").format(
        project=data["project"], call=data["call"], total=yuan_text(total)
    )
    await SUBMIT.ask(message, state, summary)


@router.callback_query(*SUBMIT.filters)
async def submit_confirm(
    callback: CallbackQuery,
    callback_data: ConfirmCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    if not await SUBMIT.confirmed(callback, callback_data, state):
        return
    data = await state.get_data()
    view = await save_then_clear(
        state,
        competitions.submit(
            uow,
            principal,
            competition_id=data["call"],
            project_id=data["project"],
            budget_lines=[BudgetLine(item, amount) for item, amount in data["lines"]],
            need_references=data["needs"],
            expected_results=data["results"],
        ),
    )
    done = _("Your proposal was revised.") if view.revised else _("Your proposal is in.")
    if isinstance(callback.message, Message):
        await callback.message.answer(done + " " + _("You can revise it until the deadline."))


# ---------------------------------------------------------------- the panel


@router.callback_query(CallCb.filter(F.action == CallAction.NAME))
async def name_start(callback: CallbackQuery, callback_data: CallCb, state: FSMContext) -> None:
    await state.set_state(CallForm.reviewer)
    await state.update_data(call=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _(
                "The reviewer's person number (编号, in their /me)? "
                "Organisations they belong to are recorded as conflicts of "
                "interest. /cancel"
            )
        )


@router.message(CallForm.reviewer, F.text)
async def name_typed(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    person = id_number(message.text)
    if person is None:
        await message.answer(_("Please send the person number, like 12."))
        return
    data = await state.get_data()
    view = await competitions.name_reviewer(
        uow, principal, competition_id=data["call"], person_id=person
    )
    await message.answer(
        _("Panel: {panel}. Send another number, or /cancel when the panel is complete.").format(
            panel=html.escape("、".join(view.reviewers))
        )
    )


@router.callback_query(CallCb.filter(F.action == CallAction.REVIEW))
async def review(
    callback: CallbackQuery, callback_data: CallCb, principal: Principal, uow: UnitOfWork
) -> None:
    await callback.answer()
    found = await competitions.proposals(uow, principal, competition_id=callback_data.id)
    if not isinstance(callback.message, Message):
        return
    for p in found:
        text = _("{title} ({organisation}) · ¥{amount}\nExpected: {results}").format(
            title=html.escape(p.title),
            organisation=html.escape(p.organisation),
            amount=yuan_text(p.requested_fen),
            results=html.escape(p.expected_results),
        )
        if p.excluded:
            await callback.message.answer(
                text
                + "\n"
                + _("⚠️ Your organisation: you are excluded from scoring it (conflict of interest).")
            )
            continue
        if p.my_scores:
            text += "\n" + _("Your scores: {scores}").format(
                scores=html.escape(" ".join(f"{k} {v}" for k, v in p.my_scores.items()))
            )
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(
                        _("Score it"),
                        CallCb(action=CallAction.SCORE, id=p.id, value=str(callback_data.id)),
                    )
                ]
            ]
        )
        await callback.message.answer(text, reply_markup=keyboard)


@router.callback_query(CallCb.filter(F.action == CallAction.SCORE))
async def score_start(
    callback: CallbackQuery,
    callback_data: CallCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    call = id_number(callback_data.value)
    await callback.answer()
    if call is None or not isinstance(callback.message, Message):
        return
    view = await competitions.view(uow, principal, competition_id=call)
    await state.set_state(ProposalForm.scores)
    await state.update_data(proposal=callback_data.id, count=len(view.criteria))
    await callback.message.answer(
        _(
            "Your score 0–100 for each criterion, in this order: {criteria}. E.g. 80 75 90. /cancel"
        ).format(criteria=html.escape(criteria_text(view.criteria)))
    )


@router.message(ProposalForm.scores, F.text)
async def score_typed(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.get_data()
    try:
        scores = parse_scores(message.text or "", data["count"])
    except InvalidInput:
        await message.answer(
            _("Please send {count} whole numbers from 0 to 100, one per criterion.").format(
                count=data["count"]
            )
        )
        return
    await save_then_clear(
        state, competitions.score(uow, principal, proposal_id=data["proposal"], scores=scores)
    )
    await message.answer(_("Scores saved. They stay hidden until the panel closes."))


@router.callback_query(CallCb.filter(F.action == CallAction.CLOSE))
async def close(
    callback: CallbackQuery, callback_data: CallCb, principal: Principal, uow: UnitOfWork
) -> None:
    ranked = await competitions.close_panel(uow, principal, competition_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("The panel is closed. The ranking as scored:") + "\n" + ranking_text(ranked),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        button(
                            _("Publish the results"),
                            CallCb(action=CallAction.PUBLISH, id=callback_data.id),
                        )
                    ]
                ]
            ),
        )


@router.callback_query(CallCb.filter(F.action == CallAction.RANK))
async def rank(
    callback: CallbackQuery, callback_data: CallCb, principal: Principal, uow: UnitOfWork
) -> None:
    ranked = await competitions.ranking(uow, principal, competition_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(ranking_text(ranked))


@router.callback_query(CallCb.filter(F.action == CallAction.PUBLISH))
async def publish_ask(
    callback: CallbackQuery,
    callback_data: CallCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    ranked = await competitions.ranking(uow, principal, competition_id=callback_data.id)
    await state.update_data(call=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        question = _(
            "Publish this ranking? The awards become allocations from "
            "the call's fund and the projects are approved."
        )
        await PUBLISH.ask(callback.message, state, question + "\n" + ranking_text(ranked))


@router.callback_query(*PUBLISH.filters)
async def publish(
    callback: CallbackQuery,
    callback_data: ConfirmCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    if not await PUBLISH.confirmed(callback, callback_data, state):
        return
    preview = await competitions.ranking(uow, principal, competition_id=data["call"])
    texts = in_both_languages(
        i18n,
        lambda: (
            _("🏆 Results of the call C{id}:").format(id=data["call"])
            + "\n"
            + ranking_text(preview)
        ),
    )
    ranked = await save_then_clear(
        state, competitions.publish(uow, principal, competition_id=data["call"], texts=texts)
    )
    awarded = sum(r.amount_fen for r in ranked)
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("Published. ¥{amount} awarded from the fund.").format(amount=yuan_text(awarded))
            + "\n"
            + ranking_text(ranked)
        )


@router.callback_query(CallCb.filter(F.action == CallAction.RESIDENTS))
async def residents_vote(
    callback: CallbackQuery,
    callback_data: CallCb,
    principal: Principal,
    uow: UnitOfWork,
    i18n: I18n,
) -> None:
    """A consultation whose options are the proposals: one ballot per person (its rules)."""
    call = await competitions.view(uow, principal, competition_id=callback_data.id)
    found = await competitions.proposals(uow, principal, competition_id=call.id)
    communities = await buyers_communities(uow, call)
    days = max(1, (call.review_due_at - datetime.now(call.review_due_at.tzinfo)).days)
    spec = NewConsultation(
        title=_("Residents' vote: {title}").format(title=call.title)[:200],
        background=call.theme,
        options=[f"{p.title} ({p.organisation})"[:200] for p in found],
        community_ids=communities,
        discussion_days=1,
        voting_days=min(days, 14),
    )
    texts = in_both_languages(
        i18n,
        lambda: _("🗳 Vote for the proposals of the call {title} with /consult.").format(
            title=call.title
        ),
    )
    opened = await consultations.open_consultation(uow, principal, spec, texts=texts, reminder=None)
    await competitions.open_vote(uow, principal, competition_id=call.id, consultation_id=opened.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _(
                "The residents' vote is open (consultation {id}); its "
                "ballots count for {weight}% of the score."
            ).format(id=opened.id, weight=call.vote_weight)
        )


async def buyers_communities(uow: UnitOfWork, call: CallView) -> list[int]:
    return await competitions.unit_communities(uow, level=call.level, scope_id=call.scope_id)
