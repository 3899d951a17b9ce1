"""How volunteers' skills, free times, shifts and service records read, wherever they are
shown: registration, shifts, projects, matching, attendance and the time bank."""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.attendance import RecordStatus
from bot.domain.timebank import hours_text
from bot.domain.volunteers import (
    SignupStatus,
    Skill,
)
from bot.services.attendance import RecordView
from bot.services.shifts import ShiftView
from handlers.common.texts import local_time

SKILL_NAMES = {
    Skill.ELDERLY_CARE: __("Elderly care"),
    Skill.CHILD_CARE: __("Child care"),
    Skill.DISABILITY_SUPPORT: __("Disability support"),
    Skill.HEALTH: __("Health and first aid"),
    Skill.PSYCHOLOGICAL: __("Listening and counselling"),
    Skill.COOKING: __("Cooking"),
    Skill.REPAIRS: __("Repairs"),
    Skill.DRIVING: __("Driving"),
    Skill.TEACHING: __("Tutoring"),
    Skill.LEGAL: __("Legal advice"),
    Skill.DIGITAL: __("Phones and computers"),
    Skill.CULTURE: __("Culture and arts"),
    Skill.HOUSEKEEPING: __("Housekeeping"),
}


DAY_NAMES = {
    "mon": __("Mon"),
    "tue": __("Tue"),
    "wed": __("Wed"),
    "thu": __("Thu"),
    "fri": __("Fri"),
    "sat": __("Sat"),
    "sun": __("Sun"),
}


PERIOD_NAMES = {"am": __("morning"), "pm": __("afternoon"), "eve": __("evening")}


def slot_label(slot: str) -> str:
    day, period = slot.split("_")
    return f"{DAY_NAMES[day]} {PERIOD_NAMES[period]}"


def skill_options() -> list[tuple[str, str]]:
    return [(skill.value, str(name)) for skill, name in SKILL_NAMES.items()]


def shift_text(view: ShiftView, settings: Settings, locale: str) -> str:
    end = view.ends_at.astimezone(settings.tz).strftime("%H:%M")
    lines = [
        f"<b>{html.escape(view.title)}</b>",
        _("When: {start}–{end}").format(start=local_time(view.starts_at, settings.tz), end=end),
        _("Where: {place} ({community})").format(
            place=html.escape(view.place), community=html.escape(view.community.label(locale))
        ),
        _("Places: {taken}/{capacity} taken, {waiting} on the wait list").format(
            taken=view.confirmed, capacity=view.capacity, waiting=view.waitlisted
        ),
    ]
    if view.skills:
        lines.append(
            _("Skills wanted: {skills}").format(
                skills=", ".join(str(SKILL_NAMES[s]) for s in view.skills)
            )
        )
    if view.my_status is SignupStatus.CONFIRMED and view.can_cancel:
        lines.append(
            _("✅ You are signed up. Cancel by {deadline}.").format(
                deadline=local_time(view.cancel_deadline, settings.tz)
            )
        )
    elif view.my_status is SignupStatus.CONFIRMED:
        lines.append(
            _(
                "✅ You are signed up. It starts within {hours} hours, so the place can no longer "
                "be cancelled in chat: if you cannot come, please tell the organiser."
            ).format(hours=view.cancel_hours)
        )
    elif view.my_status is SignupStatus.WAITLISTED:
        lines.append(_("⏳ You are on the wait list; you will be told if a place comes free."))
    elif not view.fits:
        lines.append(_("(Outside your skills or usual free time.)"))
    return "\n".join(lines)


RECORD_STATUS_NAMES = {
    RecordStatus.CHECKED_IN: __("checked in"),
    RecordStatus.CHECKED_OUT: __("checked out, waiting for the organiser"),
    RecordStatus.UNCONFIRMED: __("check-out forgotten, waiting for the organiser"),
    RecordStatus.CONFIRMED: __("confirmed"),
    RecordStatus.FAILED: __("failed a spot check, not counted"),
}


def record_text(view: RecordView, settings: Settings, *, for_organiser: bool = False) -> str:
    out = local_time(view.checked_out_at, settings.tz) if view.checked_out_at else "—"
    lines = [f"<b>{html.escape(view.content)}</b> · {html.escape(view.place)}"]
    if for_organiser:
        lines.append(
            _("Volunteer: {name} ({number})").format(
                name=html.escape(view.volunteer_name), number=view.volunteer_number
            )
        )
    lines += [
        _("In: {start} · Out: {end}").format(
            start=local_time(view.checked_in_at, settings.tz), end=out
        ),
        _("{hours} hours · {status}").format(
            hours=hours_text(view.minutes), status=RECORD_STATUS_NAMES[view.status]
        ),
    ]
    if view.adjustment_reason:
        lines.append(_("Adjusted: {reason}").format(reason=html.escape(view.adjustment_reason)))
    if view.correction_pending:
        lines.append(_("A correction request is waiting for the organiser."))
    return "\n".join(lines)
