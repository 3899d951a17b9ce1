"""/emergency: switch a community (or a street) into emergency mode and back, see the live
roll-call of the mobilised volunteers, and the community's resources for quick reservation.
Volunteers answer the mobilisation with "I can come" / "I can't"."""

from __future__ import annotations

import contextlib
import html

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.domain.broadcasts import MAX_DESCRIPTION, RollCallAnswer
from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.policy import EMERGENCY_COMMUNITY_ROLES
from bot.domain.principal import Principal
from bot.services import UnitOfWork, emergencies, places, resources
from bot.services.emergencies import EmergencyView, RollCallView
from handlers.common.callbacks import ResourceAction, ResourceCb
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.steps import id_number, in_both_languages
from handlers.common.texts import local_time, resource_text
from handlers.emergencies.callbacks import EmergencyAction, EmergencyCb
from handlers.emergencies.states import EmergencyForm
from handlers.emergencies.texts import header_text

router = RouteTable("emergency")

MAX_SCOPE_BUTTONS = 12


def mobilisation_text(description: str) -> str:
    return _(
        "Emergency in your community: {description}\nCan you come and help? Answer below; "
        "when you arrive, check in with /checkin and the code the worker shows."
    ).format(description=description)


def ended_text(description: str) -> str:
    return _("The emergency is over: {description}. Thank you to everyone who helped.").format(
        description=description
    )


def _emergency_keyboard(view: EmergencyView) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("Roll-call"), EmergencyCb(action=EmergencyAction.ROLL, id=view.id))],
            [
                button(
                    _("Resources for quick reservation"),
                    EmergencyCb(action=EmergencyAction.RES, id=view.id),
                )
            ],
            [
                button(
                    _("Switch emergency mode off"),
                    EmergencyCb(action=EmergencyAction.END, id=view.id),
                )
            ],
        ]
    )


@router.message(Command("emergency"))
async def emergency_menu(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    await state.clear()
    going = await emergencies.in_scope(uow, principal)
    for view in going:
        await message.answer(
            header_text(view.description)
            + "\n"
            + _("Since {when}").format(when=local_time(view.started_at, settings.tz)),
            reply_markup=_emergency_keyboard(view),
        )
    covered = await places.covered_communities(uow, principal, EMERGENCY_COMMUNITY_ROLES)
    if not covered:
        await message.answer(_("Emergency mode is switched by community workers and admins."))
        return
    rows = [
        [
            button(
                c.label(principal.locale),
                EmergencyCb(action=EmergencyAction.SCOPE, value=f"c{c.id}"),
            )
        ]
        for c in covered[:MAX_SCOPE_BUTTONS]
    ]
    if principal.has_role(Role.STREET_ADMIN, Role.DISTRICT_ADMIN) or principal.is_superadmin:
        streets = {c.street.id: c.street for c in covered}
        rows += [
            [
                button(
                    _("Whole street: {name}").format(name=s.label(principal.locale)),
                    EmergencyCb(action=EmergencyAction.SCOPE, value=f"s{s.id}"),
                )
            ]
            for s in list(streets.values())[:MAX_SCOPE_BUTTONS]
        ]
    await message.answer(
        _("Switch emergency mode on for:"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


@router.callback_query(EmergencyCb.filter(F.action == EmergencyAction.SCOPE))
async def scope_chosen(
    callback: CallbackQuery, callback_data: EmergencyCb, state: FSMContext
) -> None:
    value = callback_data.value
    level = ScopeLevel.STREET if value.startswith("s") else ScopeLevel.COMMUNITY
    scope = id_number(value[1:])
    if scope is None:
        await callback.answer(_("This button is no longer valid."), show_alert=True)
        return
    await state.set_state(EmergencyForm.description)
    await state.update_data(level=level.value, scope=scope)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _(
                "Describe the emergency in one sentence (at most {limit} characters). /cancel "
                "stops."
            ).format(limit=MAX_DESCRIPTION)
        )


@router.message(EmergencyForm.description, F.text)
async def description_typed(message: Message, state: FSMContext) -> None:
    text = " ".join((message.text or "").split())
    if not text or len(text) > MAX_DESCRIPTION:
        await message.answer(
            _("Please describe it in at most {limit} characters.").format(limit=MAX_DESCRIPTION)
        )
        return
    await state.update_data(description=text)
    await state.set_state(EmergencyForm.confirm)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("Yes, switch it on"), EmergencyCb(action=EmergencyAction.START))],
            [button(_("Cancel"), EmergencyCb(action=EmergencyAction.DROP))],
        ]
    )
    await message.answer(
        _(
            "Switch emergency mode on? New requests become urgent and all verified volunteers "
            "are asked to come.\n{description}"
        ).format(description=html.escape(text)),
        reply_markup=keyboard,
    )


@router.callback_query(EmergencyForm.confirm, EmergencyCb.filter(F.action == EmergencyAction.DROP))
async def drop(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(_("Cancelled. Nothing was changed."))


@router.callback_query(EmergencyForm.confirm, EmergencyCb.filter(F.action == EmergencyAction.START))
async def start(
    callback: CallbackQuery,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    i18n: I18n,
    channel: Channel,
) -> None:
    data = await state.get_data()
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    view, sent = await emergencies.start(
        uow,
        principal,
        level=ScopeLevel(data["level"]),
        scope_id=int(data["scope"]),
        description=data["description"],
        texts=in_both_languages(i18n, lambda: mobilisation_text(data["description"])),
        progress_to=(channel, str(callback.message.chat.id)),
    )
    await state.clear()
    emergencies.forget_active()
    await callback.message.answer(
        header_text(view.description)
        + "\n"
        + _("Emergency mode is on. {count} volunteers are being asked to come.").format(
            count=sent.progress.total
        ),
        reply_markup=_emergency_keyboard(view),
    )


@router.callback_query(EmergencyCb.filter(F.action == EmergencyAction.END))
async def end(
    callback: CallbackQuery,
    callback_data: EmergencyCb,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    _("Yes, switch it off"),
                    EmergencyCb(action=EmergencyAction.END_YES, id=callback_data.id),
                )
            ]
        ]
    )
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("Switch emergency mode off and tell residents and volunteers?"),
            reply_markup=keyboard,
        )


@router.callback_query(EmergencyCb.filter(F.action == EmergencyAction.END_YES))
async def end_confirmed(
    callback: CallbackQuery,
    callback_data: EmergencyCb,
    principal: Principal,
    uow: UnitOfWork,
    i18n: I18n,
) -> None:
    emergency = next(
        (e for e in await emergencies.in_scope(uow, principal) if e.id == callback_data.id), None
    )
    description = emergency.description if emergency else ""
    view = await emergencies.end(
        uow,
        principal,
        emergency_id=callback_data.id,
        texts=in_both_languages(i18n, lambda: ended_text(description)),
    )
    emergencies.forget_active()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("Emergency mode is off: {description}").format(
                description=html.escape(view.description)
            )
        )


def roll_call_text(view: RollCallView) -> str:
    coming = [f"{html.escape(name)}{' ✅' if arrived else ''}" for name, arrived in view.coming]
    lines = [
        _("Roll-call: {description}").format(description=html.escape(view.emergency.description)),
        _("Coming ({count}, ✅ = arrived): {names}").format(
            count=len(coming), names=", ".join(coming) or "—"
        ),
        _("Can't ({count}): {names}").format(
            count=len(view.cannot), names=", ".join(html.escape(n) for n in view.cannot) or "—"
        ),
        _("No answer yet ({count}): {names}").format(
            count=view.silent_count,
            names=", ".join(html.escape(n) for n in view.silent) or "—",
        ),
    ]
    return "\n".join(lines)


@router.callback_query(
    EmergencyCb.filter(F.action.in_({EmergencyAction.ROLL, EmergencyAction.REFRESH}))
)
async def show_roll_call(
    callback: CallbackQuery, callback_data: EmergencyCb, principal: Principal, uow: UnitOfWork
) -> None:
    view = await emergencies.roll_call(uow, principal, emergency_id=callback_data.id)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("Refresh"), EmergencyCb(action=EmergencyAction.REFRESH, id=callback_data.id))]
        ]
    )
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    text = roll_call_text(view)
    if callback_data.action is EmergencyAction.REFRESH:
        with contextlib.suppress(TelegramBadRequest):  # "not modified": nothing new
            await callback.message.edit_text(text, reply_markup=keyboard)
        return
    await callback.message.answer(text, reply_markup=keyboard)


@router.callback_query(EmergencyCb.filter(F.action == EmergencyAction.RES))
async def emergency_resources(
    callback: CallbackQuery, callback_data: EmergencyCb, principal: Principal, uow: UnitOfWork
) -> None:
    emergency = next(
        (e for e in await emergencies.in_scope(uow, principal) if e.id == callback_data.id), None
    )
    await callback.answer()
    if emergency is None or not isinstance(callback.message, Message):
        return
    found = await resources.in_communities(uow, principal, community_ids=emergency.community_ids)
    if not found:
        await callback.message.answer(_("No resources are listed in these communities."))
    for view in found:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("Reserve"), ResourceCb(action=ResourceAction.RESERVE, id=view.id))]
            ]
        )
        await callback.message.answer(resource_text(view, principal.locale), reply_markup=keyboard)


@router.callback_query(
    EmergencyCb.filter(F.action.in_({EmergencyAction.COMING, EmergencyAction.CANNOT}))
)
async def roll_call_answer(
    callback: CallbackQuery, callback_data: EmergencyCb, principal: Principal, uow: UnitOfWork
) -> None:
    reply = (
        RollCallAnswer.COMING
        if callback_data.action is EmergencyAction.COMING
        else RollCallAnswer.CANNOT
    )
    shift_id = await emergencies.answer(uow, principal, emergency_id=callback_data.id, reply=reply)
    if reply is RollCallAnswer.COMING:
        text = _("Thank you! When you arrive, check in with /checkin.")
        if shift_id is None:
            text = _("Thank you! Please report to the community office when you arrive.")
    else:
        text = _("Thank you for letting us know.")
    await callback.answer(text, show_alert=True)
