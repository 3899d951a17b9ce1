"""The paged district → street → community picker, shared by onboarding and role grants."""

from __future__ import annotations

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.services import UnitOfWork, places
from bot.services.views import Named, Page
from handlers.common.callbacks import PlaceAction, PlaceCb
from handlers.common.keyboards import place_keyboard


async def _listing(
    uow: UnitOfWork, purpose: str, level: str, parent: int, page: int
) -> tuple[str, Page[Named], PlaceCb | None]:
    if level == "d":
        return _("Choose a district:"), await places.districts(uow, page=page), None
    if level == "s":
        back = PlaceCb(purpose=purpose, action=PlaceAction.LIST, level="d")
        listing = await places.streets(uow, district_id=parent, page=page)
        return _("Choose a street or township:"), listing, back
    district_id = await places.district_of_street(uow, street_id=parent)
    back = PlaceCb(purpose=purpose, action=PlaceAction.LIST, level="s", parent=district_id)
    listing = await places.communities(uow, street_id=parent, page=page)
    return _("Choose a community or village:"), listing, back


async def place_screen(
    uow: UnitOfWork,
    *,
    purpose: str,
    level: str,
    parent: int,
    page: int,
    pick_level: str,
    locale: str,
) -> tuple[str, InlineKeyboardMarkup]:
    title, listing, back = await _listing(uow, purpose, level, parent, page)
    if not listing.items:
        title = _("Nothing to choose here yet. Ask your community worker to set it up.")
    keyboard = place_keyboard(
        listing,
        purpose=purpose,
        level=level,
        parent=parent,
        pick_level=pick_level,
        locale=locale,
        back=back,
    )
    return title, keyboard


async def show_place_screen(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    *,
    purpose: str,
    level: str = "d",
    parent: int = 0,
    page: int = 0,
    pick_level: str = "c",
    locale: str,
    intro: str = "",
) -> None:
    """Send the picker as a new message, or edit it in place when a button was tapped."""
    title, keyboard = await place_screen(
        uow,
        purpose=purpose,
        level=level,
        parent=parent,
        page=page,
        pick_level=pick_level,
        locale=locale,
    )
    text = f"{intro}\n\n{title}" if intro else title
    if isinstance(target, CallbackQuery) and isinstance(target.message, Message):
        await target.message.edit_text(text, reply_markup=keyboard)
        await target.answer()
    elif isinstance(target, Message):
        await target.answer(text, reply_markup=keyboard)
