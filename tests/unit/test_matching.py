"""Matching rules on the real database (SQLite and PostgreSQL): who is suggested, in which
order, with which reasons; one-tap assignment of a volunteer; auto-offers taken once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import Conflict, PermissionDenied
from bot.domain.matching import Scope, Weights, needed_slots, skill_mask, slot_mask
from bot.domain.needs import Beneficiary, NeedCategory, NeedState, Urgency
from bot.domain.principal import Grant, Place, Principal
from bot.domain.volunteers import SLOTS, Skill, check_character
from bot.services import match_profiles, matching, needs, volunteers
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import RecordingNotifier
from storage.uow import UnitOfWork
from tests.support.factories import Map, make_map, make_person

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 09:00 in Chongqing
CIPHER = PersonalDataCipher(b"test")
WEIGHTS = Weights()


@dataclass
class World:
    map: Map
    worker: Principal
    resident: Principal
    people: dict[str, int]


def worker_of(community: int, person: int) -> Principal:
    grant = Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, community)
    return Principal(person, "zh", grants=(grant,))


async def add_volunteer(
    uow: UnitOfWork,
    w: Map,
    worker: Principal,
    n: int,
    name: str,
    *,
    home: int,
    skills: list[Skill],
    availability: list[str] = (),  # type: ignore[assignment]
) -> int:
    person = await make_person(uow, name, community=home)
    street = w.street_b if home == w.community_b1 else w.street_a
    principal = Principal(person, "zh", home=Place(home, street, w.district))
    first17 = f"500106198506{n:02d}123"
    view = await volunteers.register(
        uow,
        CIPHER,
        RecordingNotifier(),
        principal,
        real_name=name,
        id_number=first17 + check_character(first17),
        phone="13800138000",
        skills=skills,
        tags=[],
        availability=list(availability),
        community_ids=[],
    )
    grant = Grant(Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, w.district)
    verifier = Principal(worker.person_id, "zh", grants=(grant,))
    await volunteers.verify(uow, RecordingNotifier(), verifier, volunteer_id=view.id, approve=True)
    return person


async def world(uow: UnitOfWork) -> World:
    w = await make_map(uow)
    worker_id = await make_person(
        uow, "韩主任", grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    )
    worker = worker_of(w.community_a1, worker_id)
    resident_id = await make_person(uow, "居民", community=w.community_a1)
    resident = Principal(resident_id, "zh", home=Place(w.community_a1, w.street_a, w.district))
    people = {}
    a1, a2, b1 = w.community_a1, w.community_a2, w.community_b1
    elderly = [Skill.ELDERLY_CARE]
    people["skilled"] = await add_volunteer(uow, w, worker, 1, "张甲", home=a1, skills=elderly)
    people["unskilled"] = await add_volunteer(
        uow, w, worker, 2, "李乙", home=a1, skills=[Skill.REPAIRS]
    )
    people["street"] = await add_volunteer(uow, w, worker, 3, "王丙", home=a2, skills=elderly)
    people["other_street"] = await add_volunteer(uow, w, worker, 4, "赵丁", home=b1, skills=elderly)
    people["busy"] = await add_volunteer(
        uow, w, worker, 5, "钱戊", home=a1, skills=elderly, availability=["sun_eve"]
    )
    people["free"] = await add_volunteer(
        uow, w, worker, 6, "孙己", home=a1, skills=elderly, availability=["tue_am", "tue_pm"]
    )
    return World(w, worker, resident, people)


async def file(uow: UnitOfWork, w: World, category: NeedCategory, text: str = "帮忙") -> int:
    filed = await needs.file_need(
        uow,
        RecordingNotifier(),
        w.resident,
        category=category,
        description=text,
        urgency=Urgency.NORMAL,
        beneficiary=Beneficiary.SELF,
        now=NOW,
        tz=TZ,
    )
    return filed.need.id


def test_the_weekly_slots_a_need_is_open_for() -> None:
    # 09:00 Tuesday in Chongqing, due in 4 hours: Tuesday morning and afternoon.
    mask = needed_slots(NOW, NOW + timedelta(hours=4), TZ)
    assert [s for i, s in enumerate(SLOTS) if mask >> i & 1] == ["tue_am", "tue_pm"]
    assert needed_slots(NOW, NOW - timedelta(hours=1), TZ) != 0  # overdue: the next day
    assert skill_mask(["elderly_care", "nonsense"]) == 1 and slot_mask(["mon_am"]) == 1


def test_weights_are_configurable_and_unknown_names_refused() -> None:
    assert Weights.with_overrides({"skill": "55", "scope": "community"}).skill == 55
    with pytest.raises(Exception, match="skil"):
        Weights.with_overrides({"skil": 1})


async def test_ranking_rules(uow: UnitOfWork) -> None:
    w = await world(uow)
    need = await file(uow, w, NeedCategory.ELDERLY_CARE)
    found = await matching.suggest(uow, w.worker, need_id=need, weights=WEIGHTS, tz=TZ, now=NOW)
    order = [s.id for s in found.volunteers]
    p = w.people
    # Skill beats no skill, all else equal; the stated free time matching earns its bonus.
    assert order.index(p["skilled"]) < order.index(p["unskilled"])
    assert order[0] == p["free"]
    # Another street is out of scope; stated free times that miss the need are a strong
    # preference, not a filter: the busy one is shown, below every other of the community.
    assert p["other_street"] not in order and p["busy"] in order
    assert order.index(p["busy"]) > order.index(p["skilled"])
    assert order.index(p["busy"]) > order.index(p["street"])
    # The same street is in scope by default, below the community's own volunteers.
    assert order.index(p["street"]) > order.index(p["skilled"])
    reasons = {s.id: [r.code for r in s.reasons] for s in found.volunteers}
    assert reasons[p["free"]][:4] == ["same_community", "skill", "free", "load"]
    assert reasons[p["street"]][:2] == ["same_street", "skill"]
    assert "no_skill" in reasons[p["unskilled"]]
    assert "busy" in reasons[p["busy"]]
    assert found.volunteer_gap is None
    # Scope "community" leaves the street out.
    narrow = replace(WEIGHTS, scope=Scope.COMMUNITY)
    found = await matching.suggest(uow, w.worker, need_id=need, weights=narrow, tz=TZ, now=NOW)
    assert p["street"] not in [s.id for s in found.volunteers]


async def test_load_lowers_and_overload_removes(uow: UnitOfWork) -> None:
    w = await world(uow)
    target = await file(uow, w, NeedCategory.ELDERLY_CARE, "目标")
    for n in range(2):
        other = await file(uow, w, NeedCategory.OTHER, f"其他{n}")
        await needs.assign(
            uow, RecordingNotifier(), w.worker, need_id=other, person_id=w.people["free"], now=NOW
        )
    found = await matching.suggest(uow, w.worker, need_id=target, weights=WEIGHTS, tz=TZ, now=NOW)
    top = found.volunteers[0]
    assert top.id == w.people["skilled"]  # the free one now carries two open assignments
    loaded = next(s for s in found.volunteers if s.id == w.people["free"])
    assert ("load", "2") in [(r.code, r.value) for r in loaded.reasons]
    strict = replace(WEIGHTS, max_load=2)
    found = await matching.suggest(uow, w.worker, need_id=target, weights=strict, tz=TZ, now=NOW)
    assert w.people["free"] not in [s.id for s in found.volunteers]


async def test_only_workers_of_the_need_see_suggestions_and_batch_agrees(uow: UnitOfWork) -> None:
    w = await world(uow)
    ids = [await file(uow, w, c) for c in (NeedCategory.ELDERLY_CARE, NeedCategory.CHILD_CARE)]
    outsider = worker_of(w.map.community_b1, w.worker.person_id)
    with pytest.raises(PermissionDenied):
        await matching.suggest(uow, outsider, need_id=ids[0], weights=WEIGHTS, tz=TZ, now=NOW)
    batch = await matching.rank_needs(uow, need_ids=None, weights=WEIGHTS, tz=TZ, now=NOW)
    for need_id in ids:
        one = await matching.suggest(
            uow, w.worker, need_id=need_id, weights=WEIGHTS, tz=TZ, now=NOW
        )
        assert [s.id for s in batch[need_id]] == [s.id for s in one.volunteers]


async def test_a_worker_assigns_a_suggested_volunteer_but_not_one_from_elsewhere(
    uow: UnitOfWork,
) -> None:
    w = await world(uow)
    need = await file(uow, w, NeedCategory.ELDERLY_CARE)
    with pytest.raises(PermissionDenied):
        await needs.assign(
            uow, RecordingNotifier(), w.worker, need_id=need, person_id=w.people["other_street"]
        )
    brief = await needs.assign(
        uow, RecordingNotifier(), w.worker, need_id=need, person_id=w.people["street"], now=NOW
    )
    assert brief.state is NeedState.ASSIGNED


async def test_an_auto_offered_need_goes_to_exactly_one_of_two_accepting_at_once(
    uow: UnitOfWork,
) -> None:
    w = await world(uow)
    need = await file(uow, w, NeedCategory.ELDERLY_CARE, "陪老人散步")
    notifier = RecordingNotifier()
    asked = await matching.auto_offer(
        uow,
        notifier,
        need_id=need,
        categories=frozenset({NeedCategory.ELDERLY_CARE}),
        weights=WEIGHTS,
        tz=TZ,
        now=NOW,
    )
    assert asked == 3 and {n.message for n in notifier.sent} == {"need.offered"}
    offered = [n.person_id for n in notifier.sent]
    sessions = uow._session_factory
    results = await asyncio.gather(
        *(
            needs.take_offer(
                UnitOfWork(sessions), RecordingNotifier(), Principal(p, "zh"), need_id=need, now=NOW
            )
            for p in offered[:2]
        ),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1
    assert isinstance(lost[0], Conflict) and lost[0].reason == "offer_taken"
    async with uow:
        row = await uow.needs.get(need)
        assert row is not None and row.state is NeedState.ASSIGNED
        assert row.assignee_person_id in offered[:2]
    with pytest.raises(Conflict, match="offer_taken"):
        await needs.take_offer(
            uow, RecordingNotifier(), Principal(offered[2], "zh"), need_id=need, now=NOW
        )
    # Not offered to you: nothing to take.
    with pytest.raises(Exception, match="offer"):
        await needs.take_offer(
            uow,
            RecordingNotifier(),
            Principal(w.people["other_street"], "zh"),
            need_id=need,
            now=NOW,
        )


async def test_a_need_outside_the_auto_offer_categories_is_not_offered(uow: UnitOfWork) -> None:
    w = await world(uow)
    need = await file(uow, w, NeedCategory.PSYCHOLOGICAL)
    notifier = RecordingNotifier()
    asked = await matching.auto_offer(
        uow,
        notifier,
        need_id=need,
        categories=frozenset({NeedCategory.COMMUNITY_AFFAIRS}),
        weights=WEIGHTS,
        tz=TZ,
        now=NOW,
    )
    assert asked == 0 and notifier.sent == []


async def test_a_volunteer_offers_help_near_them_and_the_worker_is_told(uow: UnitOfWork) -> None:
    w = await world(uow)
    need = await file(uow, w, NeedCategory.ELDERLY_CARE)
    me = Principal(w.people["skilled"], "zh")
    listing = await matching.needs_near_me(uow, me)
    assert [(n.id, n.fits, n.offered) for n in listing.items] == [(need, True, False)]
    far = Principal(w.people["other_street"], "zh")
    assert (await matching.needs_near_me(uow, far)).items == ()
    notifier = RecordingNotifier()
    await matching.offer_help(uow, notifier, me, need_id=need)
    assert [(n.person_id, n.message) for n in notifier.sent] == [
        (w.worker.person_id, "need.help_offered")
    ]
    with pytest.raises(Conflict, match="already_offered"):
        await matching.offer_help(uow, notifier, me, need_id=need)
    assert (await matching.needs_near_me(uow, me)).items[0].offered


async def profiles(uow: UnitOfWork) -> set[tuple[object, ...]]:
    from storage.models import MatchProfile

    async with uow:
        rows = (await uow.session.scalars(select(MatchProfile))).all()
        return {
            (
                r.street_id,
                r.person_id,
                r.skills_mask,
                r.availability_mask,
                r.served_mask,
                r.open_load,
                r.confirmed,
                r.failed,
                r.rating,
            )
            for r in rows
        }


async def test_profiles_kept_by_the_services_equal_a_full_rebuild(uow: UnitOfWork) -> None:
    w = await world(uow)
    first = await file(uow, w, NeedCategory.ELDERLY_CARE, "一")
    second = await file(uow, w, NeedCategory.OTHER, "二")
    await needs.assign(
        uow, RecordingNotifier(), w.worker, need_id=first, person_id=w.people["free"], now=NOW
    )
    await needs.assign(
        uow, RecordingNotifier(), w.worker, need_id=second, person_id=w.people["street"], now=NOW
    )
    # Reassigned: the first volunteer's load goes back down.
    await needs.assign(
        uow, RecordingNotifier(), w.worker, need_id=first, person_id=w.people["skilled"], now=NOW
    )
    kept = await profiles(uow)
    loads = {person: load for _, person, _, _, _, load, _, _, _ in kept}
    assert loads[w.people["free"]] == 0 and loads[w.people["skilled"]] == 1
    assert w.people["other_street"] in loads  # served on its own street
    rebuilt = await match_profiles.rebuild_all(uow)
    assert rebuilt == len(kept) and await profiles(uow) == kept


async def test_a_street_without_volunteers_has_no_candidates_and_says_why(uow: UnitOfWork) -> None:
    """A fresh install: no volunteer profile anywhere. Suggestions and the auto-offer run
    (they used to raise KeyError: 'availability') and the worker is told why."""
    w = await make_map(uow)
    worker_id = await make_person(
        uow, "韩主任", grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    )
    resident_id = await make_person(uow, "居民", community=w.community_a1)
    resident = Principal(resident_id, "zh", home=Place(w.community_a1, w.street_a, w.district))
    bare = World(w, worker_of(w.community_a1, worker_id), resident, {})
    need = await file(uow, bare, NeedCategory.COMMUNITY_AFFAIRS)
    found = await matching.suggest(uow, bare.worker, need_id=need, weights=WEIGHTS, tz=TZ, now=NOW)
    assert found.volunteers == () and found.volunteer_gap == "none_in_scope"
    asked = await matching.auto_offer(
        uow,
        RecordingNotifier(),
        need_id=need,
        categories=frozenset({NeedCategory.COMMUNITY_AFFAIRS}),
        weights=WEIGHTS,
        tz=TZ,
        now=NOW,
    )
    assert asked == 0
    assert (await matching.rank_needs(uow, need_ids=None, weights=WEIGHTS, tz=TZ, now=NOW)) == {
        need: []
    }


async def test_the_gap_names_busy_volunteers_and_missing_skills(uow: UnitOfWork) -> None:
    w = await world(uow)
    # Nobody of the street has a skill for social assistance: suggested anyway, and said so.
    need = await file(uow, w, NeedCategory.SOCIAL_ASSISTANCE)
    found = await matching.suggest(uow, w.worker, need_id=need, weights=WEIGHTS, tz=TZ, now=NOW)
    assert found.volunteers and found.volunteer_gap == "none_with_skill"
    # Everyone at the load limit: nobody, because all are busy.
    full = replace(WEIGHTS, max_load=0)
    found = await matching.suggest(uow, w.worker, need_id=need, weights=full, tz=TZ, now=NOW)
    assert found.volunteers == () and found.volunteer_gap == "all_busy"
