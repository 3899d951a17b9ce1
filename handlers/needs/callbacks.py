"""The buttons of the queue and of /mine, /tasks: re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData


class QueueCb(CallbackData, prefix="q"):
    group: str = "open"
    cat: str = ""
    urg: str = ""
    page: int = 0


class ListCb(CallbackData, prefix="ls"):
    """Pages of /mine and /tasks."""

    which: str
    page: int = 0
