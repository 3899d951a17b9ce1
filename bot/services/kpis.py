"""How far a community, a street or a district is from the policy's targets, and its work by
month. Counts come from the store per community (storage/kpis.py) and are added up for a street
or a district before any ratio is taken. Results are kept for `cache_seconds` per unit; every
report says when it was computed."""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.enums import CommunityKind, Role, ScopeLevel
from bot.domain.errors import NotFound, PermissionDenied
from bot.domain.kpis import Counts, Month, Targets, indicators, roll_up
from bot.domain.policy import KPI_VIEW_ROLES
from bot.domain.principal import Principal
from bot.domain.social_work import coverage_target
from bot.services import kpi_cache
from bot.services.places import name_in
from bot.services.views import Named, Report, Unit, UnitFigures
from storage.types import utcnow
from storage.uow import UnitOfWork

MONTHS = 12


@dataclass(frozen=True, slots=True)
class _Place:
    community: int
    street: int
    district: int
    kind: CommunityKind
    population: int
    demonstration_year: int | None
    name: str
    name_en: str | None


_cache = kpi_cache.reports


def forget() -> None:
    kpi_cache.forget()


async def units(
    uow: UnitOfWork, principal: Principal, roles: tuple[Role, ...] = KPI_VIEW_ROLES
) -> list[Unit]:
    """The widest units this person may see: their districts, streets or communities."""
    async with uow:
        found: list[tuple[ScopeLevel, int]] = []
        if principal.is_superadmin:
            districts = sorted({p[2] for p in await uow.kpis.communities()})
            found = [(ScopeLevel.DISTRICT, d) for d in districts]
        for grant in principal.grants:
            if grant.role in roles and (grant.level, grant.scope_id) not in found:
                found.append((grant.level, grant.scope_id))
        return [Unit(level, i, await name_in(uow, level, i)) for level, i in found]


def _covers(
    principal: Principal, level: ScopeLevel, scope_id: int, place: _Place, roles: tuple[Role, ...]
) -> bool:
    """May this person see the unit? Their grant must reach all of it (a community worker
    sees their community, never their street)."""
    if principal.is_superadmin:
        return True
    order = {ScopeLevel.COMMUNITY: 0, ScopeLevel.STREET: 1, ScopeLevel.DISTRICT: 2}
    for grant in principal.grants:
        if grant.role not in roles or order[grant.level] < order[level]:
            continue
        unit_of = {
            ScopeLevel.COMMUNITY: place.community,
            ScopeLevel.STREET: place.street,
            ScopeLevel.DISTRICT: place.district,
        }
        if unit_of[grant.level] == grant.scope_id:
            return True
    return False


async def report(
    uow: UnitOfWork,
    principal: Principal,
    *,
    level: ScopeLevel,
    scope_id: int,
    targets: Targets,
    tz: ZoneInfo,
    roles: tuple[Role, ...] = KPI_VIEW_ROLES,
    now: datetime | None = None,
    cache_seconds: float = 0.0,
) -> Report:
    now = now or utcnow()
    async with uow:
        places = [_Place(*row) for row in await uow.kpis.communities()]
        inside = [p for p in places if _in(p, level, scope_id)]
        if not inside:
            raise NotFound(level.value, scope_id)
        if not _covers(principal, level, scope_id, inside[0], roles):
            raise PermissionDenied()
        year = now.astimezone(tz).year
        key = (level, scope_id, year)
        cached = _cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < cache_seconds:
            return cached[1]
        found = await _compute(uow, level, scope_id, inside, targets, tz, now, year)
        _cache[key] = (time.monotonic(), found)
        return found


def _in(place: _Place, level: ScopeLevel, scope_id: int) -> bool:
    return {
        ScopeLevel.COMMUNITY: place.community,
        ScopeLevel.STREET: place.street,
        ScopeLevel.DISTRICT: place.district,
    }[level] == scope_id


async def _compute(
    uow: UnitOfWork,
    level: ScopeLevel,
    scope_id: int,
    inside: list[_Place],
    targets: Targets,
    tz: ZoneInfo,
    now: datetime,
    year: int,
) -> Report:
    year_start = datetime(year, 1, 1, tzinfo=tz)
    per_community = await uow.kpis.counts(now, year_start)
    counts = {p.community: _counts(p, per_community, year) for p in inside}
    name = await name_in(uow, level, scope_id)
    targets = _for_year(targets, year)
    unit = _figures(Unit(level, scope_id, name), roll_up(counts.values()), targets)
    children = await _children(uow, level, inside, counts, targets)
    months = await _months(uow, [p.community for p in inside], tz, now)
    each = tuple(
        _figures(
            Unit(ScopeLevel.COMMUNITY, p.community, Named(p.community, p.name, p.name_en)),
            counts[p.community],
            targets,
        )
        for p in inside
    )
    return Report(unit, children, each, months, year, now)


async def _children(
    uow: UnitOfWork,
    level: ScopeLevel,
    inside: list[_Place],
    counts: dict[int, Counts],
    targets: Targets,
) -> tuple[UnitFigures, ...]:
    """The figures of the streets of a district, or of the communities of a street."""
    if level is ScopeLevel.COMMUNITY:
        return ()
    child_level = ScopeLevel.STREET if level is ScopeLevel.DISTRICT else ScopeLevel.COMMUNITY
    groups: dict[int, list[Counts]] = defaultdict(list)
    for p in inside:
        child = p.street if child_level is ScopeLevel.STREET else p.community
        groups[child].append(counts[p.community])
    children: list[UnitFigures] = []
    for child_id in sorted(groups):
        child_name = await name_in(uow, child_level, child_id)
        child_unit = Unit(child_level, child_id, child_name)
        children.append(_figures(child_unit, roll_up(groups[child_id]), targets))
    return tuple(children)


def _counts(p: _Place, per: dict[str, dict[int, int]], year: int) -> Counts:
    def n(name: str) -> int:
        return per[name].get(p.community, 0)

    urban = p.kind is CommunityKind.URBAN
    return Counts(
        communities=1,
        urban_communities=int(urban),
        rural_communities=int(not urban),
        population=p.population,
        urban_population=p.population if urban else 0,
        verified_volunteers=n("verified_volunteers"),
        social_orgs=n("social_orgs"),
        community_workers=n("community_workers") if urban else 0,
        all_community_workers=n("community_workers"),
        certified_workers=n("certified_workers"),
        worker_training_minutes=n("worker_training_minutes"),
        social_work_professionals=n("social_work_professionals"),
        certificate_holders=n("certificate_holders"),
        with_social_work=int(n("with_social_work") > 0),
        with_station=int(n("with_station") > 0),
        charity_orgs=n("charity_orgs"),
        charity_orgs_at_baseline=n("charity_orgs_at_baseline"),
        communities_with_charity=int(n("charity_orgs") > 0),
        community_funds=n("community_funds"),
        demonstration_sites=int(p.demonstration_year == year),
    )


def _for_year(targets: Targets, year: int) -> Targets:
    """The coverage target of the year reported on: 70% up to 2022, then 100%."""
    coverage = coverage_target(
        year, targets.social_work_coverage_2022, targets.social_work_coverage
    )
    return dataclasses.replace(targets, social_work_coverage=coverage)


def _figures(unit: Unit, counts: Counts, targets: Targets) -> UnitFigures:
    if unit.level is ScopeLevel.DISTRICT:
        counts = Counts(**{**_fields(counts), "districts": 1})
    return UnitFigures(unit, counts, tuple(indicators(counts, targets)))


def _fields(counts: Counts) -> dict[str, int]:
    return {name: getattr(counts, name) for name in counts.__dataclass_fields__}


def _month_labels(now: datetime, tz: ZoneInfo) -> list[str]:
    local = now.astimezone(tz).date().replace(day=1)
    labels = []
    for _ in range(MONTHS):
        labels.append(local.strftime("%Y-%m"))
        local = (local - timedelta(days=1)).replace(day=1)
    return labels[::-1]


async def _months(
    uow: UnitOfWork, communities: list[int], tz: ZoneInfo, now: datetime
) -> tuple[Month, ...]:
    labels = _month_labels(now, tz)
    first = date.fromisoformat(labels[0] + "-01")
    since = datetime.combine(first, datetime.min.time(), tz)
    offset = int((now.astimezone(tz).utcoffset() or timedelta()).total_seconds() // 3600)
    raw = await uow.kpis.operations(communities, since, tz.key, offset)
    months = []
    for label in labels:
        m = raw.get(label, {})
        hours = m.get("resolve_hours") or []
        satisfaction = m.get("satisfaction")
        months.append(
            Month(
                month=label,
                needs_received=int(m.get("needs_received") or 0),
                needs_resolved=int(m.get("needs_resolved") or 0),
                needs_overdue=int(m.get("needs_overdue") or 0),
                median_hours_to_resolve=statistics.median(hours) if hours else None,
                satisfaction=float(satisfaction) if satisfaction is not None else None,
                volunteer_hours=float(m.get("volunteer_hours") or 0.0),
                active_volunteers=int(m.get("active_volunteers") or 0),
                projects_running=int(m.get("projects_running") or 0),
                projects_completed=int(m.get("projects_completed") or 0),
                raised_fen=int(m.get("raised_fen") or 0),
                allocated_fen=int(m.get("allocated_fen") or 0),
                spent_fen=int(m.get("spent_fen") or 0),
                broadcast_reach=int(m.get("broadcast_reach") or 0),
                consultation_turnout=m.get("consultation_turnout"),
            )
        )
    return tuple(months)
