"""Callback data of /apps: re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from handlers.common.callbacks import Id


class AppAction(StrEnum):
    """What a tap on a AppCb button asks for; each value is what the button packs."""

    DONE = "done"
    NEW = "new"
    NO = "no"
    REVOKE = "revoke"
    SCOPE = "scope"
    YES = "yes"


class AppCb(CallbackData, prefix="app"):
    """/apps: new | scope (item = the scope's position) | done | revoke | yes | no (item =
    the app's row id, checked again by the service)."""

    action: AppAction
    item: Id = 0
