"""Callback data of government purchases: re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData

from handlers.common.callbacks import Id


class PurchaseCb(CallbackData, prefix="gp"):
    """A government purchase: open | unit | provider | source | report | accept | pay |
    evaluate | xlsx | csv | by_source. Re-checked by bot/services/purchases.py."""

    action: str
    id: Id = 0
    value: str = ""
