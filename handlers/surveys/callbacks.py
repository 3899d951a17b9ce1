"""Callback data of surveys: re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData


class SurveyCb(CallbackData, prefix="sv"):
    """action: open | pick | done | skip | results | place | create."""

    action: str
    survey: int = 0
    option: int = 0
