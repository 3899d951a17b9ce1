"""Words and files for the indicators: the text summary, the charts, the workbook and the CSV —
one source for chat, export and the dashboard page, so that they show the same numbers."""

from __future__ import annotations

import csv
import html
import io
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.documents.charts import Bar, targets_chart, trend_chart
from bot.documents.workbook import Sheet, workbook
from bot.domain.enums import ScopeLevel
from bot.domain.kpis import PERCENT, WHOLE, Indicator, Kpi, Month, shown
from bot.services.views import Report, UnitFigures
from handlers.common.texts import local_time

KPI_NAMES = {
    Kpi.VOLUNTEER_SHARE: __("Verified volunteers / residents"),
    Kpi.SOCIAL_ORGS: __("Community social organisations per community"),
    Kpi.WORKERS_PER_10K: __("Community workers per 10,000 urban residents"),
    Kpi.CERTIFIED_SHARE: __("Community workers with the social-work certificate"),
    Kpi.SOCIAL_WORK_COVERAGE: __("Communities served by their social-work room or station"),
    Kpi.STATION_COVERAGE: __("Communities with a volunteer service station"),
    Kpi.CHARITY_ORGS: __("Communities with a charity organisation"),
    Kpi.COMMUNITY_FUNDS: __("Community funds"),
    Kpi.DEMONSTRATION_SITES: __("New demonstration sites this year"),
    Kpi.SOCIAL_WORK_PROFESSIONALS: __("Social-work professionals (certificate or social worker)"),
    Kpi.CERTIFICATE_HOLDERS: __("Holders of a verified social-work certificate"),
    Kpi.TRAINING_HOURS: __("Training hours per community worker this year"),
    Kpi.CHARITY_GROWTH: __("Charity organisations (double the baseline year's count)"),
}
LEVEL_SHEETS = {
    ScopeLevel.DISTRICT: __("District"),
    ScopeLevel.STREET: __("Streets"),
    ScopeLevel.COMMUNITY: __("Communities"),
}


def status(indicator: Indicator) -> str:
    if not indicator.has_target:
        return _("no target at this level")
    if indicator.met:
        return _("met")
    if indicator.kpi in WHOLE:  # a count: "behind by 199", not 199.0
        return _("behind by {count}").format(count=round(indicator.gap))
    gap = indicator.gap * 100 if indicator.kpi in PERCENT else indicator.gap
    unit = _(" points") if indicator.kpi in PERCENT else ""
    return _("behind by {gap:.1f}{unit}").format(gap=gap, unit=unit)


def indicator_line(indicator: Indicator) -> str:
    if not indicator.has_target:
        return _("• {name}: {actual}").format(
            name=KPI_NAMES[indicator.kpi], actual=shown(indicator.kpi, indicator.actual)
        )
    mark = "✅" if indicator.met else "⚠️"
    return _("{mark} {name}: {actual} (target {target}) — {status}").format(
        mark=mark,
        name=KPI_NAMES[indicator.kpi],
        actual=shown(indicator.kpi, indicator.actual),
        target=shown(indicator.kpi, indicator.target),
        status=status(indicator),
    )


def summary_text(report: Report, locale: str, tz: ZoneInfo) -> str:
    unit = report.unit
    lines = [
        _("<b>{name}</b>: indicators against the 2025 targets").format(
            name=html.escape(unit.unit.name.label(locale))
        ),
        _("Computed at {when}").format(when=local_time(report.computed_at, tz)),
        "",
    ]
    lines += [indicator_line(i) for i in unit.indicators]
    month = report.months[-1]
    lines += [
        "",
        _("This month ({month}):").format(month=month.month),
        _("Requests: {received} received, {resolved} resolved, {overdue} overdue").format(
            received=month.needs_received,
            resolved=month.needs_resolved,
            overdue=month.needs_overdue,
        ),
        _("Confirmed volunteer hours: {hours:.1f} by {people} volunteers").format(
            hours=month.volunteer_hours, people=month.active_volunteers
        ),
    ]
    if report.children:
        met_all = sum(1 for c in report.children if all(i.met for i in c.indicators))
        lines.append(
            _("{behind} of {count} below meet every target: see /export for each.").format(
                behind=met_all, count=len(report.children)
            )
        )
    return "\n".join(lines)


def bars(figures: UnitFigures) -> list[Bar]:
    found = []
    for i in figures.indicators:
        if i.target <= 0:
            continue  # nothing to measure against (e.g. funds without a local target)
        found.append(
            Bar(
                label=str(KPI_NAMES[i.kpi]),
                share_of_target=i.actual / i.target,
                caption=f"{shown(i.kpi, i.actual)} / {shown(i.kpi, i.target)}",
                met=i.met,
            )
        )
    return found


def charts(report: Report, locale: str) -> tuple[bytes, bytes]:
    """Call with the reader's locale active (the labels are translated here)."""
    name = report.unit.unit.name.label(locale)
    first = targets_chart(
        _("{name}: share of each target reached").format(name=name),
        bars(report.unit),
        _("target"),
    )
    months = [m.month for m in report.months]
    second = trend_chart(
        _("{name}: the last twelve months").format(name=name),
        months,
        [
            (_("Requests received"), [m.needs_received for m in report.months]),
            (_("Requests resolved"), [m.needs_resolved for m in report.months]),
        ],
        (_("Volunteer hours"), [m.volunteer_hours for m in report.months]),
    )
    return first, second


def _indicator_rows(figures: UnitFigures, locale: str) -> list[list[object]]:
    """Percentages as numbers of percent (14.0 with the unit "%"), the rest as they are."""
    rows: list[list[object]] = []
    for i in figures.indicators:
        scale, unit = (100, "%") if i.kpi in PERCENT else (1, "")
        rows.append(
            [
                figures.unit.name.label(locale),
                str(KPI_NAMES[i.kpi]),
                round(i.actual * scale, 2),
                round(i.target * scale, 2),
                unit,
                i.met if i.has_target else None,
                status(i),
            ]
        )
    return rows


def _header() -> list[str]:
    return [
        _("Unit"),
        _("Indicator"),
        _("Actual"),
        _("Target"),
        _("Unit of measure"),
        _("Met"),
        _("Status"),
    ]


MONTH_FIELDS = (
    ("needs_received", __("Requests received")),
    ("needs_resolved", __("Requests resolved")),
    ("needs_overdue", __("Requests overdue")),
    ("median_hours_to_resolve", __("Median hours to resolve")),
    ("satisfaction", __("Satisfaction (1-5)")),
    ("volunteer_hours", __("Volunteer hours")),
    ("active_volunteers", __("Active volunteers")),
    ("projects_running", __("Projects running")),
    ("projects_completed", __("Projects completed")),
    ("raised_fen", __("Raised (yuan)")),
    ("allocated_fen", __("Allocated (yuan)")),
    ("spent_fen", __("Spent (yuan)")),
    ("broadcast_reach", __("Broadcast messages delivered")),
    ("consultation_turnout", __("Consultation turnout")),
)


def _month_row(m: Month) -> list[object]:
    row: list[object] = [m.month]
    for name, _label in MONTH_FIELDS:
        value = getattr(m, name)
        if name.endswith("_fen"):
            value = value / 100
        row.append(round(value, 4) if isinstance(value, float) else value)
    return row


def _yes_no() -> tuple[str, str]:
    return _("Yes"), _("No")


def _csv_cell(value: object) -> object:
    if isinstance(value, bool):
        return _yes_no()[0 if value else 1]
    return "" if value is None else value


def export_workbook(report: Report, locale: str, tz: ZoneInfo | None = None) -> bytes:
    """One sheet per level at and below the unit, and the operations by month."""
    levels: list[tuple[ScopeLevel, list[UnitFigures]]] = [(report.unit.unit.level, [report.unit])]
    if report.unit.unit.level is ScopeLevel.DISTRICT:
        levels.append((ScopeLevel.STREET, list(report.children)))
    if report.unit.unit.level is not ScopeLevel.COMMUNITY:
        levels.append((ScopeLevel.COMMUNITY, list(report.communities)))
    sheets = []
    for level, units in levels:
        rows = [row for figures in units for row in _indicator_rows(figures, locale)]
        sheets.append(
            Sheet(
                str(LEVEL_SHEETS[level]),
                _header(),
                rows,
                {},
                status_column=5,
                yes_no=_yes_no(),
            )
        )
    header = [_("Month"), *(str(label) for _name, label in MONTH_FIELDS)]
    months = [_month_row(m) for m in report.months]
    sheets.append(Sheet(_("By month"), header, months, {}, yes_no=_yes_no()))
    return workbook(sheets, tz)


def export_csv(report: Report, locale: str) -> bytes:
    """The indicators of every level, one row each (UTF-8 with a BOM, for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Level"), *_header()])
    units = [report.unit, *report.children]
    if report.unit.unit.level is ScopeLevel.DISTRICT:
        units += list(report.communities)
    for figures in units:
        for row in _indicator_rows(figures, locale):
            writer.writerow([str(LEVEL_SHEETS[figures.unit.level]), *(_csv_cell(v) for v in row)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
