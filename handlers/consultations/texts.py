"""How a consultation reads: its page (text and buttons), the results and the minutes."""

from __future__ import annotations

import html
import re
from typing import Any

from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.consultations import Actor, Phase
from bot.services.consultations import ConsultationView, Results
from handlers.common.keyboards import button
from handlers.common.texts import local_time
from handlers.consultations.callbacks import ConsultAction, ConsultCb

TAG = re.compile(r"<[^>]+>")
PHASE_NAMES = {
    Phase.DISCUSSION: __("open for discussion"),
    Phase.VOTING: __("voting"),
    Phase.COUNTING: __("voting over, to be closed"),
    Phase.CLOSED: __("closed, the decision is awaited"),
    Phase.DECIDED: __("decided"),
}
ACTOR_NAMES = {
    Actor.RESIDENT: __("resident"),
    Actor.SOCIAL_WORKER: __("social worker"),
    Actor.ORGANISATION: __("social organisation"),
    Actor.VOLUNTEER: __("volunteer"),
    Actor.CHARITY: __("charity donor"),
    Actor.COMMUNITY: __("community"),
}


def consultation_text(view: ConsultationView, tz: Any) -> str:
    s = view.schedule
    lines = [
        _("<b>Consultation C{id}: {title}</b>").format(id=view.id, title=html.escape(view.title)),
        html.escape(view.background),
        "",
        _("Now: {phase}").format(phase=PHASE_NAMES[view.phase]),
        _("Discussion until {when}").format(when=local_time(s.discussion_ends_at, tz)),
    ]
    if view.options:
        lines.append(_("Voting until {when}").format(when=local_time(s.voting_ends_at, tz)))
        lines.append(_("Anonymous vote") if view.anonymous else _("Named vote"))
        lines += [f"{n}. {html.escape(o.text)}" for n, o in enumerate(view.options, 1)]
    if view.major:
        lines.append(_("A major matter: the community party organisation decides."))
    if view.meeting_at:
        lines.append(
            _("Meeting: {when}, {place}").format(
                when=local_time(view.meeting_at, tz), place=html.escape(view.meeting_place or "")
            )
        )
    if view.my_option is not None:
        chosen = next((o.text for o in view.options if o.id == view.my_option), "")
        lines.append(_("Your vote: {option}").format(option=html.escape(chosen)))
    if view.decision:
        lines.append(_("Decision: {decision}").format(decision=html.escape(view.decision)))
    return "\n".join(lines)


def page_keyboard(view: ConsultationView) -> InlineKeyboardMarkup:
    def act(label: str, action: ConsultAction) -> list[Any]:
        return [button(label, ConsultCb(action=action, id=view.id))]

    rows = []
    open_ = view.phase in (Phase.DISCUSSION, Phase.VOTING)
    if view.entitled or view.can_manage or view.can_decide:
        rows.append(act(_("Opinions"), ConsultAction.OPINIONS))
    if view.entitled and open_:
        rows.append(act(_("Give an opinion"), ConsultAction.OPINE))
    if view.entitled and view.phase is Phase.VOTING:
        rows.append(act(_("Vote"), ConsultAction.BALLOT))
    if view.entitled and view.meeting_at and view.phase is not Phase.DECIDED:
        rows.append(act(_("I am at the meeting"), ConsultAction.ATTEND))
    if view.can_manage and view.phase is not Phase.DECIDED:
        rows.append(act(_("Invitation links"), ConsultAction.INVITE))
        if view.phase is Phase.VOTING:
            rows.append(act(_("Record a paper vote"), ConsultAction.PAPER))
        if view.meeting_at:
            rows.append(act(_("Meeting code"), ConsultAction.CODE))
        if view.phase is Phase.COUNTING:
            rows.append(act(_("Close and count"), ConsultAction.CLOSE))
    if view.can_decide and view.phase is Phase.CLOSED:
        rows.append(act(_("Record the decision"), ConsultAction.DECIDE))
    if view.phase in (Phase.CLOSED, Phase.DECIDED):
        rows.append(
            act(_("Results"), ConsultAction.RESULTS) + act(_("Minutes"), ConsultAction.MINUTES)
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def show(message: Message, view: ConsultationView, settings: Settings) -> None:
    await message.answer(consultation_text(view, settings.tz), reply_markup=page_keyboard(view))


def results_text(found: Results) -> str:
    view, counted = found.consultation, found.tally
    lines = [
        _("<b>Results of C{id}: {title}</b>").format(id=view.id, title=html.escape(view.title))
    ]
    for option in view.options:
        lines.append(f"{html.escape(option.text)}: {counted.per_option.get(option.id, 0)}")
    lines.append(
        _("Turnout: {ballots} of {entitled} ({share:.0%}), of them {assisted} on paper").format(
            ballots=counted.ballots,
            entitled=counted.entitled,
            share=counted.turnout,
            assisted=counted.assisted,
        )
    )
    for actor, entitled in sorted(counted.entitled_per_actor.items()):
        lines.append(
            _("  {actor}: {ballots} of {entitled}").format(
                actor=ACTOR_NAMES[actor], ballots=counted.per_actor.get(actor, 0), entitled=entitled
            )
        )
    if view.meeting_at:
        lines.append(_("At the meeting: {count}").format(count=found.attended))
    return "\n".join(lines)


def minutes_text(found: Results, opinions: list[Any], settings: Settings) -> str:
    """Plain text: what was asked, who could take part, the count, the opinions, the decision.
    An anonymous vote's minutes name no voter."""
    view = found.consultation
    plain = [
        _("Minutes of the consultation C{id}").format(id=view.id),
        view.title,
        "",
        view.background,
        "",
        _results_plain(found),
        "",
        _("Opinions:"),
    ]
    for opinion in opinions:
        text = (
            opinion.text
            if opinion.text is not None
            else _("(hidden: {reason})").format(reason=opinion.hidden_reason or "")
        )
        plain.append(f"- {opinion.author} ({ACTOR_NAMES[opinion.actor]}): {text}")
    if found.named:
        options = {o.id: o.text for o in view.options}
        plain += ["", _("Named votes:")]
        plain += [f"- {name}: {options.get(option, '?')}" for name, option in found.named]
    if view.decision:
        plain += ["", _("Decision: {decision}").format(decision=view.decision)]
        if view.decided_on:
            plain.append(
                _("Decided by the party organisation on {day}").format(day=view.decided_on)
            )
        if view.minutes:
            plain.append(view.minutes)
    return "\n".join(plain) + "\n"


def _results_plain(found: Results) -> str:
    return html.unescape(TAG.sub("", results_text(found)))
