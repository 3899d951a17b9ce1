"""/grant: an admin gives a person a role over a district, street or community."""

from __future__ import annotations

import html

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.enums import ORGANISATION_ROLES, ROLE_SCOPE, Role, ScopeLevel
from bot.domain.principal import Principal
from bot.services import UnitOfWork, people, places, roles
from handlers.common.callbacks import ConfirmCb, PlaceAction, PlaceCb, RoleCb
from handlers.common.confirm import ConfirmStep
from handlers.common.keyboards import roles_keyboard, yes_no_keyboard
from handlers.common.place_picker import show_place_screen
from handlers.common.routing import RouteTable
from handlers.common.states import GrantRole
from handlers.common.steps import save_then_clear
from handlers.common.texts import LEVEL_NAMES, role_name

router = RouteTable("admin")
GRANT = ConfirmStep("grant", GrantRole.confirm)

LEVEL_CODES = {ScopeLevel.DISTRICT: "d", ScopeLevel.STREET: "s", ScopeLevel.COMMUNITY: "c"}
LEVELS_BY_CODE = {code: level for level, code in LEVEL_CODES.items()}


def _chat_grantable(principal: Principal) -> tuple[Role, ...]:
    # Organisation roles are granted inside the organisation's own flow (it names the org).
    return tuple(r for r in roles.grantable_roles(principal) if r not in ORGANISATION_ROLES)


@router.message(Command("grant"))
async def grant_start(message: Message, state: FSMContext, principal: Principal) -> None:
    await state.clear()
    if not principal.is_admin:
        await message.answer(_("Only street and district admins can give roles."))
        return
    await state.set_state(GrantRole.person)
    await message.answer(
        _("Whom should I give a role? Send their number (they see it with /me), or /cancel.")
    )


@router.message(GrantRole.person, F.text)
async def grant_person(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    text = (message.text or "").strip().lstrip("#")
    if not (text.isascii() and text.isdigit() and len(text) <= 12):
        await message.answer(_("Please send the person's number, for example 42."))
        return
    name = await people.name_of(uow, principal, person_id=int(text))
    await state.update_data(person_id=int(text), person_name=name)
    await state.set_state(GrantRole.role)
    await message.answer(
        _("Which role should {name} get?").format(name=html.escape(name)),
        reply_markup=roles_keyboard(_chat_grantable(principal)),
    )


@router.callback_query(GrantRole.role, RoleCb.filter())
async def grant_role_chosen(
    callback: CallbackQuery,
    callback_data: RoleCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    role = Role(callback_data.role)
    if role not in _chat_grantable(principal):
        await callback.answer(_("Sorry, you are not allowed to do that here."), show_alert=True)
        return
    await state.update_data(role=role.value)
    await state.set_state(GrantRole.scope)
    await show_place_screen(
        callback,
        uow,
        purpose="g",
        pick_level=LEVEL_CODES[ROLE_SCOPE[role]],
        locale=principal.locale,
        intro=_("Where does this role apply?"),
    )


@router.callback_query(
    GrantRole.scope, PlaceCb.filter((F.purpose == "g") & (F.action == PlaceAction.LIST))
)
async def grant_browse(
    callback: CallbackQuery,
    callback_data: PlaceCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    role = Role((await state.get_data())["role"])
    await show_place_screen(
        callback,
        uow,
        purpose="g",
        level=callback_data.level,
        parent=callback_data.parent,
        page=callback_data.page,
        pick_level=LEVEL_CODES[ROLE_SCOPE[role]],
        locale=principal.locale,
    )


@router.callback_query(
    GrantRole.scope, PlaceCb.filter((F.purpose == "g") & (F.action == PlaceAction.PICK))
)
async def grant_scope_chosen(
    callback: CallbackQuery,
    callback_data: PlaceCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    await state.update_data(level=callback_data.level, scope_id=callback_data.item)
    await callback.answer()
    role = Role((await state.get_data())["role"])
    if not isinstance(callback.message, Message):
        return
    if role is Role.SOCIAL_WORKER:
        await state.set_state(GrantRole.certified)
        await callback.message.edit_text(
            _("Does this social worker hold the social-work certificate (社工证)?"),
            reply_markup=yes_no_keyboard("certified"),
        )
        return
    await _ask_confirm(callback.message, state, uow, principal)


@router.callback_query(GrantRole.certified, ConfirmCb.filter(F.flow == "certified"))
async def grant_certified(
    callback: CallbackQuery,
    callback_data: ConfirmCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    await state.update_data(certified=callback_data.yes)
    await callback.answer()
    if isinstance(callback.message, Message):
        await _ask_confirm(callback.message, state, uow, principal)


async def _ask_confirm(
    message: Message, state: FSMContext, uow: UnitOfWork, principal: Principal
) -> None:
    data = await state.get_data()
    level = LEVELS_BY_CODE[data["level"]]
    scope = await places.scope_name(uow, level=level, scope_id=data["scope_id"])
    summary = _("Give {name} (number {number}) the role “{role}” in {level} {scope}?").format(
        name=html.escape(data["person_name"]),
        number=data["person_id"],
        role=role_name(Role(data["role"])),
        level=LEVEL_NAMES[level],
        scope=html.escape(scope.label(principal.locale)),
    )
    await GRANT.ask(message, state, summary, edit=True)


@router.callback_query(*GRANT.filters)
async def grant_confirmed(
    callback: CallbackQuery,
    callback_data: ConfirmCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    data = await state.get_data()
    if not await GRANT.confirmed(callback, callback_data, state):
        return
    if not isinstance(callback.message, Message):
        return
    grant = await save_then_clear(
        state,
        roles.grant_role(
            uow,
            principal,
            person_id=data["person_id"],
            role=Role(data["role"]),
            level=LEVELS_BY_CODE[data["level"]],
            scope_id=data["scope_id"],
            certified=data.get("certified", False),
        ),
    )
    await callback.message.edit_text(
        _("Done: {name} is now “{role}” of {scope}.").format(
            name=html.escape(data["person_name"]),
            role=role_name(grant.role),
            scope=html.escape(grant.scope.label(principal.locale)),
        )
    )
