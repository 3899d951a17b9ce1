"""/consult: the list of consultations, one consultation's page, its deep link (`c_<id>`, with an
invited seat `c_<id>_<actor>_<token>`) and a broadcast's "open the consultation" button."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.domain.consultations import Actor
from bot.domain.errors import NotFound, PermissionDenied
from bot.domain.policy import CONSULTATION_ROLES
from bot.domain.principal import Principal
from bot.services import UnitOfWork, consultations, places
from bot.services.crypto import PersonalDataCipher
from handlers.common.deeplinks import deep_link
from handlers.common.keyboards import button
from handlers.common.openers import CONSULTATION, opens
from handlers.common.routing import RouteTable
from handlers.common.steps import (
    id_number,
)
from handlers.consultations.callbacks import ConsultAction, ConsultCb
from handlers.consultations.form import start_form
from handlers.consultations.texts import ACTOR_NAMES, PHASE_NAMES, show

router = RouteTable("consultations")


@opens(CONSULTATION)
async def open_from_broadcast(
    message: Message,
    *,
    item_id: int,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    cipher: PersonalDataCipher,
) -> None:
    """A broadcast's "open the consultation" button."""
    found = await consultations.view(
        uow, principal, consultation_id=item_id, ballot_secret=cipher.ballot_secret
    )
    await show(message, found, settings)


@router.message(Command("consult"))
async def consult_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    await state.clear()
    if (command.args or "").strip().lower() == "new":
        await start_form(message, state, principal, uow, need_id=None)
        return
    found = await consultations.listing(uow, principal)
    rows = [
        [
            button(
                f"C{v.id} {v.title} · {PHASE_NAMES[v.phase]}"[:60],
                ConsultCb(action=ConsultAction.OPEN, id=v.id),
            )
        ]
        for v in found
    ]
    if await places.covered_communities(uow, principal, CONSULTATION_ROLES):
        rows.append([button(_("Open a new consultation"), ConsultCb(action=ConsultAction.NEW))])
    if not rows:
        await message.answer(_("There is no consultation in your community right now."))
        return
    await message.answer(
        _("Consultations (协商议事):") if found else _("No consultations yet."),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.OPEN))
async def open_page(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    cipher: PersonalDataCipher,
) -> None:
    view = await consultations.view(
        uow, principal, consultation_id=callback_data.id, ballot_secret=cipher.ballot_secret
    )
    await callback.answer()
    if isinstance(callback.message, Message):
        await show(callback.message, view, settings)


@deep_link("c_")
async def consultation_link(message: Message, rest: str, data: dict[str, Any]) -> None:
    """`c_<id>` opens it; `c_<id>_<actor>_<token>` also takes an invited seat."""
    principal: Principal = data["principal"]
    number, _sep, invitation = rest.partition("_")
    try:
        if id_number(number) is None:
            raise NotFound("consultation", 0)
        if invitation:
            actor_name, _sep2, token = invitation.rpartition("_")
            actor = Actor(actor_name) if actor_name in Actor._value2member_map_ else None
            if actor is None:
                raise PermissionDenied()
            await consultations.take_seat(
                data["uow"],
                data["cipher"],
                principal,
                consultation_id=int(number),
                actor=actor,
                token=token,
            )
            await message.answer(_("You take part as: {actor}.").format(actor=ACTOR_NAMES[actor]))
        view = await consultations.view(
            data["uow"],
            principal,
            consultation_id=int(number),
            ballot_secret=data["cipher"].ballot_secret,
        )
    except (NotFound, PermissionDenied):
        await message.answer(_("This link is not valid or has expired."))
        return
    await show(message, view, data["settings"])
