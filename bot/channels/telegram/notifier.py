"""The notifier: messages to other people, rendered in each recipient's own language and sent
through the chat account they used last."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.domain.enums import Channel
from bot.domain.needs import NeedState
from bot.services import UnitOfWork, people
from bot.services.ports import Notice, Sending, sending
from handlers.common.callbacks import NeedAction, NeedCb, ShiftAction, ShiftCb
from handlers.common.texts import local_time
from handlers.needs.texts import STATE_NAMES
from handlers.projects.callbacks import ProjectCb, ProjectCbAction

log = logging.getLogger(__name__)

NOTICE_TEXTS = {
    "need.state": __("Your request {reference} is now: {state}"),
    "need.new_in_queue": __("New request {reference} in your community."),
    "need.assigned_to_you": __("Request {reference} was assigned to you:\n{description}"),
    "need.reopened": __("The resident says request {reference} is not solved: {comment}"),
    "need.reminder": __("Reminder: request {reference} is due by {due}."),
    "need.escalated": __("Overdue: request {reference} in {community} was due by {due}."),
    "need.resolved": __("Your request {reference} was resolved: {resolution}\n\nIs it solved?"),
    "need.public_note": __("Update on your request {reference}: {text}"),
    "need.handed_back": __("Request {reference} was handed back: {reason}"),
    "need.resolved_supporter": __(
        "Request {reference}, which you support, was resolved: {resolution}"
    ),
    "need.state_supporter": __("The request {reference} that you support is now: {state}"),
    "need.referred_supporter": __(
        "The request {reference} that you support was passed to: {department}"
    ),
    "need.rejected_supporter": __(
        "The request {reference} that you support was closed without a solution: {reason}"
    ),
    "need.public_note_supporter": __("Update on the request {reference} that you support: {text}"),
    "volunteer.registered": __(
        "{name} registered as a volunteer: check their ID with /volunteers."
    ),
    "volunteer.id_conflict": __(
        "{name} ({phone}) could not finish a volunteer registration: the ID number given "
        "({masked}) is already registered to another volunteer. Please contact them and check "
        "their ID card in person."
    ),
    "volunteer.verified": __("You are a verified volunteer now. Your volunteer number: {number}"),
    "volunteer.rejected": __("Your volunteer registration was not verified: {reason}"),
    "privacy.withdrawn": __(
        "Volunteer {name} ({number}) withdrew their consent: they are no longer offered shifts "
        "or requests. Records already made stay."
    ),
    "privacy.erased": __(
        "Volunteer {number} had their personal data erased; their service records stay under "
        "the number only."
    ),
    "privacy.guardian_recorded": __(
        "Your guardian's consent is recorded. A worker can now verify your registration."
    ),
    "shift.promoted": __("A place came free: you are now confirmed for “{title}” at {start}."),
    "shift.new": __(
        "New shift in {community} that fits you: “{title}” at {place}, {start}. Sign up below "
        "or in /shifts. (Switch these messages off in /settings.)"
    ),
    "swcert.verified": __(
        "Your social-work certificate (exam year {year}) is verified. See /mytraining."
    ),
    "swcert.rejected": __(
        "Your social-work certificate (exam year {year}) could not be verified: {reason}. You "
        "can record it again with /swcert."
    ),
    "shift.reminder": __("Reminder: “{title}” at {place}, {start}. Thank you for coming!"),
    "record.unconfirmed": __(
        "You did not check out of “{title}”: it was closed at its end time and the organiser "
        "will confirm your hours."
    ),
    "records.forgotten": __(
        "{count} volunteer(s) forgot to check out of “{title}”: confirm or adjust with /records."
    ),
    "record.confirmed": __("The organiser confirmed {hours} hours for “{title}”. See /hours."),
    "record.correction_requested": __(
        "A volunteer asks for a correction of their record for “{title}”: see /records."
    ),
    "record.correction_approved": __(
        "Your correction for “{title}” was approved: it now counts {hours} hours."
    ),
    "record.correction_rejected": __("Your correction for “{title}” was not approved: {note}"),
    "record.failed_check": __(
        "A spot check found your record for “{title}” on {day} wrong ({note}); its {hours} "
        "hours were reversed."
    ),
    "timebank.accepted": __("Your {hours} hours ({memo}) were accepted and moved."),
    "timebank.declined": __("Your {hours} hours ({memo}) were declined; nothing moved."),
    "organisation.registered": __(
        "New organisation “{name}” registered in your community: verify it with /orgs."
    ),
    "organisation.verified": __("“{name}” is verified: it can publish projects now."),
    "organisation.refused": __("“{name}” was not verified: {reason}"),
    "project.submitted": __("Project “{title}” was submitted for your approval."),
    "project.needs_decision": __(
        "Project “{title}” is a major matter: the party organisation's decision is needed."
    ),
    "project.approved": __("Your project “{title}” was approved: publish it to recruit."),
    "project.rejected": __("Your project “{title}” was sent back: {reason}"),
    "project.decided_yes": __(
        "The party organisation approved the major matter “{title}”: it can be approved now."
    ),
    "project.decided_no": __("The party organisation did not approve “{title}”."),
    "need.offered": __(
        "Could you help? Request {reference} near you:\n{description}\nThe first volunteer to "
        "accept takes it."
    ),
    "need.taken_by_volunteer": __("Volunteer {name} took request {reference}."),
    "need.help_offered": __("Volunteer {name} offers to help with request {reference}."),
    "reward.handed_over": __("You received: {title}. Thank you for volunteering!"),
    "need.referred": __("Your request {reference} was passed to: {department}"),
    "need.rejected": __("Your request {reference} was closed without a solution: {reason}"),
}


def _action_buttons(actions: Sequence[tuple[str, int]]) -> InlineKeyboardMarkup | None:
    labels = {
        "open": (_("Open"),),
        "take": (_("Start working on it"),),
        "hand_back": (_("Hand it back"),),
        "take_offer": (_("I'll take it"),),
    }
    rows: list[list[InlineKeyboardButton]] = []
    for action, need_id in actions:
        if action == "project":
            rows.append(
                [
                    InlineKeyboardButton(
                        text=_("Open the project"),
                        callback_data=ProjectCb(action=ProjectCbAction.OPEN, id=need_id).pack(),
                    )
                ]
            )
        elif action == "shift":
            rows.append(
                [
                    InlineKeyboardButton(
                        text=_("Sign up"),
                        callback_data=ShiftCb(action=ShiftAction.JOIN, id=need_id).pack(),
                    )
                ]
            )
        elif action == "feedback":
            rows.append(
                [
                    InlineKeyboardButton(
                        text=_("Solved"),
                        callback_data=NeedCb(action=NeedAction.SOLVED, id=need_id).pack(),
                    ),
                    InlineKeyboardButton(
                        text=_("Not solved"),
                        callback_data=NeedCb(action=NeedAction.UNSOLVED, id=need_id).pack(),
                    ),
                ]
            )
        else:
            rows.append(
                [
                    InlineKeyboardButton(
                        text=labels[action][0],
                        callback_data=NeedCb(action=NeedAction(action), id=need_id).pack(),
                    )
                ]
            )
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


MAX_PARAM = 1000


def render(notice: Notice, tz: ZoneInfo, locale: str = "zh") -> str:
    params: dict[str, str] = {}
    for key, value in notice.params.items():
        if key.endswith("_en"):
            continue
        if locale == "en" and notice.params.get(f"{key}_en"):
            value = notice.params[f"{key}_en"]
        if key == "state":
            params[key] = str(STATE_NAMES[NeedState(str(value))])
        elif key in ("due", "start"):
            params[key] = local_time(datetime.fromisoformat(str(value)), tz)
        else:
            text = str(value)
            if len(text) > MAX_PARAM:
                text = text[:MAX_PARAM] + "…"
            params[key] = html.escape(text)
    return str(NOTICE_TEXTS[notice.message]).format(**params)


class ChatNotifier:
    def __init__(
        self,
        make_uow: Callable[[], UnitOfWork],
        i18n: I18n,
        bots: dict[Channel, Bot],
        tz: ZoneInfo,
        default_locale: str,
    ) -> None:
        # A fresh unit of work per notice: the notifier is shared by concurrent updates.
        self.make_uow = make_uow
        self.i18n = i18n
        self.bots = bots
        self.tz = tz
        self.default_locale = default_locale

    async def send(self, notices: Sequence[Notice]) -> None:
        for notice in notices:
            try:
                await self._send_one(notice)
            except Exception:
                # One failed notice must not cost the others, nor the action that caused it.
                log.exception("notice %s to person %s failed", notice.message, notice.person_id)

    async def _send_one(self, notice: Notice) -> None:
        contact = await people.contact(
            self.make_uow(), person_id=notice.person_id, fallback_locale=self.default_locale
        )
        if contact is None:
            return
        with self.i18n.context(), self.i18n.use_locale(contact.locale):
            text = render(notice, self.tz, contact.locale)
            markup = _action_buttons(notice.actions)
            how = Sending(
                notice.message,
                _("A message from the community service"),
                _("Reply to this account to read it in full and to answer."),
            )
        # Every linked chat gets it: a web page may be closed while Telegram is on the phone.
        delivered = False
        token = sending.set(how)
        try:
            for account in contact.accounts:
                bot = self.bots.get(account.channel)
                if bot is not None:
                    chat_id = int(account.chat_id)
                    delivered |= await self._deliver(bot, chat_id, text, markup, notice)
        finally:
            sending.reset(token)
        if not delivered:
            log.info("person %s has no reachable chat for %s", notice.person_id, notice.message)

    async def _deliver(
        self,
        bot: Bot,
        chat_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None,
        notice: Notice,
    ) -> bool:
        for _attempt in range(3):
            try:
                await bot.send_message(chat_id, text, reply_markup=markup)
                return True
            except TelegramRetryAfter as error:
                await asyncio.sleep(min(error.retry_after, 60))
            except TelegramAPIError as error:
                # Blocked, deleted chat...: the record stays in the store, visible in /mine.
                log.warning("notice %s to person %s: %s", notice.message, notice.person_id, error)
                return False
        return False
