"""The buttons of consultations: everything in them is re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from handlers.common.callbacks import Id


class ConsultAction(StrEnum):
    OPEN = "open"
    NEW = "new"
    ALL = "all"  # every community, in the form
    ANON = "anon"
    MAJOR = "major"
    NO_MEETING = "no_meeting"
    DROP = "drop"
    CREATE = "create"
    OPINIONS = "opinions"
    MORE = "more"  # the next opinions
    OPINE = "opine"
    SUPPORT = "support"
    HIDE = "hide"
    BALLOT = "ballot"
    VOTE = "vote"
    PAPER = "paper"  # record a paper vote
    PAPER_VOTE = "paper_vote"
    ATTEND = "attend"
    CODE = "code"  # the meeting code
    INVITE = "invite"
    CLOSE = "close"
    RESULTS = "results"
    DECIDE = "decide"
    MINUTES = "minutes"


class ConsultCb(CallbackData, prefix="cs"):
    """An action on a consultation (or, for support/hide, on an opinion); every id is
    re-checked against the person's right to take part or to run it."""

    action: ConsultAction
    id: Id = 0
    value: str = ""
