"""Callback data of surveys: re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class SurveyAction(StrEnum):
    """What a tap on a SurveyCb button asks for; each value is what the button packs."""

    CREATE = "create"
    DONE = "done"
    OPEN = "open"
    PICK = "pick"
    PLACE = "place"
    RESULTS = "results"
    SKIP = "skip"
    SUBMIT = "submit"


class SurveyCb(CallbackData, prefix="sv"):
    """action: open | pick | done | skip | results | place | create."""

    action: SurveyAction
    survey: int = 0
    option: int = 0
