"""The buttons of matching: everything in them is re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData


class MatchCb(CallbackData, prefix="mt"):
    """Volunteers: offer (to help with a need) | page."""

    action: str
    id: int = 0
