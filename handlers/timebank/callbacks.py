"""Callback data of the time bank (/hours): re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData


class HoursCb(CallbackData, prefix="hr"):
    """Volunteers: lines | records | fix (ask a correction) | cert (value: period)."""

    action: str
    id: int = 0
    value: str = ""
