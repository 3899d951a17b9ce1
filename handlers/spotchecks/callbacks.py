"""Callback data of spot checks: re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class SpotAction(StrEnum):
    """What a tap on a SpotCb button asks for; each value is what the button packs."""

    COMMUNITY = "community"
    CSV = "csv"
    FAIL = "fail"
    PASS = "pass"
    PERIOD = "period"
    SIZE = "size"


class SpotCb(CallbackData, prefix="sp"):
    """community | period | size (drawing); pass | fail | csv (marking)."""

    action: SpotAction
    id: int = 0
    value: str = ""
