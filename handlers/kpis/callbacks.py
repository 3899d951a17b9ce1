"""The buttons of /stats: everything in them is re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from handlers.common.callbacks import Id


class StatsAction(StrEnum):
    SHOW = "show"
    EXPORT = "export"
    LINK = "link"  # a dashboard link


class StatsCb(CallbackData, prefix="kp"):
    """Which unit's indicators to show, export or link; re-checked against the grants."""

    action: StatsAction
    level: str
    id: Id
