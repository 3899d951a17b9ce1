"""Callback data factories. Everything in them is re-checked server-side: never trusted."""

from aiogram.filters.callback_data import CallbackData

from handlers.common.callbacks import Id


class NeedCb(CallbackData, prefix="nd"):
    """An action on one need. The need id is re-checked against the actor's scope."""

    action: str
    id: int
    arg: str = ""


class QueueCb(CallbackData, prefix="q"):
    group: str = "open"
    cat: str = ""
    urg: str = ""
    page: int = 0


class ListCb(CallbackData, prefix="ls"):
    """Pages of /mine and /tasks."""

    which: str
    page: int = 0


class MatchCb(CallbackData, prefix="mt"):
    """Volunteers: offer (to help with a need) | page."""

    action: str
    id: int = 0


class BroadcastCb(CallbackData, prefix="bc"):
    """Compose (step choices), control (pause/resume/cancel/report) or open a broadcast's
    button. Every id is re-checked: only the author controls, only a recipient opens."""

    action: str
    id: Id = 0
    value: str = ""


class EmergencyCb(CallbackData, prefix="em"):
    action: str  # coming | cannot | roll | end | start | scope
    id: Id = 0
    value: str = ""


class SettingsCb(CallbackData, prefix="st"):
    topic: str
    out: bool


class ConsultCb(CallbackData, prefix="cs"):
    """An action on a consultation (or, for support/hide, on an opinion); every id is
    re-checked against the person's right to take part or to run it."""

    action: str
    id: Id = 0
    value: str = ""


class StatsCb(CallbackData, prefix="kp"):
    """Which unit's indicators to show, export or link; re-checked against the grants."""

    action: str  # show | export | link
    level: str
    id: Id
