"""The three-level social-work service system (policy 二, 三.(三)) in chat: /swplaces (the
district's centre, street stations and community rooms with staff and opening hours),
/swserved (staff record a service they gave a community: the coverage indicator counts it) and
/baseline (a district admin sets the year growth targets are measured from)."""

from __future__ import annotations

import html

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.principal import Principal
from bot.domain.social_work import DEFAULT_BASELINE_YEAR, ServiceLevel
from bot.services import UnitOfWork, social_work
from bot.services.social_work import PlaceView
from handlers.common.callbacks import SocialWorkAction, SocialWorkCb
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.steps import save_then_clear
from handlers.social_work.states import ServiceForm

router = RouteTable("social_work")

LEVEL_NAMES = {
    ServiceLevel.CENTRE: __("District social-work guidance centre"),
    ServiceLevel.STATION: __("Street social-work station (社工站)"),
    ServiceLevel.ROOM: __("Community social-work room (社工室)"),
}


def place_text(view: PlaceView, locale: str) -> str:
    lines = [
        f"<b>{html.escape(view.name)}</b> · {LEVEL_NAMES[view.level]}",
        _("Serves: {unit}").format(unit=html.escape(view.unit.label(locale))),
    ]
    if view.address:
        lines.append(_("Address: {address}").format(address=html.escape(view.address)))
    if view.opening_hours:
        lines.append(_("Open: {hours}").format(hours=html.escape(view.opening_hours)))
    staff = "、".join(html.escape(name) for name in view.staff) if view.staff else "—"
    lines.append(_("Staff: {names}").format(names=staff))
    lines.append(_("Services recorded this year: {count}").format(count=view.services_this_year))
    return "\n".join(lines)


@router.message(Command("swplaces"))
async def list_places(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    await state.clear()
    views = await social_work.places_of_district(uow, principal, tz=settings.tz)
    if not views:
        await message.answer(
            _("No social-work centre, station or room is recorded in your district yet.")
        )
        return
    await message.answer(
        _("<b>Social-work service system of your district</b>")
        + "\n\n"
        + "\n\n".join(place_text(v, principal.locale) for v in views)
    )


# ---------------------------------------------------------------- staff: /swserved


@router.message(Command("swserved"))
async def start_service(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    mine = await social_work.my_places(uow, principal)
    if not mine:
        await message.answer(_("Only the staff of a social-work station or room record services."))
        return
    if len(mine) == 1:
        await _ask_community(message, state, principal, uow, mine[0].id)
        return
    rows = [[button(p.name, SocialWorkCb(action=SocialWorkAction.PLACE, id=p.id))] for p in mine]
    await message.answer(
        _("For which station or room?"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


@router.callback_query(SocialWorkCb.filter(F.action == SocialWorkAction.PLACE))
async def service_place(
    callback: CallbackQuery,
    callback_data: SocialWorkCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _ask_community(callback.message, state, principal, uow, callback_data.id)


async def _ask_community(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, place_id: int
) -> None:
    communities = await social_work.served_communities(uow, principal, place_id=place_id)
    await state.set_state(ServiceForm.community)
    await state.update_data(place=place_id)
    rows = [
        [
            button(
                c.label(principal.locale), SocialWorkCb(action=SocialWorkAction.COMMUNITY, id=c.id)
            )
        ]
        for c in communities[:30]
    ]
    await message.answer(
        _("Which community did you serve? Or /cancel."),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


@router.callback_query(
    ServiceForm.community, SocialWorkCb.filter(F.action == SocialWorkAction.COMMUNITY)
)
async def service_community(
    callback: CallbackQuery, callback_data: SocialWorkCb, state: FSMContext
) -> None:
    await state.update_data(community=callback_data.id)
    await state.set_state(ServiceForm.note)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _(
                "What was the service? (e.g. 独居老人个案探访, 3 人) — no names or ID numbers, "
                "please."
            )
        )


@router.message(ServiceForm.note, F.text, ~F.text.startswith("/"))
async def service_note(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.get_data()
    community = await save_then_clear(
        state,
        social_work.record_service(
            uow,
            principal,
            place_id=int(data["place"]),
            community_id=int(data["community"]),
            note=message.text or "",
        ),
    )
    await message.answer(
        _(
            "Recorded: a social-work service to {community}. It counts for the coverage in /stats."
        ).format(community=html.escape(community.label(principal.locale)))
    )


# ---------------------------------------------------------------- district admins: /baseline


@router.message(Command("baseline"))
async def baseline(
    message: Message,
    state: FSMContext,
    command: CommandObject,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    await state.clear()
    districts = [g.scope_id for g in principal.grants if g.level.value == "district"]
    if not districts:
        await message.answer(_("Only a district admin sets the district's baseline year."))
        return
    district = districts[0]
    text = (command.args or "").strip()
    if not text:
        year = await social_work.baseline_year(uow, district_id=district)
        await message.answer(
            _(
                "Growth targets are measured from the end of {year} (charity organisations: "
                "double that year's count). Set another year with /baseline 2020."
            ).format(year=year or DEFAULT_BASELINE_YEAR)
        )
        return
    if not (text.isascii() and text.isdigit()):
        await message.answer(_("Please write the year as four digits, e.g. /baseline 2020."))
        return
    named = await social_work.set_baseline(uow, principal, district_id=district, year=int(text))
    await message.answer(
        _("{district}: growth targets are now measured from the end of {year}.").format(
            district=html.escape(named.label(principal.locale)), year=int(text)
        )
    )
