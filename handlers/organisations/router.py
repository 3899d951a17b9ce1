"""/org: register an organisation, see yours, invite members (the `o_` link); /orgs: workers
verify or refuse registrations."""

from __future__ import annotations

import html
from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.enums import Channel, OrganisationType, RegistrationStatus, Role
from bot.domain.errors import NotFound
from bot.domain.principal import Principal
from bot.services import UnitOfWork, organisations
from bot.services.organisations import OrgView
from bot.services.ports import Notifier
from handlers.common.callbacks import ConfirmCb
from handlers.common.confirm import ConfirmStep
from handlers.common.deeplinks import deep_link, start_link
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.steps import ask
from handlers.common.texts import ORG_TYPE_NAMES
from handlers.organisations.callbacks import OrgAction, OrgCb
from handlers.organisations.states import OrgForm, OrgReview

router = RouteTable("organisations")
CONFIRM = ConfirmStep("org", OrgForm.confirm)

REGISTRATION_NAMES = {
    RegistrationStatus.REGISTERED: __("Registered (登记)"),
    RegistrationStatus.FILED: __("Filed (备案)"),
    RegistrationStatus.NONE: __("Neither yet"),
}


def org_text(view: OrgView) -> str:
    if view.verified:
        status = _("verified")
    elif view.rejection_reason:
        status = _("not verified: {reason}").format(reason=html.escape(view.rejection_reason))
    else:
        status = _("waiting for a community worker to verify it")
    number = f" {html.escape(view.registration_number)}" if view.registration_number else ""
    return "\n".join(
        [
            f"<b>{html.escape(view.name)}</b>",
            f"{ORG_TYPE_NAMES[view.type]} · {REGISTRATION_NAMES[view.registration]}{number}",
            _("Contact: {contact}").format(contact=html.escape(view.contact or "—")),
            _("Status: {status}").format(status=status),
        ]
    )


@router.message(Command("org"))
async def my_organisations(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    mine = await organisations.mine(uow, principal)
    for view in mine:
        rows = [[button(_("New project"), OrgCb(action=OrgAction.PROJECT, id=view.id))]]
        if organisations.member_of(principal, view.id, Role.ORG_ADMIN):
            rows.append([button(_("Invite members"), OrgCb(action=OrgAction.INVITE, id=view.id))])
        await message.answer(
            org_text(view), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[button(_("Register an organisation"), OrgCb(action=OrgAction.NEW))]]
    )
    await message.answer(
        _("You are not in an organisation yet.") if not mine else _("Another organisation?"),
        reply_markup=keyboard,
    )


@router.callback_query(OrgCb.filter(F.action == OrgAction.NEW))
async def start_registration(callback: CallbackQuery, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        OrgForm.name,
        _("The organisation's full name (as registered)? Or /cancel."),
    )


@router.message(OrgForm.name, F.text)
async def org_name(message: Message, state: FSMContext) -> None:
    name = " ".join((message.text or "").split())
    if not 2 <= len(name) <= organisations.MAX_NAME:
        await message.answer(_("Please send a name of 2 to 100 characters."))
        return
    await state.update_data(name=name)
    await state.set_state(OrgForm.type)
    rows = [
        [button(str(label), OrgCb(action=OrgAction.TYPE, value=t.value))]
        for t, label in ORG_TYPE_NAMES.items()
    ]
    await message.answer(
        _("What kind of organisation?"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


@router.callback_query(OrgForm.type, OrgCb.filter(F.action == OrgAction.TYPE))
async def org_type(callback: CallbackQuery, callback_data: OrgCb, state: FSMContext) -> None:
    await state.update_data(type=OrganisationType(callback_data.value).value)
    await state.set_state(OrgForm.registration)
    await callback.answer()
    if isinstance(callback.message, Message):
        rows = [
            [button(str(label), OrgCb(action=OrgAction.REG, value=r.value))]
            for r, label in REGISTRATION_NAMES.items()
        ]
        await callback.message.edit_text(
            _("Is it registered with the civil affairs bureau, or filed with the street?"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
        )


@router.callback_query(OrgForm.registration, OrgCb.filter(F.action == OrgAction.REG))
async def org_registration(
    callback: CallbackQuery, callback_data: OrgCb, state: FSMContext
) -> None:
    registration = RegistrationStatus(callback_data.value)
    await state.update_data(registration=registration.value, number=None)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if registration is RegistrationStatus.NONE:
        await state.set_state(OrgForm.contact)
        await callback.message.edit_text(_("A contact person and phone number?"))
        return
    await state.set_state(OrgForm.number)
    await callback.message.edit_text(_("Its registration or filing number?"))


@router.message(OrgForm.number, F.text)
async def org_number(message: Message, state: FSMContext) -> None:
    await state.update_data(number=(message.text or "")[:64])
    await state.set_state(OrgForm.contact)
    await message.answer(_("A contact person and phone number?"))


@router.message(OrgForm.contact, F.text)
async def org_contact(message: Message, state: FSMContext) -> None:
    data = await state.update_data(contact=(message.text or "")[:200])
    number = f" {html.escape(data['number'])}" if data.get("number") else ""
    text = "\n".join(
        [
            _("<b>Please check</b>"),
            html.escape(data["name"]),
            f"{ORG_TYPE_NAMES[OrganisationType(data['type'])]} · "
            f"{REGISTRATION_NAMES[RegistrationStatus(data['registration'])]}{number}",
            _("Contact: {contact}").format(contact=html.escape(data["contact"])),
        ]
    )
    await CONFIRM.ask(message, state, text)


@router.callback_query(*CONFIRM.filters)
async def org_save(
    callback: CallbackQuery,
    callback_data: ConfirmCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
) -> None:
    data = await state.get_data()
    if not await CONFIRM.confirmed(callback, callback_data, state):
        return
    if not isinstance(callback.message, Message):
        return
    view = await organisations.register(
        uow,
        notifier,
        principal,
        name=data["name"],
        type=OrganisationType(data["type"]),
        registration=RegistrationStatus(data["registration"]),
        registration_number=data.get("number"),
        contact=data["contact"],
    )
    await state.clear()
    await callback.message.edit_text(
        _(
            "Registered. You are its admin. A community worker will verify it; until then it "
            "can draft projects but not publish them."
        )
        + "\n\n"
        + org_text(view)
    )


@router.callback_query(OrgCb.filter(F.action == OrgAction.INVITE))
async def invite(
    callback: CallbackQuery,
    callback_data: OrgCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    bot: Bot,
    channel: Channel,
) -> None:
    token = await organisations.invite(uow, principal, organisation_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        link = await start_link(bot, channel, settings, f"o_{token}")
        await callback.message.answer(
            _("Send this link to new members (valid 7 days):\n{link}").format(
                link=html.escape(link)
            )
        )


@deep_link("o_")
async def join(message: Message, token: str, data: dict[str, Any]) -> None:
    try:
        view = await organisations.join(data["uow"], data["principal"], token=token)
    except NotFound:
        await message.answer(_("This link is not valid or has expired."))
        return
    await message.answer(
        _("Welcome to {name}! Its projects are in /projects.").format(name=html.escape(view.name))
    )


# ---------------------------------------------------------------- workers: /orgs


@router.message(Command("orgs"))
async def pending(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    views = await organisations.pending(uow, principal)
    if not views:
        await message.answer(_("No organisation is waiting for verification."))
        return
    for view in views:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(_("Verified"), OrgCb(action=OrgAction.OK, id=view.id)),
                    button(_("Refuse"), OrgCb(action=OrgAction.NO, id=view.id)),
                ]
            ]
        )
        await message.answer(org_text(view), reply_markup=keyboard)


@router.callback_query(OrgCb.filter(F.action == OrgAction.OK))
async def verify(
    callback: CallbackQuery,
    callback_data: OrgCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
) -> None:
    view = await organisations.verify(
        uow, notifier, principal, organisation_id=callback_data.id, approve=True
    )
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(org_text(view))


@router.callback_query(OrgCb.filter(F.action == OrgAction.NO))
async def refuse(callback: CallbackQuery, callback_data: OrgCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        OrgReview.reason,
        _("Why is it refused? (they will see this) /cancel"),
        organisation=callback_data.id,
    )


@router.message(OrgReview.reason, F.text)
async def refusal_reason(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
) -> None:
    data = await state.get_data()
    view = await organisations.verify(
        uow,
        notifier,
        principal,
        organisation_id=data["organisation"],
        approve=False,
        reason=message.text or "",
    )
    await state.clear()
    await message.answer(org_text(view))
