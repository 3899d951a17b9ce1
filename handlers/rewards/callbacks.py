"""Callback data of rewards: re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class RewardAction(StrEnum):
    """What a tap on a RewardCb button asks for; each value is what the button packs."""

    CANCEL = "cancel"
    COMMUNITY = "community"
    PAGE = "page"
    REDEEM = "redeem"


class RewardCb(CallbackData, prefix="rw"):
    """page | redeem | community (while adding one)."""

    action: RewardAction
    id: int = 0
