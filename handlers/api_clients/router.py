"""/apps: a district or street admin lists, registers and revokes the city apps of the HTTP API
in the chat (`python -m bot api …` does the same from the command line). The secret is shown
once; the area is the admin's own; the service checks who may (a community worker cannot)."""

from __future__ import annotations

import html

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.domain.errors import InvalidInput
from bot.domain.principal import Principal
from bot.services import UnitOfWork, api_clients
from handlers.api_clients.callbacks import AppAction, AppCb
from handlers.api_clients.states import AppForm
from handlers.common.keyboards import Keyboard, button, toggle_keyboard
from handlers.common.routing import RouteTable
from handlers.common.texts import LEVEL_NAMES

router = RouteTable("api_clients")

SCOPE_NAMES = {
    "needs:write": __("File requests for residents"),
    "needs:read": __("Read residents' requests"),
    "webhooks": __("Receive events (webhooks)"),
}
MAX_NAME = 60


def _scopes() -> list[str]:
    return sorted(api_clients.SCOPES)


def _scope_name(scope: str) -> str:
    return str(SCOPE_NAMES.get(scope, scope))


def _listing(apps: list[api_clients.ClientView]) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        _("{name} ({client_id}), {level} {area}: {scopes}").format(
            name=html.escape(app.name),
            client_id=app.client_id,
            level=LEVEL_NAMES[app.area_level],
            area=app.area_id,
            scopes="、".join(_scope_name(s) for s in sorted(app.scopes)),
        )
        for app in apps
    ]
    head = _("Apps of the HTTP API in your area:") if lines else _("No apps are registered yet.")
    builder = Keyboard()
    builder.row(button(_("Register an app"), AppCb(action=AppAction.NEW)))
    for app in apps:
        label = _("Revoke {name}").format(name=app.name)
        builder.row(button(label, AppCb(action=AppAction.REVOKE, item=app.id)))
    return "\n".join([head, *lines]), builder.as_markup()


@router.message(Command("apps"))
async def apps(message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork) -> None:
    await state.clear()
    if not principal.is_admin:
        await message.answer(_("Only street and district admins can manage apps."))
        return
    text, keyboard = _listing(await api_clients.managed_by(uow, principal))
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(AppCb.filter(F.action == AppAction.NEW))
async def new_app(callback: CallbackQuery, state: FSMContext, principal: Principal) -> None:
    api_clients.admin_area(principal)  # refused here already for anyone but an admin
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    await state.set_state(AppForm.name)
    await callback.message.answer(_("What is the app called? (e.g. 渝快社区)"))


@router.message(AppForm.name, F.text & ~F.text.startswith("/"))
async def app_named(message: Message, state: FSMContext) -> None:
    name = " ".join((message.text or "").split())
    if not name or len(name) > MAX_NAME:
        await message.answer(
            _("Please send a name of at most {count} characters.").format(count=MAX_NAME)
        )
        return
    await state.update_data(name=name, scopes=[])
    await state.set_state(AppForm.scopes)
    await message.answer(_("What may it do? Choose, then Next."), reply_markup=_scope_keyboard([]))


def _scope_keyboard(chosen: list[str]) -> InlineKeyboardMarkup:
    options = [(str(i), _scope_name(s)) for i, s in enumerate(_scopes())]
    marked = {str(i) for i, s in enumerate(_scopes()) if s in chosen}
    return toggle_keyboard(
        options,
        marked,
        tap=lambda value: AppCb(action=AppAction.SCOPE, item=int(value)),
        done=AppCb(action=AppAction.DONE),
        columns=1,
    )


@router.callback_query(AppForm.scopes, AppCb.filter(F.action == AppAction.SCOPE))
async def scope_tapped(callback: CallbackQuery, callback_data: AppCb, state: FSMContext) -> None:
    scopes = _scopes()
    chosen = list((await state.get_data()).get("scopes", []))
    if callback_data.item < len(scopes):
        scope = scopes[callback_data.item]
        chosen = [s for s in chosen if s != scope] if scope in chosen else [*chosen, scope]
        await state.update_data(scopes=chosen)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=_scope_keyboard(chosen))


@router.callback_query(AppForm.scopes, AppCb.filter(F.action == AppAction.DONE))
async def scopes_done(
    callback: CallbackQuery, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.get_data()
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if not data.get("scopes"):
        await callback.message.answer(_("Choose at least one."))
        return
    try:
        made = await api_clients.register_by(
            uow, principal, name=str(data.get("name", "")), scopes=list(data["scopes"])
        )
    except InvalidInput:
        await callback.message.answer(_("That name or choice is not valid. Send /apps again."))
        await state.clear()
        return
    await state.clear()
    await callback.message.answer(
        _(
            "{name} is registered for {level} {area}.\n"
            "client_id: <code>{client_id}</code>\n"
            "client_secret: <code>{secret}</code>\n"
            "The secret is shown only now: give it to the app's developers in a safe way, "
            "then delete this message. docs/api.md says how the app signs in."
        ).format(
            name=html.escape(made.client.name),
            level=LEVEL_NAMES[made.client.area_level],
            area=made.client.area_id,
            client_id=made.client.client_id,
            secret=made.secret,
        )
    )


@router.callback_query(AppCb.filter(F.action == AppAction.REVOKE))
async def revoke_asked(callback: CallbackQuery, callback_data: AppCb) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    builder = Keyboard()
    builder.button(
        text=_("Yes, revoke it"), callback_data=AppCb(action=AppAction.YES, item=callback_data.item)
    )
    builder.button(text=_("No"), callback_data=AppCb(action=AppAction.NO))
    await callback.message.answer(
        _("Revoke this app? Its tokens stop working at once; this cannot be undone."),
        reply_markup=builder.as_markup(),
    )


@router.callback_query(AppCb.filter(F.action.in_({AppAction.YES, AppAction.NO})))
async def revoke_answered(
    callback: CallbackQuery, callback_data: AppCb, principal: Principal, uow: UnitOfWork
) -> None:
    if callback_data.action == AppAction.NO:
        await callback.answer()
        if isinstance(callback.message, Message):
            await callback.message.answer(_("Nothing was changed."))
        return
    view = await api_clients.revoke_by(uow, principal, pk=callback_data.item)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("{name} is revoked: its tokens stop working now.").format(name=html.escape(view.name))
        )
