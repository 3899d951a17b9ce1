"""Callback data of funds: re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData


class FundCb(CallbackData, prefix="fd"):
    action: str
    id: int = 0
    value: str = ""
