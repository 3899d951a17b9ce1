"""The dashboard page's HTML (`/dashboard`, routes in bot/web/dashboard.py): the same indicators,
charts and months as /stats and /export (handlers/kpis/texts.py), for a street or district admin
whose grants are checked again on every request."""

from __future__ import annotations

import asyncio
import base64
import html
from typing import Any

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.domain.errors import DomainError
from bot.domain.kpis import shown
from bot.domain.policy import DASHBOARD_ROLES
from bot.services import dashboards, kpis
from bot.services.dashboards import Session
from bot.services.views import Report
from handlers.common.texts import local_time
from handlers.kpis.texts import KPI_NAMES, charts, status

PAGE = """<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font:15px/1.5 system-ui,"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:0;
padding:0 .8rem 2rem;max-width:60rem;margin:auto;color:#222}}
h1{{font-size:1.3rem}} h2{{font-size:1.1rem;margin-top:1.6rem}}
table{{border-collapse:collapse;width:100%;font-size:.9rem}}
th,td{{border-bottom:1px solid #ddd;padding:.35rem .4rem;text-align:left;vertical-align:top}}
td.n{{text-align:right;white-space:nowrap}}
tr.met td.s{{color:#2e7d32}} tr.behind td.s{{color:#c62828}} tr.count td.s{{color:#666}}
img{{max-width:100%;height:auto}} .wrap{{overflow-x:auto}} .muted{{color:#666;font-size:.85rem}}
</style></head>
<body>{body}</body></html>
"""


def _table(rows: list[str], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return f'<div class="wrap"><table><tr>{head}</tr>{"".join(rows)}</table></div>'


def _cells(*values: str) -> str:
    return "".join(f'<td class="n">{v}</td>' for v in values)


def _indicator_rows(report: Report) -> list[str]:
    rows = []
    for i in report.unit.indicators:
        # A count without a target at this level: no "0" target and no green "met".
        state = ("met" if i.met else "behind") if i.has_target else "count"
        target = shown(i.kpi, i.target) if i.has_target else "—"
        rows.append(
            f'<tr class="{state}" data-kpi="{i.kpi.value}">'
            f"<td>{html.escape(str(KPI_NAMES[i.kpi]))}</td>"
            + _cells(shown(i.kpi, i.actual), target)
            + f'<td class="s">{html.escape(status(i))}</td></tr>'
        )
    return rows


def _children(report: Report, locale: str) -> list[str]:
    if not report.children:
        return []
    rows = []
    for child in report.children:
        measured = [i for i in child.indicators if i.has_target]
        met = sum(1 for i in measured if i.met)
        values = [shown(i.kpi, i.actual) for i in child.indicators[:3]]
        rows.append(
            f"<tr><td>{html.escape(child.unit.name.label(locale))}</td>"
            + _cells(f"{met} / {len(measured)}", *values)
            + "</tr>"
        )
    header = [_("Unit"), _("Targets met")]
    header += [str(KPI_NAMES[i.kpi]) for i in report.unit.indicators[:3]]
    title = _("Below this level")
    return [f"<h2>{html.escape(title)}</h2>", _table(rows, header)]


def _months(report: Report) -> list[str]:
    rows = [
        f"<tr><td>{m.month}</td>"
        + _cells(
            str(m.needs_received),
            str(m.needs_resolved),
            str(m.needs_overdue),
            f"{m.volunteer_hours:.1f}",
            str(m.active_volunteers),
        )
        + "</tr>"
        for m in report.months
    ]
    header = [
        _("Month"),
        _("Requests received"),
        _("Requests resolved"),
        _("Requests overdue"),
        _("Volunteer hours"),
        _("Active volunteers"),
    ]
    title = _("By month")
    return [f"<h2>{html.escape(title)}</h2>", _table(rows, header)]


def dashboard_html(
    report: Report, locale: str, png: tuple[bytes, bytes], settings: Settings
) -> str:
    """The page: the same indicators, charts and months as /stats and /export."""
    name = report.unit.unit.name.label(locale)
    title = _("{name}: indicators against the 2025 targets").format(name=name)
    when = _("Computed at {when}").format(when=local_time(report.computed_at, settings.tz))
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="muted">{html.escape(when)}</p>',
        _table(_indicator_rows(report), [_("Indicator"), _("Actual"), _("Target"), _("Status")]),
    ]
    for data in png:
        encoded = base64.b64encode(data).decode()
        parts.append(f'<p><img alt="" src="data:image/png;base64,{encoded}"></p>')
    parts += _children(report, locale) + _months(report)
    return PAGE.format(
        lang="zh-CN" if locale == "zh" else "en",
        title=html.escape(_("Dashboard")),
        body="".join(parts),
    )


def refused_html(locale: str) -> str:
    title = _("Dashboard")
    text = _(
        "This link is not valid, was already used or has expired. Ask the bot for a new one "
        "with /dashboard."
    )
    return PAGE.format(
        lang="zh-CN" if locale == "zh" else "en",
        title=html.escape(_("Dashboard")),
        body=f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>",
    )


def confirm_html(locale: str, token: str) -> str:
    """What the link opens: a button that uses it (a preview fetching the link does not)."""
    title = _("Dashboard")
    label = _("Open the dashboard")
    form = (
        '<form method="post" action="/dashboard">'
        f'<input type="hidden" name="t" value="{html.escape(token)}">'
        f'<button type="submit" style="font-size:1.1rem;padding:.6rem 1.2rem">'
        f"{html.escape(label)}</button></form>"
    )
    return PAGE.format(
        lang="zh-CN" if locale == "zh" else "en",
        title=html.escape(title),
        body=f"<h1>{html.escape(title)}</h1>{form}",
    )


async def render_page(
    make_uow: Any,
    i18n: I18n,
    settings: Settings,
    session: Session | None,
    lang: str,
    token: str | None,
) -> tuple[int, str]:
    """The page for a session (its admin's grants checked again), the button that uses a
    link, or the refusal."""
    locale = lang if lang in ("zh", "en") else (session.locale if session else "zh")
    with i18n.context(), i18n.use_locale(locale):
        if token is not None:
            return 200, confirm_html(locale, token)
        if session is None:
            return 403, refused_html(locale)
        try:
            principal = await dashboards.principal_for(make_uow(), session)
            report = await kpis.report(
                make_uow(),
                principal,
                level=session.level,
                scope_id=session.scope_id,
                targets=settings.targets,
                tz=settings.tz,
                roles=DASHBOARD_ROLES,
                cache_seconds=settings.kpi_cache_seconds,
            )
        except DomainError:
            return 403, refused_html(locale)
        png = await asyncio.to_thread(charts, report, locale)
        return 200, dashboard_html(report, locale, png, settings)
