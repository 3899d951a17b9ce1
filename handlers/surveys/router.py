"""Needs surveys: /newsurvey and /surveys for workers, /survey for residents."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import DomainError, InvalidInput
from bot.domain.principal import Principal
from bot.domain.surveys import MULTI, TEXT, parse_survey
from bot.services import UnitOfWork, places, surveys
from bot.services.surveys import QuestionView, SurveyBrief, SurveyView
from handlers.common.deeplinks import deep_link
from handlers.common.keyboards import Keyboard, button, choice_label
from handlers.common.openers import SURVEY, opens
from handlers.common.routing import RouteTable
from handlers.common.texts import error_text
from handlers.surveys.callbacks import SurveyAction, SurveyCb
from handlers.surveys.states import SurveyAnswering, SurveyForm

router = RouteTable("surveys")


def _menu(rows: Sequence[SurveyBrief], action: SurveyAction) -> InlineKeyboardMarkup:
    """One button per survey, each doing `action` (open to answer, or show results)."""
    builder = Keyboard()
    for survey in rows:
        builder.row(button(survey.title, SurveyCb(action=action, survey=survey.id)))
    return builder.as_markup()


# ---------------------------------------------------------------- workers: create


@router.message(Command("newsurvey"))
async def new_survey(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(SurveyForm.source)
    await message.answer(
        _(
            "Send the survey as one message, like this:\n\n"
            "<code>Needs of older residents 2026\n"
            "? Do you live alone?\n- Yes\n- No\n"
            "?* Which services would help you?\n- Meals\n- Health checks\n- Company\n"
            "?? Anything else?</code>\n\n"
            "? starts a single-choice question, ?* a multiple-choice one, ?? the one free-text "
            "question; - starts an option. Or /cancel."
        )
    )


@router.message(SurveyForm.source, F.text)
async def survey_source(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    try:
        spec = parse_survey(message.text or "")
    except InvalidInput as error:
        await message.answer(
            _("I could not read that survey ({problem}). Please fix it and send it again.").format(
                problem=_survey_problem(error.reason)
            )
        )
        return
    await state.update_data(source=message.text, chosen=[])
    await state.set_state(SurveyForm.communities)
    await _show_places(message, state, principal, uow, spec.title, edit=False)


def _survey_problem(reason: str) -> str:
    if reason.startswith("line "):
        return _("see line {line}").format(line=reason.split()[1].rstrip(":"))
    if reason == "questions":
        return _("it needs 1 to 10 questions, each with 2 to 8 options")
    return _("only one free-text question is allowed")


async def _show_places(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    title: str,
    *,
    edit: bool,
) -> None:
    chosen = set((await state.get_data()).get("chosen", []))
    builder = Keyboard()
    for community in await places.covered_communities(uow, principal):
        builder.row(
            button(
                choice_label(community.label(principal.locale), community.id in chosen),
                SurveyCb(action=SurveyAction.PLACE, option=community.id),
            )
        )
    builder.row(button(_("Open the survey"), SurveyCb(action=SurveyAction.CREATE)))
    text = _("“{title}”: which communities should answer it? Tap to choose.").format(
        title=html.escape(title)
    )
    if edit:
        await message.edit_text(text, reply_markup=builder.as_markup())
    else:
        await message.answer(text, reply_markup=builder.as_markup())


@router.callback_query(SurveyForm.communities, SurveyCb.filter(F.action == SurveyAction.PLACE))
async def survey_toggle_place(
    callback: CallbackQuery,
    callback_data: SurveyCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    data = await state.get_data()
    chosen = set(data.get("chosen", []))
    chosen ^= {callback_data.option}
    await state.update_data(chosen=sorted(chosen))
    await callback.answer()
    if isinstance(callback.message, Message):
        spec = parse_survey(data["source"])
        await _show_places(callback.message, state, principal, uow, spec.title, edit=True)


@router.callback_query(SurveyForm.communities, SurveyCb.filter(F.action == SurveyAction.CREATE))
async def survey_create(
    callback: CallbackQuery, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.get_data()
    if not data.get("chosen"):
        await callback.answer(_("Choose at least one community."), show_alert=True)
        return
    survey = await surveys.create_survey(
        uow, principal, spec=parse_survey(data["source"]), community_ids=data["chosen"]
    )
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _(
                "The survey “{title}” is open. Residents find it with /survey; "
                "see the answers with /surveys."
            ).format(title=html.escape(survey.title))
        )


# ---------------------------------------------------------------- workers: results


@router.message(Command("surveys"))
async def survey_list(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    rows = await surveys.my_surveys(uow, principal)
    if not rows:
        await message.answer(_("No surveys yet. Create one with /newsurvey."))
        return
    await message.answer(
        _("Which survey's answers?"), reply_markup=_menu(rows, SurveyAction.RESULTS)
    )


@router.callback_query(SurveyCb.filter(F.action == SurveyAction.RESULTS))
async def survey_results(
    callback: CallbackQuery, callback_data: SurveyCb, principal: Principal, uow: UnitOfWork
) -> None:
    view = await surveys.results(uow, principal, survey_id=callback_data.survey)
    await callback.answer()
    if isinstance(callback.message, Message):
        for chunk in results_chunks(view):
            await callback.message.answer(chunk)


def results_chunks(view: SurveyView, budget: int = 3900) -> list[str]:
    """The results as whole lines in messages of at most `budget` characters (never cutting
    inside a tag)."""
    chunks, current = [], ""
    for line in results_text(view).split("\n"):
        line = line[:budget]
        if current and len(current) + len(line) + 1 > budget:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def results_text(view: SurveyView) -> str:
    lines = [
        f"<b>{html.escape(view.title)}</b>",
        _("Answers: {count}").format(count=view.responses),
    ]
    for question in view.questions:
        lines += ["", f"<b>{html.escape(question.text)}</b>"]
        for option in question.options:
            share = round(100 * option.count / view.responses) if view.responses else 0
            lines.append(f"• {html.escape(option.text)}: {option.count} ({share}%)")
        lines += [f"— {html.escape(text)}" for text in question.texts]
    return "\n".join(lines)


# ---------------------------------------------------------------- residents: answer


@router.message(Command("survey"))
async def survey_open_list(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    rows = await surveys.open_for_me(uow, principal)
    if not rows:
        await message.answer(_("There is no survey for you to answer right now."))
        return
    await message.answer(
        _("Surveys from your community:"), reply_markup=_menu(rows, SurveyAction.OPEN)
    )


@router.callback_query(SurveyCb.filter(F.action == SurveyAction.OPEN))
async def survey_start(
    callback: CallbackQuery,
    callback_data: SurveyCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    view = await surveys.survey_for_answering(uow, principal, survey_id=callback_data.survey)
    await callback.answer()
    if isinstance(callback.message, Message):
        await start_answering(callback.message, state, view)


async def start_answering(message: Message, state: FSMContext, view: SurveyView) -> None:
    """Ask the first question (also from a broadcast's Answer button)."""
    await state.set_state(SurveyAnswering.choosing)
    await state.update_data(survey=view.id, index=0, choices={}, text=None)
    await _ask(message, state, view)


async def _ask(message: Message, state: FSMContext, view: SurveyView) -> None:
    data = await state.get_data()
    index = data["index"]
    if index >= len(view.questions):
        await _finish(message, state, data)
        return
    question = view.questions[index]
    header = f"({index + 1}/{len(view.questions)}) <b>{html.escape(question.text)}</b>"
    if question.kind == TEXT:
        await state.set_state(SurveyAnswering.text)
        skip = InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("Skip"), SurveyCb(action=SurveyAction.SKIP, survey=view.id))]
            ]
        )
        await message.answer(header + "\n" + _("Type your answer, or tap Skip."), reply_markup=skip)
        return
    await state.set_state(SurveyAnswering.choosing)
    await message.answer(header, reply_markup=_options(question, view.id, data))


def _options(question: QuestionView, survey_id: int, data: dict[str, Any]) -> InlineKeyboardMarkup:
    picked = set(data["choices"].get(str(question.id), []))
    builder = Keyboard()
    for option in question.options:
        builder.row(
            button(
                choice_label(option.text, option.id in picked),
                SurveyCb(action=SurveyAction.PICK, survey=survey_id, option=option.id),
            )
        )
    if question.kind == MULTI:
        builder.row(button(_("Done"), SurveyCb(action=SurveyAction.DONE, survey=survey_id)))
    return builder.as_markup()


@router.callback_query(
    SurveyAnswering.choosing, SurveyCb.filter(F.action.in_({SurveyAction.PICK, SurveyAction.DONE}))
)
async def survey_pick(
    callback: CallbackQuery,
    callback_data: SurveyCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    data = await state.get_data()
    if callback_data.survey != data.get("survey"):
        await _no_longer_valid(callback)
        return
    view = await surveys.survey_for_answering(uow, principal, survey_id=data["survey"])
    if data["index"] >= len(view.questions):  # a stale tap after the last question
        await callback.answer()
        return
    question = view.questions[data["index"]]
    picked = set(data["choices"].get(str(question.id), []))
    message = callback.message
    if callback_data.action == SurveyAction.PICK:
        if callback_data.option not in {o.id for o in question.options}:
            await _no_longer_valid(callback)
            return
        option = callback_data.option
        picked = picked ^ {option} if question.kind == MULTI else {option}
        data["choices"][str(question.id)] = sorted(picked)
        await state.update_data(choices=data["choices"])
        if question.kind == MULTI:
            await callback.answer()
            if isinstance(message, Message):
                await message.edit_reply_markup(reply_markup=_options(question, view.id, data))
            return
    elif not picked:
        await callback.answer(_("Choose at least one answer."), show_alert=True)
        return
    await callback.answer()
    await state.update_data(index=data["index"] + 1)
    if isinstance(message, Message):
        await message.edit_reply_markup(reply_markup=None)
        await _ask(message, state, view)


async def _no_longer_valid(callback: CallbackQuery) -> None:
    await callback.answer(
        _("This button is no longer valid. Send /start to begin again."), show_alert=True
    )


@router.message(SurveyAnswering.text, F.text)
async def survey_text(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.update_data(text=message.text)
    await _next_after_text(message, state, principal, uow)


@router.callback_query(SurveyAnswering.text, SurveyCb.filter(F.action == SurveyAction.SKIP))
async def survey_skip_text(
    callback: CallbackQuery, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _next_after_text(callback.message, state, principal, uow)


async def _next_after_text(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.get_data()
    await state.update_data(index=data["index"] + 1)
    view = await surveys.survey_for_answering(uow, principal, survey_id=data["survey"])
    await _ask(message, state, view)


async def _finish(message: Message, state: FSMContext, data: dict[str, Any]) -> None:
    # Answers are sent only on an explicit tap, so nothing is recorded half-way.
    await state.set_state(SurveyAnswering.choosing)
    builder = Keyboard()
    builder.row(
        button(_("Send my answers"), SurveyCb(action=SurveyAction.SUBMIT, survey=data["survey"]))
    )
    await message.answer(_("That was the last question."), reply_markup=builder.as_markup())


@router.callback_query(SurveyAnswering.choosing, SurveyCb.filter(F.action == SurveyAction.SUBMIT))
async def survey_submit(
    callback: CallbackQuery,
    callback_data: SurveyCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    data = await state.get_data()
    if callback_data.survey != data.get("survey"):
        await callback.answer(
            _("This button is no longer valid. Send /start to begin again."), show_alert=True
        )
        return
    await surveys.submit(
        uow,
        principal,
        survey_id=data["survey"],
        choices={int(q): options for q, options in data["choices"].items()},
        text=data.get("text"),
    )
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(_("Thank you! Your answers are recorded."))


@opens(SURVEY)
async def open_from_broadcast(
    message: Message,
    *,
    item_id: int,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    **_: Any,
) -> None:
    """A broadcast's "answer the survey" button."""
    survey = await surveys.survey_for_answering(uow, principal, survey_id=item_id)
    await start_answering(message, state, survey)


@deep_link("sv_")
async def open_survey(message: Message, rest: str, data: dict[str, Any]) -> None:
    """`/start sv_<id>`: a survey announced in a group, answered in the private chat."""
    if not rest.isdigit():
        await message.answer(_("This link is not valid or has expired."))
        return
    try:
        survey = await surveys.survey_for_answering(
            data["uow"], data["principal"], survey_id=int(rest)
        )
    except DomainError as error:
        await message.answer(error_text(error))
        return
    await start_answering(message, data["state"], survey)
