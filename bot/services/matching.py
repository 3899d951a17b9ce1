"""Matching: for a need, the volunteers, resources and running projects that could serve it,
each with its reasons; in reverse, the open needs a volunteer could help with.

Candidates are filtered in SQL (verified volunteers serving the need's street, through the
`volunteer_communities.community_id` index) and their open assignments, service records and
ratings aggregated in SQL. The scores of one street's candidates are computed together as numpy
arrays (`CandidatePool`), so that one need, a thousand needs or all open needs are ranked from
one load — see docs/benchmarks.md. The rules and default weights are in bot/domain/matching.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from bot.domain.errors import Conflict, NotFound, PermissionDenied
from bot.domain.matching import (
    CATEGORY_SKILLS,
    OfferKind,
    Scope,
    Weights,
    category_mask,
    needed_slots,
    reliability,
    skill_names,
    slot_names,
)
from bot.domain.needs import NeedCategory
from bot.domain.principal import Principal
from bot.domain.volunteers import VolunteerStatus
from bot.services.needs import TRIAGE_ROLES
from bot.services.places import place_of
from bot.services.ports import Notice, Notifier
from bot.services.views import Page
from storage.types import utcnow
from storage.uow import UnitOfWork

TOP = 5
PER_PAGE = 5


@dataclass(frozen=True, slots=True)
class Reason:
    """A machine name and its value; handlers put it into words in the reader's language."""

    code: str  # same_grid | same_community | same_street | skill | no_skill | free |
    #            free_unknown | load | services | failed | rating | available | answers | places
    value: str = ""


@dataclass(frozen=True, slots=True)
class Suggestion:
    kind: str  # volunteer | resource | project
    id: int  # the person, the resource or the project
    label: str
    score: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class NeedForMatch:
    id: int
    reference: str
    community_id: int
    street_id: int
    category: NeedCategory
    due_at: datetime
    grid_id: int | None


@dataclass(frozen=True, slots=True)
class Suggestions:
    need: NeedForMatch
    volunteers: tuple[Suggestion, ...]
    resources: tuple[Suggestion, ...]
    projects: tuple[Suggestion, ...]


class _Street:
    """One street's candidates as parallel arrays (one entry per volunteer)."""

    def __init__(self, weights: Weights) -> None:
        self.weights = weights
        self.community_bit: dict[int, int] = {}
        self.people: list[int] = []
        self.names: list[str] = []
        self.columns: dict[str, list[int]] = defaultdict(list)
        self.base: list[float] = []
        self.loads: list[int] = []
        self.records: list[tuple[int, int]] = []
        self.rating: list[float | None] = []
        self._index: dict[int, int] = {}

    def add(self, row: Any, load: int, record: tuple[int, int], rating: float | None) -> None:
        person, name, grid, skills, availability, community, _street = row
        bit = self.community_bit.setdefault(community, len(self.community_bit))
        at = self._index.get(person)
        if at is not None:  # the same volunteer serving a second community of the street
            self.columns["served"][at] |= 1 << bit
            return
        self._index[person] = len(self.people)
        self.people.append(person)
        self.names.append(name)
        self.columns["grid"].append(grid if grid is not None else -1)
        self.columns["skills"].append(skills)
        self.columns["availability"].append(availability)
        self.columns["served"].append(1 << bit)
        w = self.weights
        self.base.append(reliability(*record, rating, w) + load * w.per_open_assignment)
        self.loads.append(load)
        self.records.append(record)
        self.rating.append(rating)

    def freeze(self) -> None:
        self.arrays = {k: np.array(v, dtype=np.int64) for k, v in self.columns.items()}
        self.arrays["person"] = np.array(self.people, dtype=np.int64)
        self.base_array = np.array(self.base, dtype=np.float64)
        self.overloaded = np.array(self.loads, dtype=np.int64) >= self.weights.max_load

    def rank(self, need: NeedForMatch, slots: int, k: int) -> list[Suggestion]:
        if not self.people:
            return []
        w, a = self.weights, self.arrays
        bit = self.community_bit.get(need.community_id)
        serves = (a["served"] >> bit) & 1 if bit is not None else np.zeros_like(a["served"])
        serves = serves.astype(bool)
        known = a["availability"] != 0
        free = (a["availability"] & slots) != 0
        eligible = ~self.overloaded & (~known | free)
        if w.scope is Scope.COMMUNITY:
            eligible &= serves
        wanted = category_mask(need.category)
        skilled = (a["skills"] & wanted) != 0
        grid = need.grid_id if need.grid_id is not None else -2
        score = (
            self.base_array
            + np.where(serves, w.same_community, w.same_street)
            + skilled * w.skill
            + free * w.free
            + (a["grid"] == grid) * w.same_grid
        )
        chosen = np.flatnonzero(eligible)
        if chosen.size == 0:
            return []
        if chosen.size > k:
            chosen = chosen[np.argpartition(-score[chosen], k - 1)[:k]]
        # Highest score first; ties by person id so that the order is stable.
        order = chosen[np.lexsort((a["person"][chosen], -score[chosen]))]
        return [
            self._suggestion(
                int(i), need, slots, bool(serves[i]), bool(skilled[i]), float(score[i])
            )
            for i in order
        ]

    def _suggestion(
        self, i: int, need: NeedForMatch, slots: int, serves: bool, skilled: bool, score: float
    ) -> Suggestion:
        a = self.arrays
        reasons = []
        if need.grid_id is not None and int(a["grid"][i]) == need.grid_id:
            reasons.append(Reason("same_grid"))
        reasons.append(Reason("same_community" if serves else "same_street"))
        wanted = {s.value for s in CATEGORY_SKILLS[need.category]}
        have = [s.value for s in skill_names(int(a["skills"][i])) if s.value in wanted]
        reasons.append(Reason("skill", have[0]) if skilled and have else Reason("no_skill"))
        availability = int(a["availability"][i])
        common = slot_names(availability & slots)
        reasons.append(Reason("free", common[0]) if common else Reason("free_unknown"))
        reasons.append(Reason("load", str(self.loads[i])))
        confirmed, failed = self.records[i]
        if confirmed:
            reasons.append(Reason("services", str(confirmed)))
        if failed:
            reasons.append(Reason("failed", str(failed)))
        if self.rating[i] is not None:
            reasons.append(Reason("rating", f"{self.rating[i]:.1f}"))
        return Suggestion(
            "volunteer", self.people[i], self.names[i], round(score, 2), tuple(reasons)
        )


class CandidatePool:
    """The candidates of some streets, loaded once; ranks any number of their needs."""

    def __init__(self, weights: Weights, tz: ZoneInfo) -> None:
        self.weights = weights
        self.tz = tz
        self.streets: dict[int, _Street] = {}

    @classmethod
    async def load(
        cls, uow: UnitOfWork, street_ids: Sequence[int], weights: Weights, tz: ZoneInfo
    ) -> CandidatePool:
        """Call inside an entered unit of work."""
        pool = cls(weights, tz)
        streets = sorted(set(street_ids))
        rows = await uow.matching.candidates(streets)
        loads = await uow.matching.loads(streets)
        records = await uow.matching.records(streets)
        ratings = await uow.matching.ratings(streets)
        for street_id in streets:
            pool.streets[street_id] = _Street(weights)
        for row in rows:
            person = row[0]
            pool.streets[row[6]].add(
                row, loads.get(person, 0), records.get(person, (0, 0)), ratings.get(person)
            )
        for street in pool.streets.values():
            street.freeze()
        return pool

    def rank(self, need: NeedForMatch, now: datetime, k: int = TOP) -> list[Suggestion]:
        street = self.streets.get(need.street_id)
        if street is None:
            return []
        return street.rank(need, needed_slots(now, need.due_at, self.tz), k)


def _need(row: Any) -> NeedForMatch:
    return NeedForMatch(*row)


async def _need_in_scope(uow: UnitOfWork, principal: Principal, need_id: int) -> NeedForMatch:
    rows = await uow.matching.needs([need_id], open_only=False)
    if not rows:
        raise NotFound("need", need_id)
    need = _need(rows[0])
    community = await uow.places.community(need.community_id)
    assert community is not None
    if not principal.can_act_in(place_of(community), *TRIAGE_ROLES):
        raise PermissionDenied()
    return need


async def suggest(
    uow: UnitOfWork,
    principal: Principal,
    *,
    need_id: int,
    weights: Weights,
    tz: ZoneInfo,
    now: datetime | None = None,
    k: int = TOP,
) -> Suggestions:
    """What a worker sees for one need: volunteers, resources and projects, with reasons."""
    now = now or utcnow()
    async with uow:
        need = await _need_in_scope(uow, principal, need_id)
        pool = await CandidatePool.load(uow, [need.street_id], weights, tz)
        volunteers = pool.rank(need, now, k)
        resources = _rank_resources(
            await uow.matching.resources(need.street_id, now.astimezone(tz).date()),
            need,
            weights,
            k,
        )
        projects = _rank_projects(await uow.matching.projects(need.street_id), need, weights, k)
        return Suggestions(need, tuple(volunteers), resources, projects)


async def rank_needs(
    uow: UnitOfWork,
    *,
    need_ids: Sequence[int] | None,
    weights: Weights,
    tz: ZoneInfo,
    now: datetime | None = None,
    k: int = TOP,
) -> dict[int, list[Suggestion]]:
    """Top volunteers for many open needs (or all, with `need_ids=None`) from one load."""
    now = now or utcnow()
    async with uow:
        needs = [_need(row) for row in await uow.matching.needs(need_ids)]
        pool = await CandidatePool.load(uow, [n.street_id for n in needs], weights, tz)
        return {n.id: pool.rank(n, now, k) for n in needs}


def _rank_resources(
    rows: Sequence[Any], need: NeedForMatch, w: Weights, k: int
) -> tuple[Suggestion, ...]:
    scored = []
    for resource_id, title, _kind, unit, community, available in rows:
        here = community == need.community_id
        reasons = (
            Reason("same_community" if here else "same_street"),
            Reason("available", f"{available} {unit}"),
        )
        score = w.same_community if here else w.same_street
        scored.append(Suggestion("resource", resource_id, f"{title}", score, reasons))
    scored.sort(key=lambda s: (-s.score, s.id))
    return tuple(scored[:k])


def _rank_projects(
    rows: Sequence[Any], need: NeedForMatch, w: Weights, k: int
) -> tuple[Suggestion, ...]:
    best: dict[int, Suggestion] = {}
    for project_id, title, categories, community, free in rows:
        here = community == need.community_id
        answers = need.category.value in (categories or [])
        reasons = [Reason("same_community" if here else "same_street")]
        score = w.same_community if here else w.same_street
        if answers:
            reasons.append(Reason("answers", need.category.value))
            score += w.skill
        if free:
            reasons.append(Reason("places", str(int(free))))
            score += w.free
        if not answers and not free:
            continue
        found = Suggestion("project", project_id, title, score, tuple(reasons))
        if project_id not in best or best[project_id].score < score:
            best[project_id] = found
    return tuple(sorted(best.values(), key=lambda s: (-s.score, s.id))[:k])


# ---------------------------------------------------------------- volunteers: needs near me


@dataclass(frozen=True, slots=True)
class OpenNeed:
    id: int
    reference: str
    category: NeedCategory
    description: str
    fits: bool  # one of the volunteer's skills serves it
    offered: bool  # this volunteer already offered to help


async def needs_near_me(uow: UnitOfWork, principal: Principal, *, page: int = 0) -> Page[OpenNeed]:
    """Unassigned needs in the communities a verified volunteer serves, urgent first."""
    async with uow:
        volunteer = await uow.volunteers.of_person(principal.person_id)
        if volunteer is None or volunteer.status is not VolunteerStatus.VERIFIED:
            raise Conflict("not_a_verified_volunteer")
        communities = await uow.volunteers.communities_of(volunteer.id)
        rows, total = await uow.matching.open_needs_in(communities, page * PER_PAGE, PER_PAGE)
        items = []
        for need_id, reference, category, _urgency, description, _community in rows:
            fits = bool(volunteer.skills_mask & category_mask(category))
            offered = await uow.matching.offer(need_id, principal.person_id) is not None
            items.append(OpenNeed(need_id, reference, category, description[:200], fits, offered))
        return Page(tuple(items), max(0, page), PER_PAGE, total)


async def offer_help(
    uow: UnitOfWork, notifier: Notifier, principal: Principal, *, need_id: int
) -> str:
    """A volunteer offers to help; the community's workers are asked to assign them."""
    async with uow:
        volunteer = await uow.volunteers.of_person(principal.person_id)
        if volunteer is None or volunteer.status is not VolunteerStatus.VERIFIED:
            raise Conflict("not_a_verified_volunteer")
        need = await uow.needs.get(need_id, lock=True)
        if need is None or need.community_id not in await uow.volunteers.communities_of(
            volunteer.id
        ):
            raise NotFound("need", need_id)
        if need.assignee_person_id is not None or need.assignee_organisation_id is not None:
            raise Conflict("offer_taken")
        if await uow.matching.offer(need.id, principal.person_id) is not None:
            raise Conflict("already_offered")
        uow.matching.add_offer(need.id, principal.person_id, OfferKind.VOLUNTEER)
        uow.audit.record(
            actor_id=principal.person_id,
            action="need.help_offered",
            entity="need",
            entity_id=need.id,
        )
        community = await uow.places.community(need.community_id)
        assert community is not None
        workers = await uow.grants.people_covering(place_of(community), TRIAGE_ROLES[:1])
        reference = need.reference
        params: dict[str, str | int] = {"reference": reference, "name": volunteer.real_name}
        await uow.commit()
    await notifier.send(
        [Notice(p, "need.help_offered", params, (("open", need_id),)) for p in workers]
    )
    return reference


async def auto_offer(
    uow: UnitOfWork,
    notifier: Notifier,
    *,
    need_id: int,
    categories: frozenset[NeedCategory],
    weights: Weights,
    tz: ZoneInfo,
    now: datetime | None = None,
    k: int = 3,
) -> int:
    """Offer a new low-risk need to the best-matched volunteers; the first to accept takes it
    (`needs.take_offer`). Returns how many were asked."""
    now = now or utcnow()
    async with uow:
        rows = await uow.matching.needs([need_id])
        if not rows:
            return 0
        need = _need(rows[0])
        if need.category not in categories:
            return 0
        pool = await CandidatePool.load(uow, [need.street_id], weights, tz)
        chosen = pool.rank(need, now, k)
        for suggestion in chosen:
            uow.matching.add_offer(need.id, suggestion.id, OfferKind.AUTO)
        if chosen:
            uow.audit.record(
                actor_id=None,
                action="need.auto_offered",
                entity="need",
                entity_id=need.id,
                details={"to": [s.id for s in chosen]},
            )
        need_row = await uow.needs.get(need.id)
        assert need_row is not None
        params: dict[str, str | int] = {
            "reference": need.reference,
            "description": need_row.description[:300],
        }
        await uow.commit()
    await notifier.send(
        [Notice(s.id, "need.offered", params, (("take_offer", need.id),)) for s in chosen]
    )
    return len(chosen)
