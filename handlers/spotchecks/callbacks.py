"""Callback data of spot checks: re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData


class SpotCb(CallbackData, prefix="sp"):
    """community | period | size (drawing); pass | fail | csv (marking)."""

    action: str
    id: int = 0
    value: str = ""
