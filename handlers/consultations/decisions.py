"""Closing a consultation and deciding: the count, the decision (for a major matter by the party
reviewer, with the date and minutes of its meeting), announcing it, the minutes' file."""

from __future__ import annotations

from datetime import date

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.domain.errors import PermissionDenied
from bot.domain.principal import Principal
from bot.services import UnitOfWork, consultations
from bot.services.consultations import OpinionView
from bot.services.ports import Notifier
from handlers.common.routing import RouteTable
from handlers.common.steps import (
    ask,
    in_both_languages,
)
from handlers.consultations.callbacks import ConsultAction, ConsultCb
from handlers.consultations.states import ConsultForm
from handlers.consultations.texts import minutes_text, results_text, show

router = RouteTable("consultation_decisions")


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.CLOSE))
async def close(
    callback: CallbackQuery, callback_data: ConsultCb, principal: Principal, uow: UnitOfWork
) -> None:
    found = await consultations.close(uow, principal, consultation_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(results_text(found))
        await callback.message.answer(
            _(
                "Closed. The decision is recorded next (for a major matter by the party "
                "organisation's reviewer)."
            )
        )


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.RESULTS))
async def show_results(
    callback: CallbackQuery, callback_data: ConsultCb, principal: Principal, uow: UnitOfWork
) -> None:
    found = await consultations.results(uow, principal, consultation_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(results_text(found))


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.DECIDE))
async def decide(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    view = await consultations.view(uow, principal, consultation_id=callback_data.id)
    if not view.can_decide:
        raise PermissionDenied()
    await ask(
        callback,
        state,
        ConsultForm.decision,
        _("The decision, as it will be announced?"),
        consultation=view.id,
        major=view.major,
    )


@router.message(ConsultForm.decision, F.text)
async def decision_typed(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    i18n: I18n,
    settings: Settings,
) -> None:
    await state.update_data(decision=(message.text or "").strip())
    if (await state.get_data())["major"]:
        await state.set_state(ConsultForm.decided_on)
        await message.answer(_("The date of the party organisation's meeting (YYYY-MM-DD)?"))
        return
    await _record_decision(message, state, principal, uow, notifier, i18n, settings)


@router.message(ConsultForm.decided_on, F.text)
async def decided_on_typed(message: Message, state: FSMContext) -> None:
    try:
        day = date.fromisoformat((message.text or "").strip())
    except ValueError:
        await message.answer(_("Please write the date like 2026-12-01."))
        return
    await state.update_data(decided_on=day.isoformat())
    await state.set_state(ConsultForm.minutes)
    await message.answer(_("The minutes of that meeting (a summary)?"))


@router.message(ConsultForm.minutes, F.text)
async def minutes_typed(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    i18n: I18n,
    settings: Settings,
) -> None:
    await state.update_data(minutes=(message.text or "").strip())
    await _record_decision(message, state, principal, uow, notifier, i18n, settings)


async def _record_decision(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    i18n: I18n,
    settings: Settings,
) -> None:
    data = await state.get_data()
    view = await consultations.view(uow, principal, consultation_id=data["consultation"])
    decision = data["decision"]
    shown = await consultations.decide(
        uow,
        notifier,
        principal,
        consultation_id=view.id,
        decision=decision,
        decided_on=date.fromisoformat(data["decided_on"]) if data.get("decided_on") else None,
        minutes=data.get("minutes"),
        texts=in_both_languages(
            i18n,
            lambda: _("Outcome of the consultation “{title}”: {decision}").format(
                title=view.title, decision=decision
            ),
        ),
    )
    await state.clear()
    await message.answer(_("The decision is recorded and sent to everyone who took part."))
    await show(message, shown, settings)


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.MINUTES))
async def minutes(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    found = await consultations.results(uow, principal, consultation_id=callback_data.id)
    opinions: list[OpinionView] = []
    page = 0
    while True:
        chunk = await consultations.opinions(
            uow, principal, consultation_id=callback_data.id, page=page
        )
        opinions.extend(chunk.items)
        if not chunk.has_next or page > 40:
            break
        page += 1
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    text = minutes_text(found, opinions, settings)
    await callback.message.answer_document(
        BufferedInputFile(
            text.encode("utf-8"), filename=f"consultation-C{found.consultation.id}.txt"
        ),
        caption=_("Minutes of C{id}").format(id=found.consultation.id),
    )
