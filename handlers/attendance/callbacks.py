"""Callback data of attendance: re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData


class AttendanceCb(CallbackData, prefix="at"):
    """Organisers: code (a shift's site code) | ok | adjust | rec_page | fix_ok | fix_no."""

    action: str
    id: int = 0
