"""Matching in the daily work: a worker's "Suggestions" on a need (assign with one tap),
volunteers' /helpnearby ("I can help", the worker decides), and taking an offered need."""

from __future__ import annotations

import html

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.needs import NeedCategory
from bot.domain.principal import Principal
from bot.domain.volunteers import Skill
from bot.services import UnitOfWork, matching, needs
from bot.services.matching import Reason, Suggestion, Suggestions
from bot.services.ports import Notifier
from handlers.common.callbacks import NeedAction, NeedCb
from handlers.common.routing import RouteTable
from handlers.common.texts import CATEGORY_NAMES
from handlers.common.volunteer_texts import SKILL_NAMES, slot_label
from handlers.matching.callbacks import MatchAction, MatchCb

router = RouteTable("matching")

REASON_TEXTS = {
    "same_grid": __("same grid"),
    "same_community": __("serves this community"),
    "same_street": __("same street"),
    "skill": __("has skill: {value}"),
    "no_skill": __("no matching skill"),
    "free": __("free {value}"),
    "free_unknown": __("free times not given"),
    "busy": __("said they are busy then"),
    "load": __("{value} open assignments"),
    "services": __("{value} confirmed services"),
    "failed": __("{value} failed spot checks"),
    "rating": __("rated {value}/5"),
    "available": __("{value} available"),
    "answers": __("answers: {value}"),
    "places": __("{value} free places"),
}


def _value(reason: Reason) -> str:
    if reason.code == "skill" and reason.value in Skill._value2member_map_:
        return str(SKILL_NAMES[Skill(reason.value)])
    if reason.code == "free":
        return slot_label(reason.value)
    if reason.code == "answers" and reason.value in NeedCategory._value2member_map_:
        return str(CATEGORY_NAMES[NeedCategory(reason.value)])
    return html.escape(reason.value)


def reasons_text(suggestion: Suggestion) -> str:
    return "; ".join(str(REASON_TEXTS[r.code]).format(value=_value(r)) for r in suggestion.reasons)


VOLUNTEER_GAPS = {
    "none_in_scope": __(
        "No verified volunteer serves this place yet. Verify volunteers in /volunteers, "
        "or assign the request to a worker or an organisation."
    ),
    "all_busy": __(
        "Every volunteer who serves this place already has the most open tasks allowed. "
        "Assign a worker or an organisation, or wait until a task is finished."
    ),
    "none_with_skill": __(
        "Nobody here has a skill listed for this kind of request; those shown are the "
        "nearest and most free."
    ),
}


def suggestions_text(found: Suggestions) -> str:
    lines = [_("<b>Suggestions for {reference}</b>").format(reference=found.need.reference)]
    gap = found.volunteer_gap
    sections = (
        (_("Volunteers"), found.volunteers, gap),
        (_("Resources"), found.resources, None),
        (_("Projects"), found.projects, None),
    )
    for title, items, why in sections:
        lines.append(f"\n<b>{title}</b>")
        if not items and why is None:
            lines.append(_("— none in scope"))
        for n, item in enumerate(items, 1):
            label = f"P{item.id} {item.label}" if item.kind == "project" else item.label
            lines.append(f"{n}. {html.escape(label)} — {reasons_text(item)}")
        if why is not None:
            lines.append(str(VOLUNTEER_GAPS[why]))
    return "\n".join(lines)


@router.callback_query(NeedCb.filter(F.action == NeedAction.SUGGEST))
async def suggest(
    callback: CallbackQuery,
    callback_data: NeedCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    found = await matching.suggest(
        uow,
        principal,
        need_id=callback_data.id,
        weights=settings.weights,
        tz=settings.tz,
        cache_seconds=settings.match_cache_seconds,
    )
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    rows = [
        [
            InlineKeyboardButton(
                text=_("Assign {name}").format(name=v.label)[:60],
                callback_data=NeedCb(
                    action=NeedAction.ASSIGN, id=found.need.id, arg=f"p-{v.id}"
                ).pack(),
            )
        ]
        for v in found.volunteers
    ]
    await callback.message.answer(
        suggestions_text(found), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


@router.callback_query(NeedCb.filter(F.action == NeedAction.TAKE_OFFER))
async def take_offer(
    callback: CallbackQuery,
    callback_data: NeedCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
) -> None:
    brief = await needs.take_offer(uow, notifier, principal, need_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("It is yours: request {reference}. See it in /tasks. Thank you!").format(
                reference=brief.reference
            )
        )


# ---------------------------------------------------------------- volunteers


@router.message(Command("helpnearby"))
async def help_nearby(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    await _send_page(message, principal, uow, 0)


@router.callback_query(MatchCb.filter(F.action == MatchAction.PAGE))
async def help_page(
    callback: CallbackQuery, callback_data: MatchCb, principal: Principal, uow: UnitOfWork
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _send_page(callback.message, principal, uow, callback_data.id)


async def _send_page(message: Message, principal: Principal, uow: UnitOfWork, page: int) -> None:
    listing = await matching.needs_near_me(uow, principal, page=page)
    if not listing.items:
        await message.answer(_("No open requests in your communities right now. Thank you!"))
        return
    for need in listing.items:
        heading = f"<b>{need.reference}</b> · {CATEGORY_NAMES[need.category]}"
        text = f"{heading}\n{html.escape(need.description)}"
        if need.fits:
            text += "\n" + _("(One of your skills fits.)")
        keyboard = None
        if not need.offered:
            keyboard = InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text=_("I can help"),
                            callback_data=MatchCb(action=MatchAction.OFFER, id=need.id).pack(),
                        )
                    ]
                ]
            )
        await message.answer(text, reply_markup=keyboard)
    if listing.has_next:
        await message.answer(
            _("More requests:"),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text="›",
                            callback_data=MatchCb(action=MatchAction.PAGE, id=page + 1).pack(),
                        )
                    ]
                ]
            ),
        )


@router.callback_query(MatchCb.filter(F.action == MatchAction.OFFER))
async def offer(
    callback: CallbackQuery,
    callback_data: MatchCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
) -> None:
    reference = await matching.offer_help(uow, notifier, principal, need_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("Thank you! The community worker was told you can help with {reference}.").format(
                reference=reference
            )
        )
