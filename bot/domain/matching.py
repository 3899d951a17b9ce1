"""Matching needs with volunteers: the rules and the weights, pure.

A volunteer's score for a need is a sum of named parts, and every part that applies is also a
reason a worker can read ("same grid", "has skill: elderly care", "free Tue am",
"3 open assignments"). Defaults below; `Weights` can be overridden by settings.

Who is never suggested: volunteers not verified, volunteers outside the scope (by default the
need's street: they must serve the need's community or another community of its street), those
whose stated free times miss the whole time the need is open for, and those already carrying
`max_load` open assignments. Volunteers who gave no free times are kept, without the "free" bonus.

Skills and free times are bit masks (skills in `Skill` order, 21 weekly slots in `SLOTS` order),
so that the service can score many candidates at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from bot.domain.errors import InvalidInput
from bot.domain.needs import NeedCategory
from bot.domain.volunteers import SLOTS, Skill, slot_of

# Which skills serve which kind of need. "other" asks for no particular skill.
CATEGORY_SKILLS: dict[NeedCategory, frozenset[Skill]] = {
    NeedCategory.HOME_REPAIR: frozenset({Skill.REPAIRS}),
    NeedCategory.HOUSEKEEPING: frozenset({Skill.HOUSEKEEPING, Skill.COOKING}),
    NeedCategory.ELDERLY_CARE: frozenset({Skill.ELDERLY_CARE, Skill.HEALTH, Skill.COOKING}),
    NeedCategory.CHILD_CARE: frozenset({Skill.CHILD_CARE, Skill.TEACHING}),
    NeedCategory.DISABILITY: frozenset({Skill.DISABILITY_SUPPORT, Skill.HEALTH}),
    NeedCategory.SOCIAL_ASSISTANCE: frozenset({Skill.LEGAL, Skill.DIGITAL}),
    NeedCategory.PSYCHOLOGICAL: frozenset({Skill.PSYCHOLOGICAL}),
    NeedCategory.COMMUNITY_AFFAIRS: frozenset({Skill.REPAIRS, Skill.DIGITAL, Skill.CULTURE}),
    NeedCategory.OTHER: frozenset(),
}
SKILL_ORDER = tuple(Skill)
MAX_LOOKAHEAD = timedelta(days=7)


class OfferKind(StrEnum):
    AUTO = "auto"  # the bot offered the need to the best-matched volunteers
    VOLUNTEER = "volunteer"  # a volunteer offered to help; a worker decides


class OfferStatus(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"  # the need went to this volunteer
    LOST = "lost"  # someone else took it, or it moved on


class Scope(StrEnum):
    COMMUNITY = "community"  # only volunteers serving the need's community
    STREET = "street"  # also those serving another community of its street


@dataclass(frozen=True, slots=True)
class Weights:
    same_grid: float = 30.0
    same_community: float = 20.0
    same_street: float = 8.0
    skill: float = 40.0
    free: float = 10.0
    busy_then: float = -25.0  # said they are busy at the need's times: shown, but far lower
    per_open_assignment: float = -6.0
    per_confirmed_service: float = 1.0
    max_reliability: float = 10.0
    per_failed_service: float = -5.0
    per_rating_star: float = 4.0  # per star of the mean rating above 3 (below 3: negative)
    max_load: int = 5  # open assignments at which a volunteer is no longer suggested
    scope: Scope = Scope.STREET

    @classmethod
    def with_overrides(cls, overrides: dict[str, object]) -> Weights:
        """Defaults with some values replaced; unknown names are refused, naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise InvalidInput("match_weights", ", ".join(unknown))
        values: dict[str, object] = {}
        for name, value in overrides.items():
            if name == "scope":
                values[name] = Scope(str(value))
            elif name == "max_load":
                values[name] = int(str(value))
            else:
                values[name] = float(str(value))
        return replace(cls(), **values)  # type: ignore[arg-type]


def skill_mask(skills: Iterable[str]) -> int:
    # Once, before the loop: a generator would be used up by the first skill.
    wanted = set(skills)
    return sum(1 << index for index, skill in enumerate(SKILL_ORDER) if skill.value in wanted)


def slot_mask(slots: Iterable[str]) -> int:
    wanted = set(slots)
    return sum(1 << index for index, slot in enumerate(SLOTS) if slot in wanted)


@cache
def category_mask(category: NeedCategory) -> int:
    return skill_mask(s.value for s in CATEGORY_SKILLS[category])


def needed_slots(start: datetime, due: datetime, tz: ZoneInfo) -> int:
    """The weekly slots between now and the need's deadline (at most a week ahead; an overdue
    need looks at the next day)."""
    end = min(due, start + MAX_LOOKAHEAD) if due > start else start + timedelta(days=1)
    hours = max(1, math.ceil((end - start).total_seconds() / 3600))
    local = start.astimezone(tz)
    return _slots_from(local.weekday(), local.hour, hours)


@lru_cache(maxsize=4096)
def _slots_from(weekday: int, hour: int, hours: int) -> int:
    """Walk the hours as (weekday, hour) pairs; cached, since a batch shares its start."""
    mask = 0
    for _ in range(min(hours, 7 * 24)):
        mask |= 1 << SLOTS.index(slot_of(weekday, hour))
        hour += 1
        if hour == 24:
            hour, weekday = 0, (weekday + 1) % 7
    return mask


def reliability(confirmed: int, failed: int, mean_rating: float | None, w: Weights) -> float:
    """The part of a score that comes from the volunteer's record, not from this need."""
    score = min(w.max_reliability, confirmed * w.per_confirmed_service)
    score += failed * w.per_failed_service
    if mean_rating is not None:
        score += (mean_rating - 3.0) * w.per_rating_star
    return score
