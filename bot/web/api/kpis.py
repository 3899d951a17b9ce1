"""The indicators (KPIs) of an area with the policy's targets for city apps: the report /stats
shows in chat (`kpis.report`, the same cache), read by the app within its area."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from bot.domain.enums import ScopeLevel
from bot.domain.kpis import Kpi
from bot.services import kpis
from bot.services.views import UnitFigures
from bot.web.api import common


class IndicatorOut(BaseModel):
    kpi: Kpi
    actual: float
    target: float = Field(description="The policy's (or the district's own) target; 0: none.")
    numerator: float
    denominator: float
    met: bool


class UnitOut(BaseModel):
    level: ScopeLevel
    id: int
    name: str
    name_en: str | None
    indicators: list[IndicatorOut]


class MonthOut(BaseModel):
    month: str
    needs_received: int
    needs_resolved: int
    needs_overdue: int
    volunteer_hours: float
    active_volunteers: int


class KpiReportOut(BaseModel):
    unit: UnitOut
    children: list[UnitOut] = Field(description="Streets of a district, communities of a street.")
    this_month: MonthOut
    year: int
    computed_at: datetime


def unit_out(figures: UnitFigures) -> UnitOut:
    unit = figures.unit
    return UnitOut(
        level=unit.level,
        id=unit.id,
        name=unit.name.name,
        name_en=unit.name.name_en,
        indicators=[
            IndicatorOut(
                kpi=i.kpi,
                actual=i.actual,
                target=i.target,
                numerator=i.numerator,
                denominator=i.denominator,
                met=i.met,
            )
            for i in figures.indicators
        ],
    )


async def kpi_report(request: web.Request) -> web.Response:
    config, client, principal = common.area(request, "kpis:read")
    common.only(request, "level", "id")
    level = common.enum_query(request, "level", ScopeLevel) or client.area_level
    scope_id = common.id_query(request, "id") or client.area_id
    report = await kpis.report(
        config.uow(),
        principal,
        level=level,
        scope_id=scope_id,
        targets=config.targets,
        tz=config.tz,
        cache_seconds=config.kpi_cache_seconds,
    )
    month = report.months[-1]
    out = KpiReportOut(
        unit=unit_out(report.unit),
        children=[unit_out(child) for child in report.children],
        this_month=MonthOut(
            month=month.month,
            needs_received=month.needs_received,
            needs_resolved=month.needs_resolved,
            needs_overdue=month.needs_overdue,
            volunteer_hours=month.volunteer_hours,
            active_volunteers=month.active_volunteers,
        ),
        year=report.year,
        computed_at=report.computed_at.astimezone(config.tz),
    )
    return common.ok(out)


ROUTES = [("GET", "/kpis", kpi_report)]
MODELS = [KpiReportOut]
PATHS: dict[str, Any] = {
    "/kpis": {
        "get": common.operation(
            "kpis",
            "The indicators of the app's area (or of a street or community inside it) with "
            "their targets: the figures /stats shows in chat",
            "kpis:read",
            [
                common.enum_parameter("level", ScopeLevel, "With id: a unit inside the area."),
                common.id_parameter("id"),
            ],
            common.answer(KpiReportOut, "The report"),
        )
    },
}
