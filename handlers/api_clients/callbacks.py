"""Callback data of /apps: re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData

from handlers.common.callbacks import Id


class AppCb(CallbackData, prefix="app"):
    """/apps: new | scope (item = the scope's position) | done | revoke | yes | no (item =
    the app's row id, checked again by the service)."""

    action: str
    item: Id = 0
