"""Callback data of volunteer registration and review: re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData


class VolunteerCb(CallbackData, prefix="vo"):
    """Registration choices (skill | slot | place | next | skip) and reviews (open | ok | no)."""

    action: str
    value: str = ""
    id: int = 0
