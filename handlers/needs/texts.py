"""Names and renderings for needs, shared by the resident, worker and notice screens."""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.domain.needs import (
    Beneficiary,
    ClosureReason,
    NeedState,
    Urgency,
    photo_url,
)
from bot.services.needs import EventView, NeedBrief, NeedDetail
from handlers.common.texts import CATEGORY_NAMES, local_time

URGENCY_NAMES = {
    Urgency.URGENT: __("Urgent"),
    Urgency.NORMAL: __("Normal"),
    Urgency.CAN_WAIT: __("Can wait"),
}
BENEFICIARY_NAMES = {
    Beneficiary.SELF: __("Myself"),
    Beneficiary.FAMILY: __("A family member"),
    Beneficiary.NEIGHBOUR: __("A neighbour"),
}
STATE_NAMES = {
    NeedState.NEW: __("New — waiting for a community worker"),
    NeedState.ACCEPTED: __("Accepted — a handler is being found"),
    NeedState.ASSIGNED: __("Assigned"),
    NeedState.IN_PROGRESS: __("In progress"),
    NeedState.RESOLVED: __("Resolved — please confirm"),
    NeedState.CLOSED: __("Closed"),
    NeedState.REOPENED: __("Reopened"),
    NeedState.REFERRED: __("Referred to another department"),
    NeedState.REJECTED: __("Closed without a solution"),
}
CLOSURE_NAMES = {
    ClosureReason.CONFIRMED_SOLVED: __("solved, confirmed by the resident"),
    ClosureReason.NOT_CONFIRMED: __("resolved, not confirmed by the resident"),
    ClosureReason.REFERRED: __("referred elsewhere"),
    ClosureReason.NOT_SOLVABLE: __("cannot be solved here"),
    ClosureReason.OUT_OF_SCOPE: __("outside what the community handles"),
}
NEXT_STEPS = {
    NeedState.NEW: __("A community worker will look at it."),
    NeedState.ACCEPTED: __("A community worker is finding someone to handle it."),
    NeedState.ASSIGNED: __("The handler will start soon."),
    NeedState.IN_PROGRESS: __("The handler is working on it."),
    NeedState.RESOLVED: __("Please tell us whether it is solved."),
    NeedState.REOPENED: __("The handler is looking at it again."),
}
EVENT_NAMES = {
    "filed": __("filed"),
    "accepted": __("accepted"),
    "assigned": __("assigned"),
    "in_progress": __("work started"),
    "note": __("note"),
    "resolved": __("resolved"),
    "confirmed": __("confirmed as solved"),
    "reopened": __("reopened"),
    "referred": __("referred"),
    "rejected": __("closed without a solution"),
    "handed_back": __("handed back"),
    "classified": __("category changed"),
    "due_changed": __("deadline changed"),
    "escalated": __("escalated to the street"),
    "closed_unconfirmed": __("closed without confirmation"),
    "consultation": __("consultation outcome"),
}
URGENCY_MARK = {Urgency.URGENT: "🔴", Urgency.NORMAL: "🟡", Urgency.CAN_WAIT: "🟢"}


def brief_line(need: NeedBrief) -> str:
    line = f"{URGENCY_MARK[need.urgency]} {need.reference} · {CATEGORY_NAMES[need.category]}"
    if need.resident_name:
        line += f" · {html.escape(need.resident_name)}"
    return line


def resident_summary(need: NeedBrief, tz: ZoneInfo) -> str:
    lines = [
        f"<b>{need.reference}</b> · {CATEGORY_NAMES[need.category]}",
        _("State: {state}").format(state=STATE_NAMES[need.state]),
    ]
    if need.assignee:
        lines.append(_("Handled by: {name}").format(name=html.escape(need.assignee)))
    step = NEXT_STEPS.get(need.state)
    if step:
        lines.append(_("Next: {step}").format(step=step))
    return "\n".join(lines)


def detail_text(detail: NeedDetail, tz: ZoneInfo, locale: str) -> str:
    need = detail.brief
    lines = [
        f"<b>{need.reference}</b> · {URGENCY_MARK[need.urgency]} {URGENCY_NAMES[need.urgency]}",
        _("Community: {place}").format(place=html.escape(need.community.label(locale))),
        _("Category: {category}").format(category=CATEGORY_NAMES[need.category]),
        _("For: {whom}").format(whom=BENEFICIARY_NAMES[detail.beneficiary]),
        _("State: {state}").format(state=STATE_NAMES[need.state]),
        _("Filed: {at} · due {due}").format(
            at=local_time(need.created_at, tz), due=local_time(need.due_at, tz)
        ),
        _("Supporters (“me too”): {count}").format(count=need.supporters),
    ]
    if need.assignee:
        lines.append(_("Handled by: {name}").format(name=html.escape(need.assignee)))
    lines += _contact_lines(detail) + _place_and_photo_lines(detail)
    if detail.closure_reason is not None:
        lines.append(_("Outcome: {outcome}").format(outcome=CLOSURE_NAMES[detail.closure_reason]))
    if detail.resolution:
        lines.append(_("What was done: {text}").format(text=html.escape(detail.resolution)))
    lines += ["", html.escape(need.description[:1500]), "", _("<b>History</b>")]
    history = [_event_line(event, tz) for event in detail.events]
    return "\n".join(lines + _newest_that_fit(history, MESSAGE_BUDGET - len("\n".join(lines))))


def _contact_lines(detail: NeedDetail) -> list[str]:
    """Who filed it (for workers) and, when someone should come, how to reach them."""
    lines = []
    if detail.contact is not None and not detail.is_resident:
        lines.append(_("Resident: {name}").format(name=html.escape(detail.contact.name)))
    if detail.contact is not None and detail.contact.wants_visit:
        lines.append(_("Someone should come: yes"))
        lines.append(_("Contact phone: {phone}").format(phone=detail.contact.phone or "—"))
        lines.append(
            _("Address: {address}").format(address=html.escape(detail.contact.address or "—"))
        )
    return lines


def _place_and_photo_lines(detail: NeedDetail) -> list[str]:
    lines = []
    if detail.latitude is not None and detail.longitude is not None:
        lines.append(
            _("Location: {lat:.5f}, {lon:.5f}").format(lat=detail.latitude, lon=detail.longitude)
            + f' (<a href="{map_link(detail.latitude, detail.longitude)}">🗺</a>)'
        )
    address = photo_url(detail.photo)
    if address is not None:
        link = f'<a href="{html.escape(address, quote=True)}">{html.escape(address[:60])}</a>'
        lines.append(_("Photo: {link}").format(link=link))
    elif detail.photo:
        lines.append(_("A photo is attached."))
    return lines


def _newest_that_fit(history: list[str], budget: int) -> list[str]:
    """A message holds 4,096 characters: keep the newest history lines that fit, oldest first,
    with "…" in place of the older ones."""
    kept: list[str] = []
    for line in reversed(history):
        if budget - len(line) - 1 < 0:
            kept.append("…")
            break
        kept.append(line)
        budget -= len(line) + 1
    return list(reversed(kept))


MESSAGE_BUDGET = 3900


def _event_line(event: EventView, tz: ZoneInfo) -> str:
    who = f" ({html.escape(event.actor)})" if event.actor else ""
    private = "" if event.public else " 🔒"
    text = f": {html.escape(event.text[:500])}" if event.text else ""
    name = EVENT_NAMES.get(event.kind, event.kind)
    return f"• {local_time(event.at, tz)} {name}{who}{private}{text}"


def map_link(latitude: float, longitude: float) -> str:
    """A map pin that opens in any browser and in the common map apps."""
    return f"https://uri.amap.com/marker?position={longitude:.6f},{latitude:.6f}"
