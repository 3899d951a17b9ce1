"""The buttons of broadcasts and /settings: re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from handlers.common.callbacks import Id


class BroadcastAction(StrEnum):
    """Composing (a step's choice), controlling (the author) or opening (a recipient)."""

    AUD = "aud"  # the audience
    ALL = "all"  # every community in reach
    SKILL = "skill"
    SKILLS_DONE = "skills_done"
    LANG = "lang"
    SKIP_EN = "skip_en"
    SKIP_PHOTO = "skip_photo"
    BTN = "btn"  # which button to add
    SURVEY = "survey"
    SEND = "send"
    LATER = "later"
    DROP = "drop"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    REPORT = "report"
    OPEN = "open"  # a recipient taps the broadcast's button


class BroadcastCb(CallbackData, prefix="bc"):
    """Compose (step choices), control (pause/resume/cancel/report) or open a broadcast's
    button. Every id is re-checked: only the author controls, only a recipient opens."""

    action: BroadcastAction
    id: Id = 0
    value: str = ""


class SettingsCb(CallbackData, prefix="st"):
    topic: str
    out: bool
