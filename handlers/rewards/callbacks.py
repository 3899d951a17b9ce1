"""Callback data of rewards: re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData


class RewardCb(CallbackData, prefix="rw"):
    """page | redeem | community (while adding one)."""

    action: str
    id: int = 0
