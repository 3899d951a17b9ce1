"""Translated names and messages shared by several handlers."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied

ROLE_NAMES = {
    Role.RESIDENT: __("Resident"),
    Role.VOLUNTEER: __("Volunteer"),
    Role.SOCIAL_WORKER: __("Social worker"),
    Role.COMMUNITY_WORKER: __("Community worker"),
    Role.GRID_WORKER: __("Grid worker"),
    Role.ORG_MEMBER: __("Organisation member"),
    Role.ORG_ADMIN: __("Organisation admin"),
    Role.PARTY_REVIEWER: __("Party organisation reviewer"),
    Role.STREET_ADMIN: __("Street admin"),
    Role.DISTRICT_ADMIN: __("District admin"),
}

LEVEL_NAMES = {
    ScopeLevel.DISTRICT: __("district"),
    ScopeLevel.STREET: __("street/township"),
    ScopeLevel.COMMUNITY: __("community/village"),
}

CHANNEL_NAMES = {
    Channel.TELEGRAM: __("Telegram"),
    Channel.WEB: __("Web chat"),
    Channel.WECHAT: __("WeChat"),
}

LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


def role_name(role: Role) -> str:
    return str(ROLE_NAMES[role])


def error_text(error: DomainError) -> str:
    """One clear, translated sentence for any domain error."""
    if isinstance(error, PermissionDenied):
        return _("Sorry, you are not allowed to do that here.")
    if isinstance(error, NotFound):
        return _("That record no longer exists. Please start again.")
    if isinstance(error, InvalidInput):
        specific = INVALID_TEXTS.get(error.field)
        if specific is not None:
            return str(specific)
        return _("That input is not valid. Please check it and try again.")
    if isinstance(error, Conflict):
        if error.reason.startswith("need_transition:"):
            return _("This request has moved on meanwhile; open it again to see where it stands.")
        return str(CONFLICT_TEXTS.get(error.reason, __("That was already done.")))
    return _("Sorry, that did not work. Please try again.")


CONFLICT_TEXTS = {
    "not_a_verified_volunteer": __(
        "Only verified volunteers can do this. Register with /volunteer, then show your ID card "
        "to a community worker."
    ),
    "already_signed_up": __("You are already signed up for this shift."),
    "shift_started": __("This shift has already started."),
    "cancel_deadline_passed": __(
        "It is too late to cancel online; please tell the organiser directly."
    ),
    "reopen_window": __("It is too late to reopen this request; please file a new one with /need."),
    "need_not_open": __("This request is already closed."),
    "need_not_resolved": __("This request is not waiting for your confirmation."),
    "already_supporting": __("You already support this request."),
    "already_in_progress": __("This request is already in progress."),
    "survey_closed": __("This survey is closed."),
    "already_answered": __("You have already answered this survey. Thank you!"),
    "already_granted": __("This person already has that role there."),
    "already_linked": __("This chat is already linked to that profile."),
    "channel_taken": __(
        "That profile already has an account on this channel; unlink it there first."
    ),
}

INVALID_TEXTS = {
    "text": __("That is too long. Please keep it under 1,000 characters."),
    "link_code": __(
        "That code is unknown, already used or expired. Send /link in your other app for a new one."
    ),
}
