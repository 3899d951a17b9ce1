"""Callback data factories. Everything in them is re-checked server-side: never trusted."""

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# An id that fits the databases; a forged bigger number does not parse, so no handler matches.
Id = Annotated[int, Field(ge=0, le=2**63 - 1)]


class LanguageCb(CallbackData, prefix="lang"):
    code: str


class PlaceCb(CallbackData, prefix="pl"):
    """Browse the hierarchy. `level`: d(istrict list), s(treet list), c(ommunity list).

    `purpose`: h = choose home community, g = choose the scope of a role grant."""

    purpose: str
    action: str  # list | pick
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


class SurveyCb(CallbackData, prefix="sv"):
    """action: open | pick | done | skip | results | place | create."""

    action: str
    survey: int = 0
    option: int = 0


class VolunteerCb(CallbackData, prefix="vo"):
    """Registration choices (skill | slot | place | next | skip) and reviews (open | ok | no)."""

    action: str
    value: str = ""
    id: int = 0


class ShiftCb(CallbackData, prefix="sh"):
    """new: community | skill | next; volunteers: join | cancel | page."""

    action: str
    id: int = 0
    value: str = ""


class AttendanceCb(CallbackData, prefix="at"):
    """Organisers: code (a shift's site code) | ok | adjust | rec_page | fix_ok | fix_no."""

    action: str
    id: int = 0


class HoursCb(CallbackData, prefix="hr"):
    """Volunteers: lines | records | fix (ask a correction) | cert (value: period)."""

    action: str
    id: int = 0
    value: str = ""


class RewardCb(CallbackData, prefix="rw"):
    """page | redeem | community (while adding one)."""

    action: str
    id: int = 0


class SpotCb(CallbackData, prefix="sp"):
    """community | period | size (drawing); pass | fail | csv (marking)."""

    action: str
    id: int = 0
    value: str = ""


class OrgCb(CallbackData, prefix="og"):
    action: str
    id: int = 0
    value: str = ""


class ProjectCb(CallbackData, prefix="pj"):
    """An action on a project (or a choice while drafting one); re-checked in the service."""

    action: str
    id: int = 0
    value: str = ""


class ResourceCb(CallbackData, prefix="rs"):
    action: str
    id: int = 0
    value: str = ""


class FundCb(CallbackData, prefix="fd"):
    action: str
    id: int = 0
    value: str = ""


class PrivacyCb(CallbackData, prefix="pv"):
    """Consent, withdrawal, erasure, a guardian's consent, access-log pages; every action is
    re-checked by the services against the person tapping."""

    action: str
    id: Id = 0


class NameCb(CallbackData, prefix="nm"):
    """How the person wants to be called: action = change | keep | skip."""

    action: str


class SocialWorkCb(CallbackData, prefix="sw"):
    """join (a training) | level (of a certificate) | skip (its number) | verify | reject |
    place (to record a service at) | community (served)."""

    action: str
    id: int = 0
    value: str = ""


class AppCb(CallbackData, prefix="app"):
    """/apps: new | scope (item = the scope's position) | done | revoke | yes | no (item =
    the app's row id, checked again by the service)."""

    action: str
    item: Id = 0


class CallCb(CallbackData, prefix="cl"):
    """A call for proposals: open | unit | fund | type | types_done | vote | name | close |
    rank | publish | submit | project | skip_needs | review | score | residents. Every id is
    re-checked by bot/services/competitions.py."""

    action: str
    id: Id = 0
    value: str = ""


class PurchaseCb(CallbackData, prefix="gp"):
    """A government purchase: open | unit | provider | source | report | accept | pay |
    evaluate | xlsx | csv | by_source. Re-checked by bot/services/purchases.py."""

    action: str
    id: Id = 0
    value: str = ""
