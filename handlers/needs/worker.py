"""Community workers and assignees: /queue (triage), /tasks (assigned to me), /needlist."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.domain.needs import (
    DEADLINE_STATES,
    TRANSITIONS,
    ClosureReason,
    NeedCategory,
    NeedState,
    Urgency,
)
from bot.domain.principal import Principal
from bot.services import UnitOfWork, needs
from bot.services.needs import Candidate, NeedDetail, NeedsListRow, QueueFilter
from bot.services.ports import Notifier
from bot.services.views import Page
from handlers.common.callbacks import NeedAction, NeedCb, NoopCb
from handlers.common.exports import csv_file
from handlers.common.keyboards import Keyboard, button
from handlers.common.routing import RouteTable
from handlers.common.texts import CATEGORY_NAMES
from handlers.needs.callbacks import ListCb, QueueCb
from handlers.needs.states import NeedText
from handlers.needs.texts import STATE_NAMES, URGENCY_NAMES, brief_line, detail_text

router = RouteTable("needs_worker")

GROUP_NAMES = {
    "open": lambda: _("Unfinished"),
    "new": lambda: _("New"),
    "overdue": lambda: _("Overdue"),
    "all": lambda: _("All"),
}


def action_keyboard(detail: NeedDetail) -> InlineKeyboardMarkup | None:
    """The actions this viewer may take in this state, from the state machine itself (the
    services check them again)."""
    need_id, state = detail.brief.id, detail.brief.state
    allowed = TRANSITIONS[state]
    triage, assignee = detail.can_triage, detail.is_assignee

    def act(label: str, action: NeedAction) -> InlineKeyboardButton:
        return button(label, NeedCb(action=action, id=need_id))

    rows = _triage_rows(act, state) if triage else []
    if assignee and NeedState.IN_PROGRESS in allowed and state is not NeedState.IN_PROGRESS:
        rows.append([act(_("Start working on it"), NeedAction.TAKE)])
    if assignee and state in (NeedState.ASSIGNED, NeedState.IN_PROGRESS, NeedState.REOPENED):
        rows.append([act(_("Hand it back"), NeedAction.HAND_BACK)])
    if (triage or assignee) and state in DEADLINE_STATES:
        row = [act(_("Note"), NeedAction.NOTE)]
        if NeedState.RESOLVED in allowed:
            row.append(act(_("Resolve"), NeedAction.RESOLVE))
        rows.append(row)
    if triage:
        row = []
        if NeedState.REFERRED in allowed:
            row.append(act(_("Refer elsewhere"), NeedAction.REFER))
        if NeedState.REJECTED in allowed:
            row.append(act(_("Close unsolved"), NeedAction.REJECT))
        if row:
            rows.append(row)
    if detail.is_resident and state is NeedState.RESOLVED:
        rows.append(
            [act(_("Solved"), NeedAction.SOLVED), act(_("Not solved"), NeedAction.UNSOLVED)]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def _triage_rows(
    act: Callable[[str, NeedAction], InlineKeyboardButton], state: NeedState
) -> list[list[InlineKeyboardButton]]:
    """A triaging worker's first rows: accept it; assign, classify, set the deadline; the
    matching suggestions; a consultation on it."""
    allowed = TRANSITIONS[state]
    rows: list[list[InlineKeyboardButton]] = []
    if state in (NeedState.NEW, NeedState.REOPENED):
        rows.append([act(_("Accept"), NeedAction.ACCEPT)])
    if state in DEADLINE_STATES:
        row = [act(_("Category"), NeedAction.CLASSIFY), act(_("Deadline"), NeedAction.DUE)]
        if NeedState.ASSIGNED in allowed:
            row.insert(0, act(_("Assign"), NeedAction.ASSIGN))
        rows.append(row)
        if NeedState.ASSIGNED in allowed:
            rows.append([act(_("Suggestions"), NeedAction.SUGGEST)])
        rows.append([act(_("Open a consultation on it"), NeedAction.CONSULT)])
    return rows


DUE_CHOICES = ("24", "72", "168", "336")

# ---------------------------------------------------------------- /queue


@router.message(Command("queue"))
async def queue_command(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    text, keyboard = await _queue_screen(uow, principal, QueueCb())
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(QueueCb.filter())
async def queue_page(
    callback: CallbackQuery, callback_data: QueueCb, principal: Principal, uow: UnitOfWork
) -> None:
    text, keyboard = await _queue_screen(uow, principal, callback_data)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text, reply_markup=keyboard)


async def _queue_screen(
    uow: UnitOfWork, principal: Principal, view: QueueCb
) -> tuple[str, InlineKeyboardMarkup]:
    filters = QueueFilter(
        group=view.group if view.group in GROUP_NAMES else "open",
        category=NeedCategory(view.cat) if view.cat in NeedCategory._value2member_map_ else None,
        urgency=Urgency.URGENT if view.urg == "u" else None,
    )
    listing = await needs.queue(uow, principal, filters=filters, page=view.page)
    title = _("<b>Queue</b>: {group}, {total} requests").format(
        group=GROUP_NAMES[filters.group](), total=listing.total
    )
    if filters.category is not None:
        title += " · " + str(CATEGORY_NAMES[filters.category])
    if filters.urgency is not None:
        title += " · " + str(URGENCY_NAMES[Urgency.URGENT])
    lines = [title]
    builder = Keyboard()
    for need in listing.items:
        lines.append(f"{brief_line(need)} — {STATE_NAMES[need.state]}")
        builder.row(
            button(
                f"{need.reference} · {need.community.name}",
                NeedCb(action=NeedAction.OPEN, id=need.id),
            )
        )
    if not listing.items:
        lines.append(_("Nothing here."))
    _filter_rows(builder, view, filters)
    nav = _nav(
        listing, lambda page: QueueCb(group=filters.group, cat=view.cat, urg=view.urg, page=page)
    )
    if nav:
        builder.row(*nav)
    return "\n".join(lines), builder.as_markup()


def _filter_rows(builder: InlineKeyboardBuilder, view: QueueCb, filters: QueueFilter) -> None:
    """The queue's filters: which group, urgent only, which category (each tap cycles)."""
    builder.row(
        *[
            button(
                ("• " if key == filters.group else "") + name(),
                QueueCb(group=key, cat=view.cat, urg=view.urg),
            )
            for key, name in GROUP_NAMES.items()
        ]
    )
    urgent_toggle = QueueCb(group=filters.group, cat=view.cat, urg="" if view.urg == "u" else "u")
    builder.row(
        button(
            ("• " if view.urg == "u" else "") + str(URGENCY_NAMES[Urgency.URGENT]), urgent_toggle
        ),
        button(
            _("Category: {name}").format(
                name=CATEGORY_NAMES[filters.category] if filters.category else _("any")
            ),
            QueueCb(group=filters.group, cat=_next_category(view.cat), urg=view.urg),
        ),
    )


def _next_category(current: str) -> str:
    """The category filter button cycles: any → each category → any."""
    values = ["", *[c.value for c in NeedCategory]]
    index = values.index(current) if current in values else 0
    return values[(index + 1) % len(values)]


def _nav(
    listing: Page[Any], make: Callable[[int], NeedCb | QueueCb | ListCb]
) -> list[InlineKeyboardButton]:
    buttons = []
    if listing.has_prev:
        buttons.append(button("‹", make(listing.page - 1)))
    if listing.pages > 1:
        buttons.append(
            InlineKeyboardButton(
                text=f"{listing.page + 1}/{listing.pages}", callback_data=NoopCb().pack()
            )
        )
    if listing.has_next:
        buttons.append(button("›", make(listing.page + 1)))
    return buttons


# ---------------------------------------------------------------- /tasks


@router.message(Command("tasks"))
async def tasks(message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork) -> None:
    await state.clear()
    text, keyboard = await _tasks_screen(uow, principal, 0)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(ListCb.filter(F.which == "tasks"))
async def tasks_page(
    callback: CallbackQuery, callback_data: ListCb, principal: Principal, uow: UnitOfWork
) -> None:
    text, keyboard = await _tasks_screen(uow, principal, callback_data.page)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text, reply_markup=keyboard)


async def _tasks_screen(
    uow: UnitOfWork, principal: Principal, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    listing = await needs.assigned_to_me(uow, principal, page=page)
    if not listing.items:
        return _("Nothing is assigned to you right now."), None
    lines = [_("<b>Assigned to you</b>: {total}").format(total=listing.total)]
    builder = Keyboard()
    for need in listing.items:
        lines.append(f"{brief_line(need)} — {STATE_NAMES[need.state]}")
        builder.row(button(need.reference, NeedCb(action=NeedAction.OPEN, id=need.id)))
    nav = _nav(listing, lambda p: ListCb(which="tasks", page=p))
    if nav:
        builder.row(*nav)
    return "\n".join(lines), builder.as_markup()


# ---------------------------------------------------------------- actions


async def _refresh(
    callback: CallbackQuery,
    uow: UnitOfWork,
    principal: Principal,
    settings: Settings,
    need_id: int,
    done: str,
) -> None:
    detail = await needs.need_detail(uow, principal, need_id=need_id)
    await callback.answer(done)
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            detail_text(detail, settings.tz, principal.locale), reply_markup=action_keyboard(detail)
        )


@router.callback_query(NeedCb.filter(F.action == NeedAction.ACCEPT))
async def accept(
    callback: CallbackQuery,
    callback_data: NeedCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    settings: Settings,
) -> None:
    await needs.accept(uow, notifier, principal, need_id=callback_data.id)
    await _refresh(callback, uow, principal, settings, callback_data.id, _("Accepted."))


@router.callback_query(NeedCb.filter(F.action == NeedAction.TAKE))
async def take(
    callback: CallbackQuery,
    callback_data: NeedCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    settings: Settings,
) -> None:
    await needs.take(uow, notifier, principal, need_id=callback_data.id)
    await _refresh(callback, uow, principal, settings, callback_data.id, _("It is yours now."))


@router.callback_query(NeedCb.filter(F.action == NeedAction.CLASSIFY))
async def classify(
    callback: CallbackQuery,
    callback_data: NeedCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    if callback_data.arg in NeedCategory._value2member_map_:
        await needs.classify(
            uow, principal, need_id=callback_data.id, category=NeedCategory(callback_data.arg)
        )
        await _refresh(callback, uow, principal, settings, callback_data.id, _("Category changed."))
        return
    builder = Keyboard()
    for category, name in CATEGORY_NAMES.items():
        builder.button(
            text=str(name),
            callback_data=NeedCb(
                action=NeedAction.CLASSIFY, id=callback_data.id, arg=category.value
            ),
        )
    builder.adjust(2)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=builder.as_markup())


def _candidates_keyboard(need_id: int, candidates: Sequence[Candidate]) -> InlineKeyboardMarkup:
    """Who may take the need (people and organisations, the first twenty), and back."""
    builder = Keyboard()
    for candidate in candidates[:20]:
        prefix = "p" if candidate.kind == "person" else "o"
        icon = "👤" if candidate.kind == "person" else "🏢"
        builder.row(
            button(
                f"{icon} {candidate.name}",
                NeedCb(action=NeedAction.ASSIGN, id=need_id, arg=f"{prefix}-{candidate.id}"),
            )
        )
    builder.row(button(_("« Back"), NeedCb(action=NeedAction.OPEN_HERE, id=need_id)))
    return builder.as_markup()


@router.callback_query(NeedCb.filter(F.action == NeedAction.ASSIGN))
async def assign(
    callback: CallbackQuery,
    callback_data: NeedCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    settings: Settings,
) -> None:
    kind, _sep, target = callback_data.arg.partition("-")
    if target.isdigit():
        await needs.assign(
            uow,
            notifier,
            principal,
            need_id=callback_data.id,
            person_id=int(target) if kind == "p" else None,
            organisation_id=int(target) if kind == "o" else None,
        )
        await _refresh(callback, uow, principal, settings, callback_data.id, _("Assigned."))
        return
    candidates = await needs.assignee_candidates(uow, principal, need_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        if not candidates:
            await callback.message.answer(
                _(
                    "Nobody can take requests in this community yet. "
                    "Ask an admin to grant the social worker role."
                )
            )
            return
        await callback.message.edit_reply_markup(
            reply_markup=_candidates_keyboard(callback_data.id, candidates)
        )


@router.callback_query(NeedCb.filter(F.action == NeedAction.OPEN_HERE))
async def open_here(
    callback: CallbackQuery,
    callback_data: NeedCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    await _refresh(callback, uow, principal, settings, callback_data.id, "")


@router.callback_query(NeedCb.filter(F.action == NeedAction.DUE))
async def due(
    callback: CallbackQuery,
    callback_data: NeedCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    if callback_data.arg in DUE_CHOICES:
        await needs.set_due(
            uow,
            principal,
            need_id=callback_data.id,
            due=datetime.now(UTC) + timedelta(hours=int(callback_data.arg)),
        )
        await _refresh(callback, uow, principal, settings, callback_data.id, _("Deadline changed."))
        return
    options = {
        "24": _("in 24 hours"),
        "72": _("in 3 days"),
        "168": _("in 7 days"),
        "336": _("in 14 days"),
    }
    builder = Keyboard()
    for hours, label in options.items():
        builder.button(
            text=label, callback_data=NeedCb(action=NeedAction.DUE, id=callback_data.id, arg=hours)
        )
    builder.adjust(2)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=builder.as_markup())


TEXT_PROMPTS = {
    NeedAction.NOTE: (
        NeedText.note,
        lambda: _("Type the note. Start it with ! to make it visible to the resident."),
    ),
    NeedAction.RESOLVE: (
        NeedText.resolve,
        lambda: _("What was done? (the resident will see this)"),
    ),
    NeedAction.REFER: (
        NeedText.refer,
        lambda: _("Which department or organisation takes it over? (the resident will see this)"),
    ),
    NeedAction.HAND_BACK: (NeedText.hand_back, lambda: _("Why are you handing it back?")),
}


@router.callback_query(NeedCb.filter(F.action.in_(TEXT_PROMPTS.keys())))
async def ask_text(callback: CallbackQuery, callback_data: NeedCb, state: FSMContext) -> None:
    target_state, prompt = TEXT_PROMPTS[callback_data.action]
    await state.set_state(target_state)
    await state.update_data(need_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(prompt() + "\n" + _("(or /cancel)"))


@router.callback_query(NeedCb.filter(F.action == NeedAction.REJECT))
async def reject_reason(callback: CallbackQuery, callback_data: NeedCb, state: FSMContext) -> None:
    if callback_data.arg in (ClosureReason.NOT_SOLVABLE.value, ClosureReason.OUT_OF_SCOPE.value):
        await state.set_state(NeedText.reject)
        await state.update_data(need_id=callback_data.id, reason=callback_data.arg)
        await callback.answer()
        if isinstance(callback.message, Message):
            await callback.message.answer(
                _(
                    "Explain why, and where the resident can go instead "
                    "(they will see this). Or /cancel."
                )
            )
        return
    builder = Keyboard()
    builder.button(
        text=_("Cannot be solved here"),
        callback_data=NeedCb(
            action="reject", id=callback_data.id, arg=ClosureReason.NOT_SOLVABLE.value
        ),
    )
    builder.button(
        text=_("Out of scope"),
        callback_data=NeedCb(
            action="reject", id=callback_data.id, arg=ClosureReason.OUT_OF_SCOPE.value
        ),
    )
    builder.adjust(1)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=builder.as_markup())


@router.message(NeedText.note, F.text)
async def note_text(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, notifier: Notifier
) -> None:
    need_id = (await state.get_data())["need_id"]
    text = message.text or ""
    public = text.startswith("!")
    await needs.add_note(
        uow, notifier, principal, need_id=need_id, text=text.lstrip("!"), public=public
    )
    await state.clear()
    await message.answer(
        _("Note saved (visible to the resident).") if public else _("Note saved (internal).")
    )


async def _resolve(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    need_id: int,
    text: str,
    data: dict[str, Any],
) -> str:
    need = await needs.resolve(uow, notifier, principal, need_id=need_id, resolution=text)
    return _("{reference} is resolved; the resident is asked to confirm.").format(
        reference=need.reference
    )


async def _refer(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    need_id: int,
    text: str,
    data: dict[str, Any],
) -> str:
    need = await needs.refer(uow, notifier, principal, need_id=need_id, department=text)
    return _("{reference} is referred.").format(reference=need.reference)


async def _reject(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    need_id: int,
    text: str,
    data: dict[str, Any],
) -> str:
    need = await needs.reject(
        uow, notifier, principal, need_id=need_id, reason=ClosureReason(data["reason"]), text=text
    )
    return _("{reference} is closed without a solution; the resident is told why.").format(
        reference=need.reference
    )


async def _hand_back(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    need_id: int,
    text: str,
    data: dict[str, Any],
) -> str:
    need = await needs.hand_back(uow, notifier, principal, need_id=need_id, reason=text)
    return _("{reference} is handed back to the community workers.").format(
        reference=need.reference
    )


TEXT_ACTIONS = {
    NeedText.resolve.state: _resolve,
    NeedText.refer.state: _refer,
    NeedText.reject.state: _reject,
    NeedText.hand_back.state: _hand_back,
}


@router.message(
    StateFilter(NeedText.resolve, NeedText.refer, NeedText.reject, NeedText.hand_back), F.text
)
async def action_text(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, notifier: Notifier
) -> None:
    """The text a worker or assignee typed for the action they chose on one need."""
    current, data = await state.get_state(), await state.get_data()
    action = TEXT_ACTIONS[str(current)]
    reply = await action(uow, notifier, principal, data["need_id"], message.text or "", data)
    await state.clear()
    await message.answer(reply)


# ---------------------------------------------------------------- the needs list


@router.message(Command("needlist"))
async def needlist(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    rows = await needs.needs_list(uow, principal)
    counts: dict[NeedCategory, int] = {}
    for row in rows:
        counts[row.category] = counts.get(row.category, 0) + 1
    lines = [_("<b>Needs list</b>: {total} open requests").format(total=len(rows))]
    for category, count in sorted(counts.items(), key=lambda item: -item[1]):
        lines.append(f"• {CATEGORY_NAMES[category]}: {count}")
    overdue = sum(1 for row in rows if row.overdue)
    lines.append(_("Overdue: {count}").format(count=overdue))
    await message.answer("\n".join(lines))
    await message.answer_document(_needs_list_file(rows, principal.locale))


def _needs_list_file(rows: Sequence[NeedsListRow], locale: str) -> BufferedInputFile:
    """The whole list as CSV, with what a worker needs to act on each (contact included)."""
    header = [
        _("Reference"),
        _("Community"),
        _("Category"),
        _("Urgency"),
        _("State"),
        _("Age (days)"),
        _("Supporters"),
        _("Overdue"),
        _("Description"),
        _("Resident"),
        _("Home visit"),
        _("Phone"),
        _("Address"),
    ]
    table = [
        [
            row.reference,
            row.community.label(locale),
            CATEGORY_NAMES[row.category],
            URGENCY_NAMES[row.urgency],
            STATE_NAMES[row.state],
            row.age_days,
            row.supporters,
            _("yes") if row.overdue else _("no"),
            row.description,
            row.resident_name,
            _("yes") if row.wants_visit else _("no"),
            row.contact_phone or "",
            row.address or "",
        ]
        for row in rows
    ]
    return csv_file(header, table, "needs-list.csv")
