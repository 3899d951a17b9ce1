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
    SOCIAL_WORK_PROFESSIONALS = "social_work_professionals"
    CERTIFICATE_HOLDERS = "certificate_holders"
    TRAINING_HOURS = "training_hours_per_worker"
    CHARITY_GROWTH = "charity_growth"


@dataclass(frozen=True, slots=True)
class Targets:
    """Defaults from the policy; a district may set its own (KPI_TARGETS, JSON)."""

    volunteer_share: float = 0.22
    social_orgs_urban: int = 12
    social_orgs_rural: int = 6
    workers_per_10k: float = 18.0
    certified_share: float = 0.15
    social_work_coverage: float = 1.0  # by the end of 2023 and after
    social_work_coverage_2022: float = 0.7  # by the end of 2022
    station_coverage: float = 1.0
    charity_orgs_per_community: int = 1
    community_funds: int = 200  # the policy's "不少于 200个", shown at the district level
    demonstration_sites_per_year: int = 2
    # The policy names no local numbers for these (80,000 and 30,000 are city-wide, and it asks
    # for training without hours): 0 shows the count without a target; a district may set one.
    social_work_professionals: int = 0
    certificate_holders: int = 0
    training_hours_per_worker: float = 0.0
    charity_growth: float = 2.0  # 慈善组织总数较“十三五”末翻一番: twice the baseline year's count


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
    all_community_workers: int = 0  # urban and rural (城乡社区工作者持社工证比例)
    certified_workers: int = 0  # of all, holding a verified social-work certificate
    worker_training_minutes: int = 0  # training attended this year by community workers
    social_work_professionals: int = 0  # verified certificate or social-worker grant
    certificate_holders: int = 0  # people with a verified certificate
    with_social_work: int = 0  # communities its room or station served this year
    with_station: int = 0  # communities with a venue marked as a volunteer service station
    charity_orgs: int = 0
    charity_orgs_at_baseline: int = 0  # verified by the end of the district's baseline year
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
    """`t` as it applies to the year reported on (services.kpis picks the coverage target)."""
    return _service_indicators(c, t) + _talent_indicators(c, t) + _growth_indicators(c, t)


def _talent_indicators(c: Counts, t: Targets) -> list[Indicator]:
    """三.(五): the people of social work (counts without local targets unless set)."""
    return [
        Indicator(
            Kpi.SOCIAL_WORK_PROFESSIONALS,
            float(c.social_work_professionals),
            float(t.social_work_professionals),
            c.social_work_professionals,
            1,
        ),
        Indicator(
            Kpi.CERTIFICATE_HOLDERS,
            float(c.certificate_holders),
            float(t.certificate_holders),
            c.certificate_holders,
            1,
        ),
        Indicator(
            Kpi.TRAINING_HOURS,
            _ratio(c.worker_training_minutes / 60, c.all_community_workers),
            t.training_hours_per_worker,
            c.worker_training_minutes / 60,
            c.all_community_workers,
        ),
    ]


def _growth_indicators(c: Counts, t: Targets) -> list[Indicator]:
    return [
        # Against the baseline year's count (the district sets the year; 2020 by default).
        Indicator(
            Kpi.CHARITY_GROWTH,
            float(c.charity_orgs),
            t.charity_growth * c.charity_orgs_at_baseline,
            c.charity_orgs,
            c.charity_orgs_at_baseline,
        ),
    ]


def _service_indicators(c: Counts, t: Targets) -> list[Indicator]:
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
            _ratio(c.certified_workers, c.all_community_workers),
            t.certified_share if c.all_community_workers else 0.0,
            c.certified_workers,
            c.all_community_workers,
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
            float(t.community_funds * c.districts),
            c.community_funds,
            max(1, c.districts),
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


WHOLE = frozenset(
    {
        Kpi.COMMUNITY_FUNDS,
        Kpi.DEMONSTRATION_SITES,
        Kpi.SOCIAL_WORK_PROFESSIONALS,
        Kpi.CERTIFICATE_HOLDERS,
        Kpi.CHARITY_GROWTH,
    }
)


def shown(kpi: Kpi, value: float) -> str:
    """A figure as people read it: percentages with one decimal, counts whole, rates with one."""
    if kpi in PERCENT:
        return f"{value * 100:.1f}%"
    if kpi in WHOLE:
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
