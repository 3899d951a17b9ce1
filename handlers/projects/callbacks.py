"""Callback data of projects: re-checked server-side, never trusted."""

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class ProjectCbAction(StrEnum):
    """What a tap on a ProjectCb button asks for; each value is what the button packs. The
    lifecycle steps carry the values of bot.domain.projects.ProjectAction (submit … evaluate);
    the rest are the page's and the draft form's own buttons."""

    APPROVE = "approve"
    CAT = "cat"
    CATS_DONE = "cats_done"
    COMPLETE = "complete"
    DECIDE = "decide"
    EVALUATE = "evaluate"
    KIND = "kind"
    NEED = "need"
    OPEN = "open"
    OWNER = "owner"
    PAGE = "page"
    PLACE = "place"
    PLACES_DONE = "places_done"
    PUBLISH = "publish"
    QR = "qr"
    REJECT = "reject"
    SHIFT = "shift"
    SHIFTS = "shifts"
    START = "start"
    SUBMIT = "submit"


class ProjectCb(CallbackData, prefix="pj"):
    """An action on a project (or a choice while drafting one); re-checked in the service."""

    action: ProjectCbAction
    id: int = 0
    value: str = ""
