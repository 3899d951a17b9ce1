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
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from bot.domain.errors import Conflict, NotFound, PermissionDenied
from bot.domain.matching import (
    CATEGORY_SKILLS,
    SKILL_ORDER,
    OfferKind,
    Scope,
    Weights,
    category_mask,
    needed_slots,
)
from bot.domain.needs import NeedCategory
from bot.domain.policy import TRIAGE_ROLES
from bot.domain.principal import Principal
from bot.domain.volunteers import SLOTS
from bot.services import match_cache, volunteers
from bot.services.places import place_of
from bot.services.ports import Notice, Notifier
from bot.services.views import Page
from storage.models import Need
from storage.types import utcnow
from storage.uow import UnitOfWork

TOP = 5
TIE_BREAK = 1e-9  # per person id: decides only between equal shown scores
BITS_SECONDS = 300.0  # the community order is also dropped when places are imported
RANK_CHUNK = 256  # needs scored together: bounds the matrix at 256 × a street's candidates
PER_PAGE = 5


class Reason(NamedTuple):
    """A machine name and its value; handlers put it into words in the reader's language.
    (Named tuples: a batch builds hundreds of thousands of them.)"""

    code: str  # same_grid | same_community | same_street | skill | no_skill | free |
    #            free_unknown | busy | load | services | failed | rating | available |
    #            answers | places
    value: str = ""


class Suggestion(NamedTuple):
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
    # Why the volunteer list is short of a good fit, for the worker: none_in_scope (no
    # verified volunteer serves the place) | all_busy (all at their load limit) |
    # none_with_skill (suggested, but nobody has a skill for the category) | None.
    volunteer_gap: str | None = None


COLUMNS = ("grid", "skills", "availability", "served")


class _Street:
    """One street's candidates as parallel arrays (one entry per volunteer)."""

    def __init__(self, weights: Weights) -> None:
        self.weights = weights
        self.community_bit: dict[int, int] = {}
        self.people: list[int] = []
        self.names: list[str] = []
        self.columns: dict[str, list[int]] = defaultdict(list)
        self.loads: list[int] = []
        self.records: list[tuple[int, int]] = []
        self.rating: list[float | None] = []

    def fill(self, rows: Sequence[Any], community_bit: dict[int, int]) -> None:
        """From match_profiles rows: (person, name, grid, skills mask, availability mask,
        served mask, street, open load, confirmed, failed, rating). Built by columns."""
        self.community_bit = community_bit
        if not rows:
            self.freeze()
            return
        person, name, grid, skills, availability, served, _, load, ok, bad, rating = zip(
            *rows, strict=True
        )
        self.people, self.names = list(person), list(name)
        self.columns["grid"] = [g if g is not None else -1 for g in grid]
        self.columns["skills"], self.columns["availability"] = list(skills), list(availability)
        self.columns["served"] = list(served)
        self.loads = list(load)
        self.records = list(zip(ok, bad, strict=True))
        self.rating = list(rating)
        # The same sum as domain.matching.reliability, for all candidates at once.
        w = self.weights
        confirmed = np.array(ok, dtype=np.float64)
        ratings = np.array([r if r is not None else 3.0 for r in rating], dtype=np.float64)
        self.base_array = (
            np.minimum(w.max_reliability, confirmed * w.per_confirmed_service)
            + np.array(bad, dtype=np.float64) * w.per_failed_service
            + (ratings - 3.0) * w.per_rating_star
            + np.array(load, dtype=np.float64) * w.per_open_assignment
        )
        self.freeze()

    def freeze(self) -> None:
        # Every column, even for a street without volunteers: an empty pool ranks nobody.
        self.arrays = {k: np.array(self.columns.get(k, []), dtype=np.int64) for k in COLUMNS}
        self.arrays["person"] = np.array(self.people, dtype=np.int64)
        if not self.people:
            self.base_array = np.zeros(0, dtype=np.float64)
        self.overloaded = np.array(self.loads, dtype=np.int64) >= self.weights.max_load
        self.known = self.arrays["availability"] != 0
        self._static: dict[int, tuple[Reason, ...]] = {}

    def rank(self, need: NeedForMatch, slots: int, k: int) -> list[Suggestion]:
        return self.rank_many([need], [slots], k)[0]

    def rank_many(
        self, needs: Sequence[NeedForMatch], slots: Sequence[int], k: int
    ) -> list[list[Suggestion]]:
        """The same ranking for many needs of this street at once: one score matrix (needs ×
        candidates) per chunk instead of a pass per need."""
        if not self.people:
            return [[] for _ in needs]
        result: list[list[Suggestion]] = []
        for start in range(0, len(needs), RANK_CHUNK):
            chunk, chunk_slots = (
                needs[start : start + RANK_CHUNK],
                slots[start : start + RANK_CHUNK],
            )
            result.extend(
                self._top_rows(self._score_matrix(chunk, chunk_slots), chunk, chunk_slots, k)
            )
        return result

    def gap(self, need: NeedForMatch, chosen: Sequence[Suggestion]) -> str | None:
        """Why nobody (or nobody with the skill) is suggested, in one code."""
        if chosen:
            has_skill = any(r.code == "skill" for s in chosen for r in s.reasons)
            return None if has_skill else "none_with_skill"
        bit = self.community_bit.get(need.community_id, -1)
        serves = bit >= 0 and bool(((self.arrays["served"] >> bit) & 1).any())
        if not self.people or (self.weights.scope is Scope.COMMUNITY and not serves):
            return "none_in_scope"
        return "all_busy"

    def _keys(self, score: Any) -> Any:
        """What decides the order: the score as shown (two decimals), then the lower person
        id — a tiny amount, far below the shown precision."""
        return np.round(score, 2) - self.arrays["person"] * TIE_BREAK

    def _top_rows(
        self, matrix: Any, needs: Sequence[NeedForMatch], slots: Sequence[int], k: int
    ) -> list[list[Suggestion]]:
        keys = self._keys(matrix)
        kk = min(k, keys.shape[1])
        part = np.argpartition(-keys, kk - 1, axis=1)[:, :kk]
        order = np.take_along_axis(
            part, np.argsort(-np.take_along_axis(keys, part, axis=1), axis=1, kind="stable"), 1
        )
        chosen_keys = np.take_along_axis(keys, order, axis=1).tolist()
        chosen_scores = np.take_along_axis(matrix, order, axis=1).tolist()
        return [
            [
                self._suggestion(i, need, slot, score)
                for i, key, score in zip(row, row_keys, row_scores, strict=True)
                if key != -np.inf
            ]
            for row, row_keys, row_scores, need, slot in zip(
                order.tolist(), chosen_keys, chosen_scores, needs, slots, strict=True
            )
        ]

    def _score_matrix(self, needs: Sequence[NeedForMatch], slots: Sequence[int]) -> Any:
        w, a = self.weights, self.arrays
        bits = np.array([self.community_bit.get(n.community_id, -1) for n in needs])[:, None]
        wanted = np.array([category_mask(n.category) for n in needs], dtype=np.int64)[:, None]
        grids = np.array([n.grid_id if n.grid_id is not None else -2 for n in needs])[:, None]
        slot_masks = np.array(slots, dtype=np.int64)[:, None]
        free = (a["availability"][None, :] & slot_masks) != 0
        serves = (((a["served"][None, :] >> np.maximum(bits, 0)) & 1) == 1) & (bits >= 0)
        # Stated free times are a strong preference, not a filter: a volunteer who said they
        # are busy then is still shown, below those who are free or did not say.
        busy = self.known[None, :] & ~free
        eligible = np.broadcast_to(~self.overloaded[None, :], free.shape).copy()
        if w.scope is Scope.COMMUNITY:
            eligible &= serves
        score = (
            self.base_array[None, :]
            + ((a["skills"][None, :] & wanted) != 0) * w.skill
            + free * w.free
            + busy * w.busy_then
            + np.where(serves, w.same_community, w.same_street)
            + (a["grid"][None, :] == grids) * w.same_grid
        )
        score[~eligible] = -np.inf
        return score

    def _suggestion(self, i: int, need: NeedForMatch, slots: int, score: float) -> Suggestion:
        """Reasons for one chosen candidate (plain lists here: numpy scalars are slow)."""
        c = self.columns
        reasons: list[Reason] = []
        if need.grid_id is not None and c["grid"][i] == need.grid_id:
            reasons.append(SAME_GRID)
        bit = self.community_bit.get(need.community_id)
        serves = bit is not None and c["served"][i] >> bit & 1
        reasons.append(SAME_COMMUNITY if serves else SAME_STREET)
        skills = c["skills"][i]
        have = [value for index, value in _CATEGORY_SKILLS[need.category] if skills >> index & 1]
        reasons.append(Reason("skill", have[0]) if have else NO_SKILL)
        common = c["availability"][i] & slots
        if common:
            reasons.append(Reason("free", SLOTS[(common & -common).bit_length() - 1]))
        else:
            reasons.append(BUSY_THEN if c["availability"][i] else FREE_UNKNOWN)
        reasons.extend(self._record_reasons(i))
        return Suggestion(
            "volunteer", self.people[i], self.names[i], round(score, 2), tuple(reasons)
        )

    def _record_reasons(self, i: int) -> tuple[Reason, ...]:
        """The reasons that do not depend on the need, made once per candidate."""
        found = self._static.get(i)
        if found is None:
            reasons = [Reason("load", str(self.loads[i]))]
            confirmed, failed = self.records[i]
            if confirmed:
                reasons.append(Reason("services", str(confirmed)))
            if failed:
                reasons.append(Reason("failed", str(failed)))
            rating = self.rating[i]
            if rating is not None:
                reasons.append(Reason("rating", f"{rating:.1f}"))
            found = self._static[i] = tuple(reasons)
        return found


SAME_GRID, SAME_COMMUNITY, SAME_STREET = (
    Reason("same_grid"),
    Reason("same_community"),
    Reason("same_street"),
)
NO_SKILL, FREE_UNKNOWN, BUSY_THEN = Reason("no_skill"), Reason("free_unknown"), Reason("busy")


# For each category, the (bit index, value) of the skills that serve it, in skill order.
_CATEGORY_SKILLS = {
    category: [(index, skill.value) for index, skill in enumerate(SKILL_ORDER) if skill in wanted]
    for category, wanted in CATEGORY_SKILLS.items()
}


async def _community_bits(uow: UnitOfWork, cache_seconds: float) -> dict[int, dict[int, int]]:
    """Which bit of served_mask is which community, per street: rarely changes, so cached."""
    bits: dict[int, dict[int, int]] | None = match_cache.get(0, "community bits")
    if bits is None:
        bits = defaultdict(dict)
        for community, street in await uow.matching.community_order():
            bits[street][community] = len(bits[street])
        match_cache.put(0, "community bits", bits, max(cache_seconds, BITS_SECONDS))
    return bits


class CandidatePool:
    """The candidates of some streets, loaded once; ranks any number of their needs."""

    def __init__(self, weights: Weights, tz: ZoneInfo) -> None:
        self.weights = weights
        self.tz = tz
        self.streets: dict[int, _Street] = {}

    @classmethod
    async def load(
        cls,
        uow: UnitOfWork,
        street_ids: Sequence[int],
        weights: Weights,
        tz: ZoneInfo,
        cache_seconds: float = 0.0,
    ) -> CandidatePool:
        """Call inside an entered unit of work. Streets cached less than `cache_seconds` ago
        (see match_cache) are not read again."""
        pool = cls(weights, tz)
        missing = []
        for street_id in sorted(set(street_ids)):
            cached = match_cache.get(street_id, weights)
            if cached is None:
                missing.append(street_id)
                pool.streets[street_id] = _Street(weights)
            else:
                pool.streets[street_id] = cached
        if missing:
            await pool._fill(uow, missing, cache_seconds)
        return pool

    async def _fill(self, uow: UnitOfWork, street_ids: list[int], cache_seconds: float) -> None:
        """Read the streets' volunteer profiles (one query for all) and cache each street."""
        bits = await _community_bits(uow, cache_seconds)
        rows: dict[int, list[Any]] = defaultdict(list)
        for row in await uow.matching.profiles(street_ids):
            rows[row[6]].append(row)
        for street_id in street_ids:
            self.streets[street_id].fill(rows[street_id], bits[street_id])
            match_cache.put(street_id, self.weights, self.streets[street_id], cache_seconds)

    def rank(self, need: NeedForMatch, now: datetime, k: int = TOP) -> list[Suggestion]:
        street = self.streets.get(need.street_id)
        if street is None:
            return []
        return street.rank(need, needed_slots(now, need.due_at, self.tz), k)

    def gap(self, need: NeedForMatch, chosen: Sequence[Suggestion]) -> str | None:
        street = self.streets.get(need.street_id)
        return street.gap(need, chosen) if street is not None else "none_in_scope"

    def rank_many(
        self, needs: Sequence[NeedForMatch], now: datetime, k: int = TOP
    ) -> dict[int, list[Suggestion]]:
        by_street: dict[int, list[NeedForMatch]] = defaultdict(list)
        for need in needs:
            by_street[need.street_id].append(need)
        result: dict[int, list[Suggestion]] = {}
        for street_id, group in by_street.items():
            street = self.streets.get(street_id)
            if street is None:
                result.update({n.id: [] for n in group})
                continue
            slots = [needed_slots(now, n.due_at, self.tz) for n in group]
            for need, ranked in zip(group, street.rank_many(group, slots, k), strict=True):
                result[need.id] = ranked
        return result


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
    cache_seconds: float = 0.0,
) -> Suggestions:
    """What a worker sees for one need: volunteers, resources and projects, with reasons."""
    now = now or utcnow()
    async with uow:
        need = await _need_in_scope(uow, principal, need_id)
        pool = await CandidatePool.load(uow, [need.street_id], weights, tz, cache_seconds)
        volunteers = pool.rank(need, now, k)
        resources = _rank_resources(
            await uow.matching.resources(need.street_id, now.astimezone(tz).date()),
            need,
            weights,
            k,
        )
        projects = _rank_projects(await uow.matching.projects(need.street_id), need, weights, k)
        gap = pool.gap(need, volunteers)
        return Suggestions(need, tuple(volunteers), resources, projects, gap)


async def rank_needs(
    uow: UnitOfWork,
    *,
    need_ids: Sequence[int] | None,
    weights: Weights,
    tz: ZoneInfo,
    now: datetime | None = None,
    k: int = TOP,
    cache_seconds: float = 0.0,
) -> dict[int, list[Suggestion]]:
    """Top volunteers for many open needs (or all, with `need_ids=None`) from one load."""
    now = now or utcnow()
    async with uow:
        needs = [_need(row) for row in await uow.matching.needs(need_ids)]
        streets = [n.street_id for n in needs]
        pool = await CandidatePool.load(uow, streets, weights, tz, cache_seconds)
        return pool.rank_many(needs, now, k)


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
        volunteer = await volunteers.verified(uow, principal)
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
        volunteer = await volunteers.verified(uow, principal)
        need = await _offerable(uow, principal, volunteer.id, need_id)
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


async def _offerable(
    uow: UnitOfWork, principal: Principal, volunteer_id: int, need_id: int
) -> Need:
    """The need (locked), of a community the volunteer serves, unassigned and not offered by
    them already."""
    need = await uow.needs.get(need_id, lock=True)
    if need is None or need.community_id not in await uow.volunteers.communities_of(volunteer_id):
        raise NotFound("need", need_id)
    if need.assignee_person_id is not None or need.assignee_organisation_id is not None:
        raise Conflict("offer_taken")
    if await uow.matching.offer(need.id, principal.person_id) is not None:
        raise Conflict("already_offered")
    return need


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
    cache_seconds: float = 0.0,
) -> int:
    """Offer a new low-risk need to the best-matched volunteers; the first to accept takes it
    (`needs.take_offer`). Returns how many were asked."""
    now = now or utcnow()
    async with uow:
        need = await _offered_automatically(uow, need_id, categories)
        if need is None:
            return 0
        pool = await CandidatePool.load(uow, [need.street_id], weights, tz, cache_seconds)
        chosen = pool.rank(need, now, k)
        _offer(uow, need.id, [s.id for s in chosen])
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


async def _offered_automatically(
    uow: UnitOfWork, need_id: int, categories: frozenset[NeedCategory]
) -> NeedForMatch | None:
    """The open need, if its category is one offered without a worker."""
    rows = await uow.matching.needs([need_id])
    if not rows:
        return None
    need = _need(rows[0])
    return need if need.category in categories else None


def _offer(uow: UnitOfWork, need_id: int, person_ids: list[int]) -> None:
    """Offered to each of them, audited once (when anyone was asked)."""
    for person_id in person_ids:
        uow.matching.add_offer(need_id, person_id, OfferKind.AUTO)
    if person_ids:
        uow.audit.record(
            actor_id=None,
            action="need.auto_offered",
            entity="need",
            entity_id=need_id,
            details={"to": person_ids},
        )


# ---------------------------------------------------------------- resources: needs it could serve


async def needs_for_resource(
    uow: UnitOfWork, principal: Principal, *, resource_id: int, k: int = TOP
) -> tuple[OpenNeed, ...]:
    """Unassigned needs of the resource's community (then its street), urgent and old first,
    for a worker covering the resource's community."""
    async with uow:
        resource = await uow.resources.get(resource_id)
        if resource is None or not resource.active:
            raise NotFound("resource", resource_id)
        community = await uow.places.community(resource.community_id)
        assert community is not None
        if not principal.can_act_in(place_of(community), *TRIAGE_ROLES):
            raise PermissionDenied()
        found: list[OpenNeed] = []
        rows_of_street, _ = await uow.places.communities(community.street_id, 0, 1000)
        street = [c.id for c in rows_of_street]
        for communities in ([community.id], [c for c in street if c != community.id]):
            rows, _ = await uow.matching.open_needs_in(communities, 0, k - len(found))
            found += [
                OpenNeed(need_id, reference, category, description[:200], True, False)
                for need_id, reference, category, _urgency, description, _community in rows
            ]
            if len(found) >= k:
                break
        return tuple(found)
