"""The buttons of emergency mode: everything in them is re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from handlers.common.callbacks import Id


class EmergencyAction(StrEnum):
    SCOPE = "scope"  # where to start it
    START = "start"
    DROP = "drop"
    END = "end"
    END_YES = "end_yes"
    ROLL = "roll"  # the roll-call
    REFRESH = "refresh"  # the roll-call again
    RES = "res"  # the community's resources
    COMING = "coming"  # a volunteer can come
    CANNOT = "cannot"  # a volunteer cannot


class EmergencyCb(CallbackData, prefix="em"):
    action: EmergencyAction
    id: Id = 0
    value: str = ""
