"""Callback data of attendance: re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class AttendanceAction(StrEnum):
    """What a tap on a AttendanceCb button asks for; each value is what the button packs."""

    ADJUST = "adjust"
    CODE = "code"
    FIX_NO = "fix_no"
    FIX_OK = "fix_ok"
    OK = "ok"
    REC_PAGE = "rec_page"


class AttendanceCb(CallbackData, prefix="at"):
    """Organisers: code (a shift's site code) | ok | adjust | rec_page | fix_ok | fix_no."""

    action: AttendanceAction
    id: int = 0
