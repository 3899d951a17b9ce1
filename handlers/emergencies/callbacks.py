"""The buttons of emergency mode: everything in them is re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData

from handlers.callbacks import Id


class EmergencyCb(CallbackData, prefix="em"):
    action: str  # coming | cannot | roll | end | start | scope
    id: Id = 0
    value: str = ""
