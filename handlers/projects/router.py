"""Projects: /newproject (draft), /projects (list), the project page (`p_<id>` link and QR) with
its lifecycle steps, the party organisation's decision, shifts, linked needs and results."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, F
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
from bot.domain.enums import Channel, Role
from bot.domain.errors import InvalidInput, NotFound
from bot.domain.needs import NeedCategory
from bot.domain.principal import Principal
from bot.domain.projects import (
    RECRUITING,
    ProjectAction,
    ProjectKind,
    ProjectState,
    parse_period,
    parse_yuan,
    yuan_text,
)
from bot.domain.timebank import hours_text
from bot.services import UnitOfWork, organisations, places, projects, shifts
from bot.services.ports import Notifier
from bot.services.projects import ProjectView
from handlers.common.callbacks import ConfirmCb, ShiftAction, ShiftCb
from handlers.common.confirm import ConfirmStep
from handlers.common.deeplinks import deep_link, qr_image, start_link
from handlers.common.keyboards import button, toggle_keyboard, yes_no_keyboard
from handlers.common.openers import PROJECT, opens
from handlers.common.routing import RouteTable
from handlers.common.states import ShiftForm
from handlers.common.steps import ask
from handlers.common.texts import CATEGORY_NAMES
from handlers.common.volunteer_texts import shift_text
from handlers.projects.callbacks import ProjectCb, ProjectCbAction
from handlers.projects.states import ProjectForm, ProjectStep

router = RouteTable("projects")
CONFIRM = ConfirmStep("project", ProjectForm.confirm)

KIND_NAMES = {
    ProjectKind.SERVICE: __("Service project"),
    ProjectKind.MICRO_VENTURE: __("Micro-venture (微创投)"),
    ProjectKind.GOVERNMENT_PURCHASED: __("Government-purchased service"),
    ProjectKind.CHARITY_FUNDED: __("Charity-funded"),
}
STATE_NAMES = {
    ProjectState.DRAFT: __("draft"),
    ProjectState.SUBMITTED: __("submitted for approval"),
    ProjectState.APPROVED: __("approved"),
    ProjectState.PUBLISHED: __("published — recruiting"),
    ProjectState.RUNNING: __("running"),
    ProjectState.COMPLETED: __("completed"),
    ProjectState.EVALUATED: __("evaluated"),
}
ACTION_NAMES = {
    ProjectAction.SUBMIT: __("Submit for approval"),
    ProjectAction.APPROVE: __("Approve"),
    ProjectAction.REJECT: __("Send back"),
    ProjectAction.PUBLISH: __("Publish"),
    ProjectAction.START: __("Start"),
    ProjectAction.COMPLETE: __("Complete"),
    ProjectAction.EVALUATE: __("Evaluate"),
}


def project_text(view: ProjectView, locale: str) -> str:
    owner = html.escape(view.organisation) if view.organisation else _("a social worker")
    lines = [
        f"<b>{html.escape(view.title)}</b> (P{view.id})",
        f"{KIND_NAMES[view.kind]} · {STATE_NAMES[view.state]} · {owner}",
        _("{community} · {start} – {end} · budget ¥{budget}").format(
            community=html.escape(view.community.label(locale)),
            start=view.starts_on,
            end=view.ends_on,
            budget=yuan_text(view.budget_fen),
        ),
    ]
    if view.categories:
        names = ", ".join(str(CATEGORY_NAMES[c]) for c in view.categories)
        lines.append(_("Answers: {categories}").format(categories=names))
    if view.major:
        lines.append(_decision_line(view))
    if view.rejection_reason and view.state is ProjectState.DRAFT:
        lines.append(_("Sent back: {reason}").format(reason=html.escape(view.rejection_reason)))
    lines.append(html.escape(view.purpose))
    shown = (ProjectState.RUNNING, ProjectState.COMPLETED, ProjectState.EVALUATED)
    if view.state in shown or view.results.money:
        lines.append("")
        lines.append(results_text(view))
    return "\n".join(lines)


def _decision_line(view: ProjectView) -> str:
    if view.decision is None:
        return _("⚖️ Major matter: waiting for the party organisation's decision.")
    verdict = _("approved") if view.decision.approve else _("not approved")
    return _("⚖️ Major matter: the party organisation {verdict} it on {day} ({reviewer}).").format(
        verdict=verdict, day=view.decision.decided_on, reviewer=html.escape(view.decision.reviewer)
    )


def results_text(view: ProjectView) -> str:
    r = view.results
    lines = [
        _("<b>Results</b>"),
        _("Volunteer service: {hours} hours by {people} volunteers (confirmed records)").format(
            hours=hours_text(r.confirmed_minutes), people=r.volunteers
        ),
        _("Needs: {solved} of {linked} linked needs confirmed solved").format(
            solved=r.needs_solved, linked=r.needs_linked
        ),
        _("Satisfaction: {rating}").format(
            rating=f"{r.satisfaction:.1f}/5" if r.satisfaction is not None else "—"
        ),
        _("Money: ¥{spent} spent of ¥{allocated} allocated (budget ¥{budget})").format(
            spent=yuan_text(r.spent_fen),
            allocated=yuan_text(r.allocated_fen),
            budget=yuan_text(view.budget_fen),
        ),
    ]
    for fund, allocated, spent in r.money:
        lines.append(
            _("  from {fund}: ¥{allocated}, ¥{spent} spent").format(
                fund=html.escape(fund), allocated=yuan_text(allocated), spent=yuan_text(spent)
            )
        )
    if r.beneficiaries is not None:
        lines.append(_("Beneficiaries: {count}").format(count=r.beneficiaries))
    if r.summary:
        lines.append(html.escape(r.summary))
    return "\n".join(lines)


def _keyboard(view: ProjectView) -> InlineKeyboardMarkup:
    rows = [
        [button(str(ACTION_NAMES[a]), ProjectCb(action=ProjectCbAction(a.value), id=view.id))]
        for a in view.actions
    ]
    if view.can_decide:
        rows.append(
            [
                button(
                    _("Record the party decision"),
                    ProjectCb(action=ProjectCbAction.DECIDE, id=view.id),
                )
            ]
        )
    if view.can_add_shift:
        rows.append([button(_("Add a shift"), ProjectCb(action=ProjectCbAction.SHIFT, id=view.id))])
    if view.shift_ids and view.state in RECRUITING:
        rows.append(
            [button(_("Shifts — sign up"), ProjectCb(action=ProjectCbAction.SHIFTS, id=view.id))]
        )
    if view.actions or view.can_add_shift:
        rows.append([button(_("Link a need"), ProjectCb(action=ProjectCbAction.NEED, id=view.id))])
    if view.state in RECRUITING:
        rows.append(
            [button(_("Link and QR code"), ProjectCb(action=ProjectCbAction.QR, id=view.id))]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def show(message: Message, view: ProjectView, locale: str, *, edit: bool = False) -> None:
    text, keyboard = project_text(view, locale), _keyboard(view)
    if edit:
        await message.edit_text(text, reply_markup=keyboard)
    else:
        await message.answer(text, reply_markup=keyboard)


# ---------------------------------------------------------------- /projects and the page


@router.message(Command("projects"))
async def list_projects(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    await _send_page(message, principal, uow, 0)


@router.callback_query(ProjectCb.filter(F.action == ProjectCbAction.PAGE))
async def projects_page(
    callback: CallbackQuery, callback_data: ProjectCb, principal: Principal, uow: UnitOfWork
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _send_page(callback.message, principal, uow, callback_data.id)


async def _send_page(message: Message, principal: Principal, uow: UnitOfWork, page: int) -> None:
    listing = await projects.listing(uow, principal, page=page)
    if not listing.items:
        await message.answer(_("No projects here yet. Organisations draft them with /newproject."))
        return
    rows = [
        [
            button(
                f"P{v.id} {v.title} · {STATE_NAMES[v.state]}"[:60],
                ProjectCb(action=ProjectCbAction.OPEN, id=v.id),
            )
        ]
        for v in listing.items
    ]
    if listing.has_next:
        rows.append([button("›", ProjectCb(action=ProjectCbAction.PAGE, id=page + 1))])
    await message.answer(_("Projects:"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


@router.callback_query(ProjectCb.filter(F.action == ProjectCbAction.OPEN))
async def open_project(
    callback: CallbackQuery, callback_data: ProjectCb, principal: Principal, uow: UnitOfWork
) -> None:
    view = await projects.view(uow, principal, project_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await show(callback.message, view, principal.locale)


@deep_link("p_")
async def project_link(message: Message, rest: str, data: dict[str, Any]) -> None:
    if not rest.isdigit():
        await message.answer(_("This link is not valid or has expired."))
        return
    principal: Principal = data["principal"]
    try:
        view = await projects.view(data["uow"], principal, project_id=int(rest))
    except NotFound:
        await message.answer(_("This link is not valid or has expired."))
        return
    await show(message, view, principal.locale)


# Lifecycle steps taken at one tap; rejecting and evaluating first ask for more.
STEP_ACTIONS = {ProjectCbAction(a.value) for a in ProjectAction} - {
    ProjectCbAction.REJECT,
    ProjectCbAction.EVALUATE,
}


@router.callback_query(ProjectCb.filter(F.action.in_(STEP_ACTIONS)))
async def step(
    callback: CallbackQuery,
    callback_data: ProjectCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
) -> None:
    action = ProjectAction(callback_data.action)
    view = await projects.act(uow, notifier, principal, project_id=callback_data.id, action=action)
    await callback.answer(_("Done: {state}.").format(state=STATE_NAMES[view.state]))
    if isinstance(callback.message, Message):
        await show(callback.message, view, principal.locale, edit=True)


@router.callback_query(ProjectCb.filter(F.action == ProjectCbAction.REJECT))
async def reject(callback: CallbackQuery, callback_data: ProjectCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        ProjectStep.reject_reason,
        _("Why is it sent back? (the organisation sees this) /cancel"),
        project=callback_data.id,
    )


@router.message(ProjectStep.reject_reason, F.text)
async def reject_reason(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, notifier: Notifier
) -> None:
    data = await state.get_data()
    view = await projects.act(
        uow,
        notifier,
        principal,
        project_id=data["project"],
        action=ProjectAction.REJECT,
        reason=message.text or "",
    )
    await state.clear()
    await show(message, view, principal.locale)


# ---------------------------------------------------------------- the party decision


@router.callback_query(ProjectCb.filter(F.action == ProjectCbAction.DECIDE))
async def decide(callback: CallbackQuery, callback_data: ProjectCb, state: FSMContext) -> None:
    await state.set_state(ProjectStep.decision_minutes)
    await state.update_data(project=callback_data.id, approve=None)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("Did the party organisation approve this major matter?"),
            reply_markup=yes_no_keyboard("party"),
        )


@router.callback_query(ProjectStep.decision_minutes, ConfirmCb.filter(F.flow == "party"))
async def decision_verdict(
    callback: CallbackQuery, callback_data: ConfirmCb, state: FSMContext
) -> None:
    await state.update_data(approve=callback_data.yes)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _(
                "The minutes of the meeting: date (YYYY-MM-DD) on the first line, then what was "
                "decided and why. /cancel"
            )
        )


@router.message(ProjectStep.decision_minutes, F.text)
async def decision_minutes(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, notifier: Notifier
) -> None:
    data = await state.get_data()
    if data.get("approve") is None:
        await message.answer(_("Please tap Yes or No first."))
        return
    first, _sep, rest = (message.text or "").strip().partition("\n")
    try:
        decided_on = datetime.strptime(first.strip(), "%Y-%m-%d").replace(tzinfo=UTC).date()
    except ValueError:
        await message.answer(_("Please start with the date, like 2026-12-01, on its own line."))
        return
    if not rest.strip():
        await message.answer(_("Please add the minutes below the date."))
        return
    view = await projects.record_decision(
        uow,
        notifier,
        principal,
        project_id=data["project"],
        approve=data["approve"],
        decided_on=decided_on,
        minutes=rest,
    )
    await state.clear()
    await message.answer(_("The decision is recorded."))
    await show(message, view, principal.locale)


# ---------------------------------------------------------------- evaluation


@router.callback_query(ProjectCb.filter(F.action == ProjectCbAction.EVALUATE))
async def evaluate(callback: CallbackQuery, callback_data: ProjectCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        ProjectStep.beneficiaries,
        _(
            "How many residents did the project serve? (hours, needs and money are counted "
            "for you) /cancel"
        ),
        project=callback_data.id,
    )


@router.message(ProjectStep.beneficiaries, F.text)
async def beneficiaries(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip()
    if not (text.isascii() and text.isdigit()):
        await message.answer(_("Please send a whole number."))
        return
    await state.update_data(beneficiaries=int(text))
    await state.set_state(ProjectStep.summary)
    await message.answer(_("A short summary: what went well, what did not?"))


@router.message(ProjectStep.summary, F.text)
async def summary(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.get_data()
    view = await projects.evaluate(
        uow,
        principal,
        project_id=data["project"],
        beneficiaries=data["beneficiaries"],
        summary=message.text or "",
    )
    await state.clear()
    await show(message, view, principal.locale)


# ---------------------------------------------------------------- needs, shifts, QR


@router.callback_query(ProjectCb.filter(F.action == ProjectCbAction.NEED))
async def link_need(callback: CallbackQuery, callback_data: ProjectCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        ProjectStep.need_reference,
        _("The need's reference (e.g. CQK-2026-00012)? /cancel"),
        project=callback_data.id,
    )


@router.message(ProjectStep.need_reference, F.text)
async def need_reference(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.get_data()
    view = await projects.link_need(
        uow, principal, project_id=data["project"], reference=message.text or ""
    )
    await state.clear()
    await message.answer(_("Linked."))
    await show(message, view, principal.locale)


@router.callback_query(ProjectCb.filter(F.action == ProjectCbAction.SHIFT))
async def add_shift(
    callback: CallbackQuery,
    callback_data: ProjectCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    view = await projects.view(uow, principal, project_id=callback_data.id)
    if not view.can_add_shift:
        await callback.answer(_("Sorry, you are not allowed to do that here."), show_alert=True)
        return
    await state.clear()
    await state.update_data(
        community=view.community.id,
        community_name=view.community.label(principal.locale),
        skills=[],
        project=view.id,
    )
    await ask(
        callback, state, ShiftForm.title, _("What is the service? (a short title, e.g. 助餐送餐)")
    )


@router.callback_query(ProjectCb.filter(F.action == ProjectCbAction.SHIFTS))
async def project_shifts(
    callback: CallbackQuery,
    callback_data: ProjectCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    views = await shifts.project_shifts(uow, principal, project_id=callback_data.id)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if not views:
        await callback.message.answer(_("No upcoming shifts in this project."))
        return
    for shift in views:
        keyboard = None
        if shift.my_status is None:
            label = _("Sign up") if shift.confirmed < shift.capacity else _("Join the wait list")
            keyboard = InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text=label,
                            callback_data=ShiftCb(action=ShiftAction.JOIN, id=shift.id).pack(),
                        )
                    ]
                ]
            )
        await callback.message.answer(
            shift_text(shift, settings, principal.locale), reply_markup=keyboard
        )


@router.callback_query(ProjectCb.filter(F.action == ProjectCbAction.QR))
async def share(
    callback: CallbackQuery,
    callback_data: ProjectCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    bot: Bot,
    channel: Channel,
) -> None:
    view = await projects.view(uow, principal, project_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        link = await start_link(bot, channel, settings, f"p_{view.id}")
        await callback.message.answer_photo(
            BufferedInputFile(await qr_image(bot, link), filename=f"project-{view.id}.png"),
            caption=_("Print or share: the QR code opens “{title}”.\n{link}").format(
                title=html.escape(view.title), link=html.escape(link)
            ),
        )


# ---------------------------------------------------------------- /newproject


@router.message(Command("newproject"))
async def new_project(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    options = [(o.id, o.name) for o in await organisations.mine(uow, principal)]
    if principal.has_role(Role.SOCIAL_WORKER):
        options.append((0, _("Myself, as a social worker")))
    if not options:
        await message.answer(
            _("Projects are drafted by organisations (register one with /org) or social workers.")
        )
        return
    await state.set_state(ProjectForm.organisation)
    if len(options) == 1:
        await _chose_owner(message, state, principal, uow, options[0][0])
        return
    rows = [
        [button(name[:60], ProjectCb(action=ProjectCbAction.OWNER, id=oid))]
        for oid, name in options
    ]
    await message.answer(
        _("For which organisation?"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


@router.callback_query(
    ProjectForm.organisation, ProjectCb.filter(F.action == ProjectCbAction.OWNER)
)
async def owner_chosen(
    callback: CallbackQuery,
    callback_data: ProjectCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _chose_owner(callback.message, state, principal, uow, callback_data.id)


async def _chose_owner(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, organisation_id: int
) -> None:
    if organisation_id:
        allowed = list((await organisations.get(uow, organisation_id=organisation_id)).communities)
    else:
        allowed = [
            c.id for c in await places.covered_communities(uow, principal, (Role.SOCIAL_WORKER,))
        ]
    names = {
        c.id: c.label(principal.locale)
        for c in await places.all_communities(uow)
        if c.id in set(allowed)
    }
    await state.update_data(
        organisation=organisation_id,
        allowed={str(k): v for k, v in names.items()},
        categories=[],
        communities=[str(allowed[0])] if allowed else [],
    )
    await state.set_state(ProjectForm.title)
    await message.answer(_("The project's title? Or /cancel."))


@router.message(ProjectForm.title, F.text)
async def project_title(message: Message, state: FSMContext) -> None:
    await state.update_data(title=(message.text or "")[:200])
    await state.set_state(ProjectForm.purpose)
    await message.answer(_("Its purpose: whom it serves and what it will do?"))


@router.message(ProjectForm.purpose, F.text)
async def project_purpose(message: Message, state: FSMContext) -> None:
    await state.update_data(purpose=(message.text or "")[:2000])
    await state.set_state(ProjectForm.kind)
    rows = [
        [button(str(label), ProjectCb(action=ProjectCbAction.KIND, value=k.value))]
        for k, label in KIND_NAMES.items()
    ]
    await message.answer(
        _("What kind of project?"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


def _categories_keyboard(chosen: set[str]) -> InlineKeyboardMarkup:
    return toggle_keyboard(
        [(c.value, str(name)) for c, name in CATEGORY_NAMES.items()],
        chosen,
        tap=lambda value: ProjectCb(action=ProjectCbAction.CAT, value=value),
        done=ProjectCb(action=ProjectCbAction.CATS_DONE),
    )


@router.callback_query(ProjectForm.kind, ProjectCb.filter(F.action == ProjectCbAction.KIND))
async def project_kind(
    callback: CallbackQuery, callback_data: ProjectCb, state: FSMContext
) -> None:
    await state.update_data(kind=ProjectKind(callback_data.value).value)
    await state.set_state(ProjectForm.categories)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("Which needs does it answer? Tap all that apply, then Next."),
            reply_markup=_categories_keyboard(set()),
        )


@router.callback_query(ProjectForm.categories, ProjectCb.filter(F.action == ProjectCbAction.CAT))
async def project_category(
    callback: CallbackQuery, callback_data: ProjectCb, state: FSMContext
) -> None:
    chosen = set((await state.get_data())["categories"]) ^ {callback_data.value}
    chosen &= set(NeedCategory._value2member_map_)
    await state.update_data(categories=sorted(chosen))
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=_categories_keyboard(chosen))


def _communities_keyboard(allowed: dict[str, str], chosen: set[str]) -> InlineKeyboardMarkup:
    return toggle_keyboard(
        list(allowed.items())[:30],
        chosen,
        tap=lambda value: ProjectCb(action=ProjectCbAction.PLACE, value=value),
        done=ProjectCb(action=ProjectCbAction.PLACES_DONE),
    )


@router.callback_query(
    ProjectForm.categories, ProjectCb.filter(F.action == ProjectCbAction.CATS_DONE)
)
async def categories_done(callback: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    await state.set_state(ProjectForm.communities)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("Which communities does it serve? The first one's workers approve it. Then Next."),
            reply_markup=_communities_keyboard(data["allowed"], set(data["communities"])),
        )


@router.callback_query(ProjectForm.communities, ProjectCb.filter(F.action == ProjectCbAction.PLACE))
async def project_place(
    callback: CallbackQuery, callback_data: ProjectCb, state: FSMContext
) -> None:
    data = await state.get_data()
    chosen = [c for c in data["communities"] if c != callback_data.value]
    if len(chosen) == len(data["communities"]) and callback_data.value in data["allowed"]:
        chosen.append(callback_data.value)
    await state.update_data(communities=chosen)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(
            reply_markup=_communities_keyboard(data["allowed"], set(chosen))
        )


@router.callback_query(
    ProjectForm.communities, ProjectCb.filter(F.action == ProjectCbAction.PLACES_DONE)
)
async def places_done(callback: CallbackQuery, state: FSMContext) -> None:
    if not (await state.get_data())["communities"]:
        await callback.answer(_("Please choose at least one community."), show_alert=True)
        return
    await state.set_state(ProjectForm.budget)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(_("The budget in yuan (e.g. 12000 or 12,000.50)?"))


@router.message(ProjectForm.budget, F.text)
async def project_budget(message: Message, state: FSMContext) -> None:
    try:
        budget = parse_yuan(message.text or "")
    except InvalidInput:
        await message.answer(_("Please write an amount in yuan, like 12000 or 12,000.50."))
        return
    await state.update_data(budget=budget)
    await state.set_state(ProjectForm.period)
    await message.answer(_("From when to when? Like 2026-12-01 2027-03-31"))


@router.message(ProjectForm.period, F.text)
async def project_period(message: Message, state: FSMContext) -> None:
    try:
        start, end = parse_period(message.text or "")
    except InvalidInput:
        await message.answer(
            _("Please write two dates, like 2026-12-01 2027-03-31 (end after start).")
        )
        return
    await state.update_data(starts_on=start.isoformat(), ends_on=end.isoformat())
    await state.set_state(ProjectForm.major)
    await message.answer(
        _(
            "Is it a major matter (重大事项) that the community Party organisation must decide on "
            "(large money, many residents affected, public space)?"
        ),
        reply_markup=yes_no_keyboard("major"),
    )


@router.callback_query(ProjectForm.major, ConfirmCb.filter(F.flow == "major"))
async def project_major(
    callback: CallbackQuery, callback_data: ConfirmCb, state: FSMContext
) -> None:
    await state.update_data(major=callback_data.yes)
    data = await state.get_data()
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    text = "\n".join(
        [
            _("<b>Please check</b>"),
            html.escape(data["title"]),
            str(KIND_NAMES[ProjectKind(data["kind"])]),
            _("{community} · {start} – {end} · budget ¥{budget}").format(
                community=", ".join(html.escape(data["allowed"][c]) for c in data["communities"]),
                start=data["starts_on"],
                end=data["ends_on"],
                budget=yuan_text(data["budget"]),
            ),
            _("⚖️ Major matter: the party organisation decides.") if data["major"] else "",
        ]
    ).strip()
    await CONFIRM.ask(callback.message, state, text, edit=True)


@router.callback_query(*CONFIRM.filters)
async def project_save(
    callback: CallbackQuery,
    callback_data: ConfirmCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    data = await state.get_data()
    if not await CONFIRM.confirmed(callback, callback_data, state):
        return
    if not isinstance(callback.message, Message):
        return
    view = await projects.draft(
        uow,
        principal,
        organisation_id=data["organisation"] or None,
        title=data["title"],
        purpose=data["purpose"],
        kind=ProjectKind(data["kind"]),
        categories=[NeedCategory(c) for c in data["categories"]],
        community_ids=[int(c) for c in data["communities"]],
        budget_fen=data["budget"],
        starts_on=datetime.fromisoformat(data["starts_on"]).date(),
        ends_on=datetime.fromisoformat(data["ends_on"]).date(),
        major=data["major"],
    )
    await state.clear()
    await callback.message.edit_text(_("Draft saved. Submit it for approval when it is ready."))
    await show(callback.message, view, principal.locale)


@opens(PROJECT)
async def open_from_broadcast(
    message: Message, *, item_id: int, principal: Principal, uow: UnitOfWork, **_: Any
) -> None:
    """A broadcast's "see the project" button."""
    await show(message, await projects.view(uow, principal, project_id=item_id), principal.locale)
