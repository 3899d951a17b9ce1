"""Words for broadcasts: progress, the final report, topics and audiences."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.domain.broadcasts import AudienceKind, BroadcastState, Topic
from bot.services.broadcasts import Report, StatusView
from handlers.broadcasts.callbacks import BroadcastAction, BroadcastCb
from handlers.common.keyboards import button

TOPIC_NAMES = {
    Topic.PROJECTS: __("Project calls"),
    Topic.SURVEYS: __("Surveys"),
    Topic.CONSULTATIONS: __("Consultations"),
    Topic.NEWS: __("Community news"),
    Topic.EMERGENCY: __("Emergencies"),
    Topic.SHIFTS: __("New shifts that fit me"),
}

AUDIENCE_NAMES = {
    AudienceKind.EVERYONE: __("Everyone (residents and volunteers)"),
    AudienceKind.RESIDENTS: __("Residents"),
    AudienceKind.VOLUNTEERS: __("Verified volunteers"),
    AudienceKind.PROJECT_FIT: __("Volunteers who fit the project"),
    AudienceKind.GROUPS: __("The community's group chats (楼栋群)"),
}

STATE_NAMES = {
    BroadcastState.SCHEDULED: __("scheduled"),
    BroadcastState.SENDING: __("sending"),
    BroadcastState.PAUSED: __("paused"),
    BroadcastState.CANCELLED: __("cancelled"),
    BroadcastState.DONE: __("done"),
}


def progress_text(view: StatusView, rate: float) -> str:
    p = view.progress
    lines = [
        _("Broadcast #{id}: {state}").format(id=view.id, state=STATE_NAMES[view.state]),
        _("Sent {sent} · failed {failed} · left {left} · of {total}").format(
            sent=p.sent, failed=p.failed, left=p.left, total=p.total
        ),
    ]
    if p.skipped:
        lines.append(_("Not sent (opted out or cancelled): {count}").format(count=p.skipped))
    if view.state is BroadcastState.SENDING and view.started_at is not None:
        elapsed = max(1.0, (datetime.now(UTC) - view.started_at).total_seconds())
        lines.append(
            _("Rate {rate:.1f}/s · about {seconds} s left").format(
                rate=p.sent / elapsed, seconds=p.seconds_left(rate)
            )
        )
    return "\n".join(lines)


def progress_keyboard(view: StatusView) -> InlineKeyboardMarkup | None:
    row = []
    if view.state is BroadcastState.SENDING:
        row.append(button(_("Pause"), BroadcastCb(action=BroadcastAction.PAUSE, id=view.id)))
    if view.state is BroadcastState.PAUSED:
        row.append(button(_("Resume"), BroadcastCb(action=BroadcastAction.RESUME, id=view.id)))
    if view.state in (BroadcastState.SCHEDULED, BroadcastState.SENDING, BroadcastState.PAUSED):
        row.append(button(_("Cancel it"), BroadcastCb(action=BroadcastAction.CANCEL, id=view.id)))
    return InlineKeyboardMarkup(inline_keyboard=[row]) if row else None


def report_text(report: Report) -> str:
    lines = [
        _("Report of broadcast #{id} ({state})").format(
            id=report.id, state=STATE_NAMES[report.state]
        ),
        _("Delivered: {count}").format(count=report.sent),
        _("Blocked the bot: {count}").format(count=report.blocked),
        _("Opted out of this topic: {count}").format(count=report.opted_out),
    ]
    if report.template:
        lines.append(
            _("As a WeChat template message (no reply for 48 hours): {count}").format(
                count=report.template
            )
        )
    if report.waiting:
        lines.append(
            _("Waiting for the person's next WeChat message: {count}").format(count=report.waiting)
        )
    if report.uncertain:
        lines.append(
            _("Interrupted while sending (may have arrived): {count}").format(
                count=report.uncertain
            )
        )
    failed = report.progress.failed - report.blocked - report.uncertain
    if failed:
        lines.append(_("Failed: {count}").format(count=failed))
        for reason, count in sorted(report.failures.items(), key=lambda kv: -kv[1])[:5]:
            if reason not in ("blocked", "interrupted"):
                lines.append(f"  · {reason}: {count}")
    if report.groups:
        lines.append(_("Of those, posts in group chats: {count}").format(count=report.groups))
    if report.project_id is not None:
        lines.append(_("Sign-ups it produced: {count}").format(count=report.sign_ups))
    return "\n".join(lines)
