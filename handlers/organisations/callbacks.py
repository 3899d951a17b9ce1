"""Callback data of organisations: re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData


class OrgCb(CallbackData, prefix="og"):
    action: str
    id: int = 0
    value: str = ""
