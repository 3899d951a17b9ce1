"""The policy's own indicators (DOMAIN.md, targets for 2025), computed from counts.

Every indicator is a numerator over a denominator (or a count against a target that is itself a
sum), so a street or a district is rolled up by adding its communities' counts and dividing
again — never by averaging the communities' ratios."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from enum import StrEnum


class Kpi(StrEnum):
    VOLUNTEER_SHARE = "volunteer_share"
    SOCIAL_ORGS = "social_orgs"
    WORKERS_PER_10K = "workers_per_10k"
    CERTIFIED_SHARE = "certified_share"
    SOCIAL_WORK_COVERAGE = "social_work_coverage"
    STATION_COVERAGE = "station_coverage"
    CHARITY_ORGS = "charity_orgs"
    COMMUNITY_FUNDS = "community_funds"
    DEMONSTRATION_SITES = "demonstration_sites"


@dataclass(frozen=True, slots=True)
class Targets:
    """Defaults from the policy; a district may set its own (KPI_TARGETS, JSON)."""

    volunteer_share: float = 0.22
    social_orgs_urban: int = 12
    social_orgs_rural: int = 6
    workers_per_10k: float = 18.0
    certified_share: float = 0.15
    social_work_coverage: float = 1.0
    station_coverage: float = 1.0
    charity_orgs_per_community: int = 1
    community_funds: int = 0  # no per-district target in the policy (≥ 200 city-wide)
    demonstration_sites_per_year: int = 2


@dataclass(frozen=True, slots=True)
class Counts:
    """What is counted in one unit (a community, or the sum over a street or district)."""

    communities: int = 0
    urban_communities: int = 0
    rural_communities: int = 0
    population: int = 0
    urban_population: int = 0
    verified_volunteers: int = 0
    social_orgs: int = 0
    community_workers: int = 0  # in urban communities (the policy's ratio is urban)
    certified_workers: int = 0
    with_social_work: int = 0  # communities with a social worker active in the last 90 days
    with_station: int = 0  # communities with a venue marked as a volunteer service station
    charity_orgs: int = 0
    communities_with_charity: int = 0
    community_funds: int = 0
    demonstration_sites: int = 0  # marked in the year asked for
    districts: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


def roll_up(parts: Iterable[Counts]) -> Counts:
    total = Counts()
    for part in parts:
        total = total + part
    return total


@dataclass(frozen=True, slots=True)
class Indicator:
    kpi: Kpi
    actual: float
    target: float
    numerator: float
    denominator: float
    higher_is_better: bool = True

    @property
    def has_target(self) -> bool:
        return self.target > 0

    @property
    def met(self) -> bool:
        return self.actual >= self.target - 1e-9

    @property
    def gap(self) -> float:
        """How far behind the target (0 when met), in the indicator's own unit."""
        return max(0.0, self.target - self.actual)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def indicators(c: Counts, t: Targets) -> list[Indicator]:
    social_orgs_target = t.social_orgs_urban * c.urban_communities
    social_orgs_target += t.social_orgs_rural * c.rural_communities
    return [
        Indicator(
            Kpi.VOLUNTEER_SHARE,
            _ratio(c.verified_volunteers, c.population),
            t.volunteer_share,
            c.verified_volunteers,
            c.population,
        ),
        # Organisations per community against the weighted target of its urban and rural ones.
        Indicator(
            Kpi.SOCIAL_ORGS,
            _ratio(c.social_orgs, c.communities),
            _ratio(social_orgs_target, c.communities),
            c.social_orgs,
            c.communities,
        ),
        Indicator(
            Kpi.WORKERS_PER_10K,
            _ratio(c.community_workers * 10_000, c.urban_population),
            t.workers_per_10k if c.urban_population else 0.0,
            c.community_workers,
            c.urban_population,
        ),
        Indicator(
            Kpi.CERTIFIED_SHARE,
            _ratio(c.certified_workers, c.community_workers),
            t.certified_share,
            c.certified_workers,
            c.community_workers,
        ),
        Indicator(
            Kpi.SOCIAL_WORK_COVERAGE,
            _ratio(c.with_social_work, c.communities),
            t.social_work_coverage,
            c.with_social_work,
            c.communities,
        ),
        Indicator(
            Kpi.STATION_COVERAGE,
            _ratio(c.with_station, c.communities),
            t.station_coverage,
            c.with_station,
            c.communities,
        ),
        # At least one per community: the share of communities that have one.
        Indicator(
            Kpi.CHARITY_ORGS,
            _ratio(c.communities_with_charity, c.communities),
            1.0 if t.charity_orgs_per_community else 0.0,
            c.communities_with_charity,
            c.communities,
        ),
        Indicator(
            Kpi.COMMUNITY_FUNDS,
            float(c.community_funds),
            float(t.community_funds),
            c.community_funds,
            1,
        ),
        # The target is per district: a street or a community shows its count only.
        Indicator(
            Kpi.DEMONSTRATION_SITES,
            float(c.demonstration_sites),
            float(t.demonstration_sites_per_year * c.districts),
            c.demonstration_sites,
            max(1, c.districts),
        ),
    ]


PERCENT = frozenset(
    {
        Kpi.VOLUNTEER_SHARE,
        Kpi.CERTIFIED_SHARE,
        Kpi.SOCIAL_WORK_COVERAGE,
        Kpi.STATION_COVERAGE,
        Kpi.CHARITY_ORGS,
    }
)


def shown(kpi: Kpi, value: float) -> str:
    """A figure as people read it: percentages with one decimal, counts whole, rates with one."""
    if kpi in PERCENT:
        return f"{value * 100:.1f}%"
    if kpi in (Kpi.COMMUNITY_FUNDS, Kpi.DEMONSTRATION_SITES):
        return f"{value:.0f}"
    return f"{value:.1f}"


@dataclass(frozen=True, slots=True)
class Month:
    """Operations of one month in one scope."""

    month: str  # YYYY-MM
    needs_received: int = 0
    needs_resolved: int = 0
    needs_overdue: int = 0
    median_hours_to_resolve: float | None = None
    satisfaction: float | None = None  # mean rating 1-5
    volunteer_hours: float = 0.0
    active_volunteers: int = 0
    projects_running: int = 0
    projects_completed: int = 0
    raised_fen: int = 0
    allocated_fen: int = 0
    spent_fen: int = 0
    broadcast_reach: int = 0
    consultation_turnout: float | None = None
