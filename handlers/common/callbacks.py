"""Callback data factories that several features (or the common routers) use. Everything in
them is re-checked server-side: never trusted."""

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# An id that fits the databases; a forged bigger number does not parse, so no handler matches.
Id = Annotated[int, Field(ge=0, le=2**63 - 1)]


class LanguageCb(CallbackData, prefix="lang"):
    code: str


class PlaceAction(StrEnum):
    """What a tap on a PlaceCb button asks for; each value is what the button packs."""

    LIST = "list"
    PICK = "pick"


class PlaceCb(CallbackData, prefix="pl"):
    """Browse the hierarchy. `level`: d(istrict list), s(treet list), c(ommunity list).

    `purpose`: h = choose home community, g = choose the scope of a role grant."""

    purpose: str
    action: PlaceAction
    level: str
    parent: int = 0
    item: int = 0
    page: int = 0


class RoleCb(CallbackData, prefix="role"):
    role: str


class ConfirmCb(CallbackData, prefix="ok"):
    flow: str
    yes: bool


class NoopCb(CallbackData, prefix="noop"):
    pass


class NeedNewCb(CallbackData, prefix="nn"):
    """Choices while filing a need: step = cat | urg | who | me_too | extras, and sos (from an
    emergency alert: file | mark) and draft (a first message after onboarding: file | no)."""

    step: str
    value: str


class ShiftAction(StrEnum):
    """What a tap on a ShiftCb button asks for; each value is what the button packs."""

    CANCEL = "cancel"
    COMMUNITY = "community"
    JOIN = "join"
    NEXT = "next"
    PAGE = "page"
    SKILL = "skill"


class ShiftCb(CallbackData, prefix="sh"):
    """new: community | skill | next; volunteers: join | cancel | page."""

    action: ShiftAction
    id: int = 0
    value: str = ""


class ResourceAction(StrEnum):
    """What a tap on a ResourceCb button asks for; each value is what the button packs."""

    COMMUNITY = "community"
    FOR = "for"
    KIND = "kind"
    NEEDS = "needs"
    NEW = "new"
    NO_END = "no_end"
    PAGE = "page"
    RELEASE = "release"
    RESERVE = "reserve"


class ResourceCb(CallbackData, prefix="rs"):
    action: ResourceAction
    id: int = 0
    value: str = ""


class PrivacyAction(StrEnum):
    """What a tap on a PrivacyCb button asks for; each value is what the button packs."""

    AGREE = "agree"
    AGREE_ID = "agree_id"
    DECLINE = "decline"
    ERASE_YES = "erase_yes"
    GUARDIAN = "guardian"
    KEEP = "keep"
    LOG = "log"
    WITHDRAW = "withdraw"
    WITHDRAW_YES = "withdraw_yes"


class PrivacyCb(CallbackData, prefix="pv"):
    """Consent, withdrawal, erasure, a guardian's consent, access-log pages; every action is
    re-checked by the services against the person tapping."""

    action: PrivacyAction
    id: Id = 0


class NameAction(StrEnum):
    """What a tap on a NameCb button asks for; each value is what the button packs."""

    CHANGE = "change"
    KEEP = "keep"
    SKIP = "skip"


class NameCb(CallbackData, prefix="nm"):
    """How the person wants to be called: action = change | keep | skip."""

    action: NameAction


class SocialWorkAction(StrEnum):
    """What a tap on a SocialWorkCb button asks for; each value is what the button packs."""

    COMMUNITY = "community"
    JOIN = "join"
    LEVEL = "level"
    PLACE = "place"
    REJECT = "reject"
    SKIP = "skip"
    VERIFY = "verify"


class SocialWorkCb(CallbackData, prefix="sw"):
    """join (a training) | level (of a certificate) | skip (its number) | verify | reject |
    place (to record a service at) | community (served)."""

    action: SocialWorkAction
    id: int = 0
    value: str = ""


class NeedAction(StrEnum):
    """What a button does to one need (workers, assignees, the resident, volunteers)."""

    OPEN = "open"
    OPEN_HERE = "open_here"
    ACCEPT = "accept"
    CLASSIFY = "classify"
    DUE = "due"
    ASSIGN = "assign"
    SUGGEST = "suggest"  # matching's suggestions
    CONSULT = "consult"  # open a consultation on it
    TAKE = "take"
    HAND_BACK = "hand_back"
    NOTE = "note"
    RESOLVE = "resolve"
    REFER = "refer"
    REJECT = "reject"
    SOLVED = "solved"
    UNSOLVED = "unsolved"
    RATE = "rate"
    TAKE_OFFER = "take_offer"  # a volunteer's offer


class NeedCb(CallbackData, prefix="nd"):
    """An action on one need. The need id is re-checked against the actor's scope."""

    action: NeedAction
    id: int
    arg: str = ""
