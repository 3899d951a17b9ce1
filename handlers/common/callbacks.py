"""Callback data factories that several features (or the common routers) use. Everything in
them is re-checked server-side: never trusted."""

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


class ShiftCb(CallbackData, prefix="sh"):
    """new: community | skill | next; volunteers: join | cancel | page."""

    action: str
    id: int = 0
    value: str = ""


class ResourceCb(CallbackData, prefix="rs"):
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
