"""Callback data of calls for proposals: re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData

from handlers.common.callbacks import Id


class CallCb(CallbackData, prefix="cl"):
    """A call for proposals: open | unit | fund | type | types_done | vote | name | close |
    rank | publish | submit | project | skip_needs | review | score | residents. Every id is
    re-checked by bot/services/competitions.py."""

    action: str
    id: Id = 0
    value: str = ""
