"""The units a street or district admin acts for as a buyer (calls for proposals, purchases of
services): one button per unit, in the admin's language."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup

from bot.domain.enums import ScopeLevel
from bot.domain.principal import Principal
from bot.services import UnitOfWork, buyers, places
from handlers.common.keyboards import button


async def unit_keyboard(
    uow: UnitOfWork, principal: Principal, pick: Callable[[ScopeLevel, int], CallbackData]
) -> InlineKeyboardMarkup | None:
    """A button per unit of the principal's (`pick` makes its callback data); None: no unit."""
    units = buyers.units_of(principal)
    if not units:
        return None
    rows = []
    for level, scope_id in units:
        name = await places.scope_name(uow, level=level, scope_id=scope_id)
        rows.append([button(name.label(principal.locale), pick(level, scope_id))])
    return InlineKeyboardMarkup(inline_keyboard=rows)
