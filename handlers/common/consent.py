"""The consent notices and buttons that /volunteer shows before it asks anything (the
registration notice and the separate consent for the ID number); /privacy withdraws them."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.privacy import CONSENT_VERSION
from handlers.common.callbacks import PrivacyAction, PrivacyCb
from handlers.common.keyboards import button


def consent_notice() -> str:
    return _(
        "<b>Before you register: your personal information</b>\n\n"
        "<b>What we collect:</b> your real name, mobile number, skills, free times and the "
        "communities you want to serve in, and your resident ID number (next step).\n"
        "<b>Why:</b> so that a community worker can verify you in person (实名认证), offer you "
        "shifts and requests that fit, and keep the service records and time bank that the "
        "volunteer-service rules require.\n"
        "<b>How long:</b> while you are a volunteer. Service records and time-bank entries are "
        "kept as the 2020 volunteer-record rules require; after you leave, only under your "
        "volunteer number.\n"
        "<b>Who sees it:</b> the workers of your community and the organisers of the shifts "
        "you join; your ID number only masked (5001**********1234).\n"
        "<b>Your rights:</b> /privacy shows what you agreed to and lets you withdraw at any "
        "time; /mydata sends you a copy of everything; /deleteme erases your data.\n\n"
        "Notice version {version}. Do you agree?"
    ).format(version=CONSENT_VERSION)


def id_consent_notice() -> str:
    return _(
        "<b>Your ID number is sensitive personal information</b>\n\n"
        "We use it only to confirm who you are (实名认证) and to stop double registrations. "
        "It is stored encrypted, shown only masked, and every read in clear is written to an "
        "access log. A child under 14 also needs a parent's or guardian's consent, given in "
        "person to a community worker.\n\n"
        "Do you agree, separately, to the processing of your ID number?"
    )


def consent_keyboard(agree: PrivacyAction) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_("I agree"), PrivacyCb(action=agree)),
                button(_("I do not agree"), PrivacyCb(action=PrivacyAction.DECLINE)),
            ]
        ]
    )


def declined_text() -> str:
    return _(
        "Without your consent we cannot register you as a volunteer. Nothing was saved. "
        "You can still ask for help with /need."
    )
