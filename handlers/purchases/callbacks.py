"""Callback data of government purchases: re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from handlers.common.callbacks import Id


class PurchaseAction(StrEnum):
    """What a tap on a PurchaseCb button asks for; each value is what the button packs."""

    ACCEPT = "accept"
    BY_SOURCE = "by_source"
    CSV = "csv"
    EVALUATE = "evaluate"
    OPEN = "open"
    PAY = "pay"
    PROVIDER = "provider"
    REPORT = "report"
    SOURCE = "source"
    SOURCES = "sources"
    UNIT = "unit"
    XLSX = "xlsx"


class PurchaseCb(CallbackData, prefix="gp"):
    """A government purchase: open | unit | provider | source | report | accept | pay |
    evaluate | xlsx | csv | by_source. Re-checked by bot/services/purchases.py."""

    action: PurchaseAction
    id: Id = 0
    value: str = ""
