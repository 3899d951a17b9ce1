"""A district-sized data set for benchmarks, written straight into a database with bulk inserts.

At scale 1.0: 1 district, 20 streets, 200 communities (sizes skewed: a few large urban
communities, many small ones), 1,000 grids, 100,000 residents, 20,000 volunteers (90% verified,
skills and free times skewed towards elderly care and weekday mornings; 30% also serve a second
community of their street), 2,000 resources, 500 projects, 50,000 open needs (categories skewed
towards elderly care), plus 5,000 needs assigned to volunteers (their load) with ratings, and
30,000 service records (their reliability). Deterministic for a given seed.

    python -m bench.generate --database-url postgresql+asyncpg://root@127.0.0.1:5432/bench \\
        --scale 1.0
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.attendance import CheckMethod, RecordStatus
from bot.domain.enums import CommunityKind
from bot.domain.matching import skill_mask, slot_mask
from bot.domain.needs import Beneficiary, NeedCategory, NeedState, Urgency
from bot.domain.projects import ProjectKind, ProjectState
from bot.domain.resources import ResourceKind
from bot.domain.volunteers import SLOTS, Skill, VolunteerStatus
from bot.services import match_profiles
from storage import migrate
from storage.db import make_engine, make_session_factory
from storage.models import (
    Community,
    District,
    Grid,
    Need,
    NeedFeedback,
    Person,
    Project,
    ProjectCommunity,
    Resource,
    ServiceRecord,
    Shift,
    Street,
    Volunteer,
    VolunteerCommunity,
)
from storage.uow import UnitOfWork

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # a Tuesday, 09:00 in Chongqing
BATCH = 5_000
STREETS, COMMUNITIES_PER_STREET, GRIDS_PER_COMMUNITY = 20, 10, 5
CATEGORY_WEIGHTS = {
    NeedCategory.ELDERLY_CARE: 40,
    NeedCategory.CHILD_CARE: 15,
    NeedCategory.DISABILITY: 8,
    NeedCategory.SOCIAL_ASSISTANCE: 10,
    NeedCategory.PSYCHOLOGICAL: 7,
    NeedCategory.COMMUNITY_AFFAIRS: 15,
    NeedCategory.OTHER: 5,
}
SKILL_WEIGHTS = {skill: 3 for skill in Skill} | {Skill.ELDERLY_CARE: 12, Skill.COOKING: 6}


def _weighted(rng: random.Random, weights: dict[Any, int], k: int = 1) -> list[Any]:
    return rng.choices(list(weights), weights=list(weights.values()), k=k)


async def _insert(connection: AsyncConnection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        await connection.execute(insert(table), list(rows[start : start + BATCH]))


def _community_sizes(rng: random.Random, count: int) -> list[float]:
    """Skewed: a few large communities, many small ones (Pareto-like weights)."""
    return [rng.paretovariate(1.5) for _ in range(count)]


async def generate(database_url: str, scale: float, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    await migrate.upgrade(database_url)
    engine = make_engine(database_url)
    counts: dict[str, int] = {}
    try:
        async with engine.begin() as connection:
            counts |= await _places(connection, rng)
            people = await _people(connection, rng, int(100_000 * scale), counts)
            volunteers = await _volunteers(connection, rng, people, int(20_000 * scale), counts)
            await _resources_and_projects(connection, rng, scale, counts)
            await _needs(connection, rng, people, volunteers, scale, counts)
            await _records(connection, rng, volunteers, int(30_000 * scale), counts)
        # Bulk inserts bypass the services: compute the matching profiles once, as the bot
        # does at start.
        uow = UnitOfWork(make_session_factory(engine))
        counts["match_profiles"] = await match_profiles.rebuild_all(uow)
    finally:
        await engine.dispose()
    return counts


async def _places(connection: AsyncConnection, rng: random.Random) -> dict[str, int]:
    await _insert(connection, District.__table__, [{"id": 1, "name": "基准区", "name_en": "Bench"}])
    streets = [
        {"id": s, "district_id": 1, "name": f"街道{s:02d}", "name_en": f"Street {s}"}
        for s in range(1, STREETS + 1)
    ]
    await _insert(connection, Street.__table__, streets)
    communities, grids = [], []
    for c in range(1, STREETS * COMMUNITIES_PER_STREET + 1):
        street = (c - 1) // COMMUNITIES_PER_STREET + 1
        communities.append(
            {
                "id": c,
                "street_id": street,
                "name": f"社区{c:03d}",
                "name_en": f"Community {c}",
                "code": f"B{c:03d}",
                "kind": CommunityKind.URBAN if c % 4 else CommunityKind.RURAL,
                "resident_population": 0,
            }
        )
        for g in range(GRIDS_PER_COMMUNITY):
            gid = (c - 1) * GRIDS_PER_COMMUNITY + g + 1
            grids.append({"id": gid, "community_id": c, "name": f"网格{g + 1}"})
    await _insert(connection, Community.__table__, communities)
    await _insert(connection, Grid.__table__, grids)
    return {"streets": len(streets), "communities": len(communities), "grids": len(grids)}


async def _people(
    connection: AsyncConnection, rng: random.Random, count: int, counts: dict[str, int]
) -> list[tuple[int, int, int]]:
    """(person id, community, grid) of every resident."""
    community_ids = list(range(1, STREETS * COMMUNITIES_PER_STREET + 1))
    homes = rng.choices(community_ids, weights=_community_sizes(rng, len(community_ids)), k=count)
    people, rows = [], []
    for pid, community in enumerate(homes, 1):
        grid = (community - 1) * GRIDS_PER_COMMUNITY + rng.randrange(GRIDS_PER_COMMUNITY) + 1
        people.append((pid, community, grid))
        rows.append(
            {
                "id": pid,
                "display_name": f"居民{pid}",
                "locale": "zh",
                "community_id": community,
                "grid_id": grid,
            }
        )
    await _insert(connection, Person.__table__, rows)
    counts["residents"] = count
    return people


def _availability(rng: random.Random) -> list[str]:
    if rng.random() < 0.25:
        return []  # did not say: kept, without the "free" bonus
    weekday_mornings = [s for s in SLOTS if s.endswith("_am") and not s.startswith(("sat", "sun"))]
    chosen = set(rng.sample(SLOTS, rng.randint(1, 6)))
    if rng.random() < 0.5:
        chosen |= set(rng.sample(weekday_mornings, 2))
    return [s for s in SLOTS if s in chosen]


async def _volunteers(
    connection: AsyncConnection,
    rng: random.Random,
    people: list[tuple[int, int, int]],
    count: int,
    counts: dict[str, int],
) -> list[int]:
    """Registers `count` residents as volunteers; returns the verified ones' person ids."""
    chosen = rng.sample(people, count)
    rows, served, verified = [], [], []
    for vid, (pid, community, _grid) in enumerate(chosen, 1):
        skills = sorted({s.value for s in _weighted(rng, SKILL_WEIGHTS, rng.randint(1, 3))})
        availability = _availability(rng)
        status = VolunteerStatus.VERIFIED if rng.random() < 0.9 else VolunteerStatus.PENDING
        rows.append(
            {
                "id": vid,
                "person_id": pid,
                "home_community_id": community,
                "real_name": f"志愿者{vid}",
                "id_number_encrypted": "-",
                "id_number_hash": f"bench-{vid}",
                "id_number_masked": "5001**********0000",
                "phone": "13800138000",
                "skills": skills,
                "tags": [],
                "availability": availability,
                "skills_mask": skill_mask(skills),
                "availability_mask": slot_mask(availability),
                "status": status,
                "number": f"B-V-{vid:06d}",
                "registered_at": NOW - timedelta(days=rng.randint(1, 700)),
            }
        )
        served.append({"volunteer_id": vid, "community_id": community})
        if rng.random() < 0.3:
            street_first = (community - 1) // COMMUNITIES_PER_STREET * COMMUNITIES_PER_STREET + 1
            other = street_first + rng.randrange(COMMUNITIES_PER_STREET)
            if other != community:
                served.append({"volunteer_id": vid, "community_id": other})
        if status is VolunteerStatus.VERIFIED:
            verified.append(pid)
    await _insert(connection, Volunteer.__table__, rows)
    await _insert(connection, VolunteerCommunity.__table__, served)
    counts["volunteers"], counts["verified_volunteers"] = count, len(verified)
    return verified


async def _resources_and_projects(
    connection: AsyncConnection, rng: random.Random, scale: float, counts: dict[str, int]
) -> None:
    communities = STREETS * COMMUNITIES_PER_STREET
    resources = [
        {
            "id": rid,
            "created_by": 1,
            "community_id": rng.randint(1, communities),
            "kind": rng.choice(list(ResourceKind)),
            "title": f"资源{rid}",
            "quantity": rng.randint(1, 200),
            "unit": "份",
            "active": True,
        }
        for rid in range(1, int(2_000 * scale) + 1)
    ]
    await _insert(connection, Resource.__table__, resources)
    projects, served = [], []
    for pid in range(1, int(500 * scale) + 1):
        community = rng.randint(1, communities)
        projects.append(
            {
                "id": pid,
                "created_by": 1,
                "community_id": community,
                "title": f"项目{pid}",
                "purpose": "基准",
                "kind": ProjectKind.SERVICE,
                "categories": [c.value for c in _weighted(rng, CATEGORY_WEIGHTS, 2)],
                "budget_fen": 1_000_000,
                "starts_on": date(2026, 10, 1),
                "ends_on": date(2027, 3, 31),
                "major": False,
                "state": rng.choice(
                    [ProjectState.PUBLISHED, ProjectState.RUNNING, ProjectState.DRAFT]
                ),
            }
        )
        served.append({"project_id": pid, "community_id": community})
    await _insert(connection, Project.__table__, projects)
    await _insert(connection, ProjectCommunity.__table__, served)
    counts["resources"], counts["projects"] = len(resources), len(projects)


def _need_row(
    nid: int,
    resident: tuple[int, int, int],
    category: NeedCategory,
    state: NeedState,
    age: timedelta,
) -> dict[str, Any]:
    created = NOW - age
    due = created + timedelta(hours=72)
    return {
        "id": nid,
        "reference": f"B{nid:08d}",
        "community_id": resident[1],
        "resident_id": resident[0],
        "category": category,
        "description": "基准诉求",
        "urgency": Urgency.NORMAL,
        "beneficiary": Beneficiary.SELF,
        "state": state,
        "created_at": created,
        "updated_at": created,
        "due_at": due,
        "remind_at": due - timedelta(hours=14),
        "assignee_person_id": None,
        "closure_reason": None,
    }


async def _needs(
    connection: AsyncConnection,
    rng: random.Random,
    people: list[tuple[int, int, int]],
    volunteers: list[int],
    scale: float,
    counts: dict[str, int],
) -> None:
    open_count, assigned_count = int(50_000 * scale), int(5_000 * scale)
    rows, feedback = [], []
    for nid in range(1, open_count + 1):
        category = _weighted(rng, CATEGORY_WEIGHTS)[0]
        state = NeedState.NEW if rng.random() < 0.7 else NeedState.ACCEPTED
        rows.append(
            _need_row(nid, rng.choice(people), category, state, timedelta(hours=rng.randint(0, 60)))
        )
    for nid in range(open_count + 1, open_count + assigned_count + 1):
        row = _need_row(
            nid,
            rng.choice(people),
            _weighted(rng, CATEGORY_WEIGHTS)[0],
            NeedState.ASSIGNED,
            timedelta(days=3),
        )
        row["assignee_person_id"] = rng.choice(volunteers)
        if rng.random() < 0.5:  # some were done and rated
            row["state"], row["closure_reason"] = NeedState.CLOSED, "confirmed_solved"
            feedback.append(
                {
                    "need_id": nid,
                    "person_id": row["resident_id"],
                    "solved": True,
                    "rating": rng.randint(2, 5),
                    "at": NOW,
                }
            )
        rows.append(row)
    await _insert(connection, Need.__table__, rows)
    await _insert(connection, NeedFeedback.__table__, feedback)
    counts["open_needs"], counts["assigned_needs"] = open_count, assigned_count


async def _records(
    connection: AsyncConnection,
    rng: random.Random,
    volunteers: list[int],
    count: int,
    counts: dict[str, int],
) -> None:
    communities = STREETS * COMMUNITIES_PER_STREET
    shifts = [
        {
            "id": sid,
            "community_id": (sid - 1) % communities + 1,
            "created_by": 1,
            "title": "基准服务",
            "place": "活动室",
            "radius_m": 300,
            "starts_at": NOW - timedelta(days=10 + sid % 20),
            "ends_at": NOW - timedelta(days=10 + sid % 20) + timedelta(hours=2),
            "capacity": 50,
            "skills": [],
            "cancel_hours": 12,
        }
        for sid in range(1, communities * 3 + 1)
    ]
    await _insert(connection, Shift.__table__, shifts)
    seen: set[tuple[int, int]] = set()
    rows = []
    for rid in range(1, count + 1):
        person, shift = rng.choice(volunteers), rng.randint(1, len(shifts))
        if (shift, person) in seen:
            continue
        seen.add((shift, person))
        start: datetime = shifts[shift - 1]["starts_at"]  # type: ignore[assignment]
        rows.append(
            {
                "id": rid,
                "shift_id": shift,
                "person_id": person,
                "volunteer_id": 1,
                "community_id": shifts[shift - 1]["community_id"],
                "content": "基准服务",
                "place": "活动室",
                "status": RecordStatus.CONFIRMED if rng.random() < 0.95 else RecordStatus.FAILED,
                "checked_in_at": start,
                "check_in_method": CheckMethod.LOCATION,
                "checked_out_at": start + timedelta(hours=2),
                "minutes": 120,
            }
        )
    await _insert(connection, ServiceRecord.__table__, rows)
    counts["service_records"] = len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    started = time.perf_counter()
    counts = asyncio.run(generate(args.database_url, args.scale))
    print(f"generated in {time.perf_counter() - started:.1f} s: {counts}")


if __name__ == "__main__":
    main()
