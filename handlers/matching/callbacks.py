"""The buttons of matching: everything in them is re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class MatchAction(StrEnum):
    OFFER = "offer"  # a volunteer offers to help with a need
    PAGE = "page"


class MatchCb(CallbackData, prefix="mt"):
    action: MatchAction
    id: int = 0
