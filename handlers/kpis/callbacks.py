"""The buttons of /stats: everything in them is re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData

from handlers.callbacks import Id


class StatsCb(CallbackData, prefix="kp"):
    """Which unit's indicators to show, export or link; re-checked against the grants."""

    action: str  # show | export | link
    level: str
    id: Id
