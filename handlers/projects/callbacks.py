"""Callback data of projects: re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData


class ProjectCb(CallbackData, prefix="pj"):
    """An action on a project (or a choice while drafting one); re-checked in the service."""

    action: str
    id: int = 0
    value: str = ""
