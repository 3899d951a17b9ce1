"""Callback data of funds: re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class FundAction(StrEnum):
    """What a tap on a FundCb button asks for; each value is what the button packs."""

    ALLOCATE = "allocate"
    ANONYMOUS = "anonymous"
    CSV = "csv"
    DONATE = "donate"
    NEW = "new"
    PURPOSE = "purpose"
    SPEND = "spend"


class FundCb(CallbackData, prefix="fd"):
    action: FundAction
    id: int = 0
    value: str = ""
