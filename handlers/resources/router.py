"""/resources: the resource list of the person's communities; post a resource; workers reserve
it for a need (by its reference) or a project (P<number>) and release reservations."""

from __future__ import annotations

import html
from datetime import date

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.local_time import local_today
from bot.domain.policy import POSTING_ROLES
from bot.domain.principal import Principal
from bot.domain.resources import MAX_QUANTITY, ResourceKind
from bot.services import UnitOfWork, matching, needs, places, resources
from handlers.common.callbacks import ResourceAction, ResourceCb
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.steps import ask, whole_number
from handlers.common.texts import CATEGORY_NAMES, RESOURCE_KIND_NAMES, resource_text
from handlers.resources.states import ResourceForm

router = RouteTable("resources")


@router.message(Command("resources"))
async def resource_list(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    await _send_page(message, principal, uow, 0)


@router.callback_query(ResourceCb.filter(F.action == ResourceAction.PAGE))
async def resource_page(
    callback: CallbackQuery, callback_data: ResourceCb, principal: Principal, uow: UnitOfWork
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _send_page(callback.message, principal, uow, callback_data.id)


async def _send_page(message: Message, principal: Principal, uow: UnitOfWork, page: int) -> None:
    listing = await resources.listing(uow, principal, page=page)
    if not listing.items and page == 0:
        await message.answer(_("The resource list is empty here."))
    for view in listing.items:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(_("Reserve"), ResourceCb(action=ResourceAction.RESERVE, id=view.id)),
                    button(
                        _("Needs it could serve"),
                        ResourceCb(action=ResourceAction.NEEDS, id=view.id),
                    ),
                ]
            ]
        )
        await message.answer(resource_text(view, principal.locale), reply_markup=keyboard)
    rows = [[button(_("Offer a resource"), ResourceCb(action=ResourceAction.NEW))]]
    if listing.has_next:
        rows.insert(0, [button("›", ResourceCb(action=ResourceAction.PAGE, id=page + 1))])
    await message.answer(
        _("The resource list (资源清单)."), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


# ---------------------------------------------------------------- reserving


@router.callback_query(ResourceCb.filter(F.action == ResourceAction.RESERVE))
async def reserve(callback: CallbackQuery, callback_data: ResourceCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        ResourceForm.reserve_quantity,
        _("How many to reserve? /cancel"),
        resource=callback_data.id,
    )


@router.message(ResourceForm.reserve_quantity, F.text)
async def reserve_quantity(message: Message, state: FSMContext) -> None:
    quantity = whole_number(message.text, MAX_QUANTITY)
    if quantity is None:
        await message.answer(_("Please send a whole number."))
        return
    await state.update_data(quantity=quantity)
    await state.set_state(ResourceForm.reserve_target)
    await message.answer(
        _("For which need (its reference, e.g. CQK-2026-00012) or project (e.g. P3)?")
    )


@router.message(ResourceForm.reserve_target, F.text)
async def reserve_target(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    target = (message.text or "").strip().upper()
    need_id = project_id = None
    if target.startswith("P") and target[1:].isdigit():
        project_id = int(target[1:])
    else:
        need_id = await needs.id_of_reference(uow, principal, reference=target)
    data = await state.get_data()
    view, reservation_id = await resources.reserve(
        uow,
        principal,
        resource_id=data["resource"],
        quantity=data["quantity"],
        need_id=need_id,
        project_id=project_id,
    )
    await state.clear()
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("Release it"), ResourceCb(action=ResourceAction.RELEASE, id=reservation_id))]
        ]
    )
    await message.answer(
        _("Reserved {quantity} for {target}.").format(
            quantity=data["quantity"], target=html.escape(target)
        )
        + "\n"
        + resource_text(view, principal.locale),
        reply_markup=keyboard,
    )


@router.callback_query(ResourceCb.filter(F.action == ResourceAction.RELEASE))
async def release(
    callback: CallbackQuery, callback_data: ResourceCb, principal: Principal, uow: UnitOfWork
) -> None:
    view = await resources.release(uow, principal, reservation_id=callback_data.id)
    await callback.answer(_("Released."))
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("Released.") + "\n" + resource_text(view, principal.locale)
        )


@router.callback_query(ResourceCb.filter(F.action == ResourceAction.NEEDS))
async def needs_it_could_serve(
    callback: CallbackQuery, callback_data: ResourceCb, principal: Principal, uow: UnitOfWork
) -> None:
    found = await matching.needs_for_resource(uow, principal, resource_id=callback_data.id)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if not found:
        await callback.message.answer(_("No open requests in this community or street."))
        return
    rows = [
        [
            button(
                _("Reserve 1 for {reference}").format(reference=need.reference),
                ResourceCb(action=ResourceAction.FOR, id=callback_data.id, value=str(need.id)),
            )
        ]
        for need in found
    ]
    lines = [
        f"<b>{n.reference}</b> · {CATEGORY_NAMES[n.category]}: {html.escape(n.description)}"
        for n in found
    ]
    await callback.message.answer(
        _("Open requests it could serve:") + "\n" + "\n".join(lines),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


@router.callback_query(ResourceCb.filter(F.action == ResourceAction.FOR))
async def reserve_for_need(
    callback: CallbackQuery, callback_data: ResourceCb, principal: Principal, uow: UnitOfWork
) -> None:
    if not callback_data.value.isdigit():
        raise ValueError("need id")
    view, reservation_id = await resources.reserve(
        uow, principal, resource_id=callback_data.id, quantity=1, need_id=int(callback_data.value)
    )
    await callback.answer(_("Reserved."))
    if isinstance(callback.message, Message):
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(
                        _("Release it"),
                        ResourceCb(action=ResourceAction.RELEASE, id=reservation_id),
                    )
                ]
            ]
        )
        await callback.message.answer(resource_text(view, principal.locale), reply_markup=keyboard)


# ---------------------------------------------------------------- offering


@router.callback_query(ResourceCb.filter(F.action == ResourceAction.NEW))
async def new_resource(
    callback: CallbackQuery, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    communities = await places.covered_communities(uow, principal, POSTING_ROLES)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if not communities:
        await callback.message.answer(_("Sorry, you are not allowed to do that here."))
        return
    await state.set_state(ResourceForm.community)
    rows = [
        [button(c.label(principal.locale), ResourceCb(action=ResourceAction.COMMUNITY, id=c.id))]
        for c in communities[:30]
    ]
    await callback.message.answer(
        _("For which community? Or /cancel."),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


@router.callback_query(
    ResourceForm.community, ResourceCb.filter(F.action == ResourceAction.COMMUNITY)
)
async def resource_community(
    callback: CallbackQuery, callback_data: ResourceCb, state: FSMContext
) -> None:
    await state.update_data(community=callback_data.id)
    await state.set_state(ResourceForm.kind)
    await callback.answer()
    if isinstance(callback.message, Message):
        rows = [
            [button(str(label), ResourceCb(action=ResourceAction.KIND, value=k.value))]
            for k, label in RESOURCE_KIND_NAMES.items()
        ]
        await callback.message.edit_text(
            _("What kind of resource?"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )


@router.callback_query(ResourceForm.kind, ResourceCb.filter(F.action == ResourceAction.KIND))
async def resource_kind(
    callback: CallbackQuery, callback_data: ResourceCb, state: FSMContext
) -> None:
    await state.update_data(kind=ResourceKind(callback_data.value).value)
    await state.set_state(ResourceForm.title)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(_("What is it? (e.g. 大米, 活动室, 理发服务)"))


@router.message(ResourceForm.title, F.text)
async def resource_title(message: Message, state: FSMContext) -> None:
    await state.update_data(title=(message.text or "")[:200])
    await state.set_state(ResourceForm.quantity)
    await message.answer(_("How many? (a whole number)"))


@router.message(ResourceForm.quantity, F.text)
async def resource_quantity(message: Message, state: FSMContext) -> None:
    quantity = whole_number(message.text, MAX_QUANTITY)
    if quantity is None:
        await message.answer(_("Please send a whole number."))
        return
    await state.update_data(quantity=quantity)
    await state.set_state(ResourceForm.unit)
    await message.answer(_("In what unit? (e.g. 袋, 小时, 次)"))


@router.message(ResourceForm.unit, F.text)
async def resource_unit(message: Message, state: FSMContext) -> None:
    await state.update_data(unit=(message.text or "")[:32])
    await state.set_state(ResourceForm.until)
    await message.answer(
        _("Available until when? (a date like 2026-12-31)"),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[button(_("No end date"), ResourceCb(action=ResourceAction.NO_END))]]
        ),
    )


@router.message(ResourceForm.until, F.text)
async def resource_until(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    try:
        until = date.fromisoformat((message.text or "").strip())
    except ValueError:
        until = None
    if until is None or until < local_today():
        await message.answer(_("Please write a date like 2026-12-31, or tap No end date."))
        return
    await _post(message, state, principal, uow, until)


@router.callback_query(ResourceForm.until, ResourceCb.filter(F.action == ResourceAction.NO_END))
async def resource_no_end(
    callback: CallbackQuery, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _post(callback.message, state, principal, uow, None)


async def _post(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, until: date | None
) -> None:
    data = await state.get_data()
    view = await resources.post(
        uow,
        principal,
        community_id=data["community"],
        kind=ResourceKind(data["kind"]),
        title=data["title"],
        quantity=data["quantity"],
        unit=data["unit"],
        available_until=until,
    )
    await state.clear()
    await message.answer(
        _("Added to the resource list.") + "\n" + resource_text(view, principal.locale)
    )
