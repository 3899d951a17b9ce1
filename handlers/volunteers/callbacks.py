"""Callback data of volunteer registration and review: re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class VolunteerAction(StrEnum):
    """What a tap on a VolunteerCb button asks for; each value is what the button packs."""

    NEXT = "next"
    NO = "no"
    OK = "ok"
    OPEN = "open"
    PLACE = "place"
    SKILL = "skill"
    SKIP = "skip"
    SLOT = "slot"


class VolunteerCb(CallbackData, prefix="vo"):
    """Registration choices (skill | slot | place | next | skip) and reviews (open | ok | no)."""

    action: VolunteerAction
    value: str = ""
    id: int = 0
