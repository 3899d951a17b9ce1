"""Callback data of calls for proposals: re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from handlers.common.callbacks import Id


class CallAction(StrEnum):
    """What a tap on a CallCb button asks for; each value is what the button packs."""

    CLOSE = "close"
    FUND = "fund"
    NAME = "name"
    OPEN = "open"
    PROJECT = "project"
    PUBLISH = "publish"
    RANK = "rank"
    RESIDENTS = "residents"
    REVIEW = "review"
    SCORE = "score"
    SKIP_NEEDS = "skip_needs"
    SUBMIT = "submit"
    TYPE = "type"
    TYPES_DONE = "types_done"
    UNIT = "unit"
    VOTE = "vote"


class CallCb(CallbackData, prefix="cl"):
    """A call for proposals: open | unit | fund | type | types_done | vote | name | close |
    rank | publish | submit | project | skip_needs | review | score | residents. Every id is
    re-checked by bot/services/competitions.py."""

    action: CallAction
    id: Id = 0
    value: str = ""
