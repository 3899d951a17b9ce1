"""The buttons of broadcasts and /settings: re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData

from handlers.callbacks import Id


class BroadcastCb(CallbackData, prefix="bc"):
    """Compose (step choices), control (pause/resume/cancel/report) or open a broadcast's
    button. Every id is re-checked: only the author controls, only a recipient opens."""

    action: str
    id: Id = 0
    value: str = ""


class SettingsCb(CallbackData, prefix="st"):
    topic: str
    out: bool
