"""Points rewards (redeem, stock, hand-over) and spot checks of confirmed service records
(a seeded, repeatable draw; a failed record reversed in the time bank and in points) — against
the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.domain.attendance import RecordStatus, SpotResult, draw_sample
from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.points import HANDOVER_CODE_ALPHABET, HANDOVER_CODE_LENGTH, RedemptionStatus
from bot.domain.principal import Grant, Place, Principal
from bot.domain.timebank import TransactionKind, hours_text, volunteer_account
from bot.domain.volunteers import Skill, check_character
from bot.services import attendance, rewards, shifts, spotchecks, timebank, volunteers
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import Notice, RecordingNotifier
from storage.models import LedgerEntry, Redemption, Reward
from storage.uow import UnitOfWork
from tests.support.factories import Map, make_map, make_person

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
START = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 09:00 in Chongqing, a Saturday
END = START + timedelta(hours=3)
CONFIRMED_AT = END + timedelta(hours=1)
LATER = END + timedelta(days=2)
SHIFT_DAY = date(2026, 12, 5)
HERE = (29.5, 106.5)
TZ = ZoneInfo("Asia/Shanghai")
CIPHER = PersonalDataCipher(b"test")
PER_HOUR = 10


def worker(world: Map, person: int, community: int | None = None) -> Principal:
    grant = Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, community or world.community_a1)
    return Principal(person, "zh", grants=(grant,))


@dataclass
class Scene:
    world: Map
    worker: Principal
    shift_id: int
    notifier: RecordingNotifier


async def volunteer(uow: UnitOfWork, s: Scene, n: int) -> Principal:
    """A verified volunteer living in community A1."""
    world = s.world
    person = await make_person(uow, f"志愿者{n}", community=world.community_a1)
    principal = Principal(
        person, "zh", home=Place(world.community_a1, world.street_a, world.district)
    )
    first17 = f"500106198506{n:02d}123"[:17]
    view = await volunteers.register(
        uow,
        CIPHER,
        RecordingNotifier(),
        principal,
        real_name=f"志愿者{n}",
        id_number=first17 + check_character(first17),
        phone="13800138000",
        skills=[Skill.COOKING],
        tags=[],
        availability=["sat_am"],
        community_ids=[],
    )
    await volunteers.verify(uow, RecordingNotifier(), s.worker, volunteer_id=view.id, approve=True)
    return principal


async def make_shift(uow: UnitOfWork, s: Scene, starts_at: datetime) -> int:
    shift = await shifts.create_shift(
        uow,
        s.worker,
        community_id=s.world.community_a1,
        title="助餐送餐",
        place="社区食堂",
        starts_at=starts_at,
        ends_at=starts_at + (END - START),
        capacity=10,
        skills=[Skill.COOKING],
        latitude=HERE[0],
        longitude=HERE[1],
        now=NOW,
    )
    return shift.id


async def scene(uow: UnitOfWork) -> Scene:
    world = await make_map(uow)
    s = Scene(world, worker(world, await make_person(uow, "李社工")), 0, RecordingNotifier())
    s.shift_id = await make_shift(uow, s, START)
    return s


async def serve(
    uow: UnitOfWork,
    s: Scene,
    who: Principal,
    minutes: int,
    *,
    shift_id: int | None = None,
    starts_at: datetime = START,
    confirm: bool = True,
) -> int:
    """Sign up, check in before the start, out after `minutes`, confirmed: the record id."""
    shift_id = shift_id or s.shift_id
    await shifts.sign_up(uow, who, shift_id=shift_id, now=NOW)
    checked = await attendance.check_by_location(
        uow,
        who,
        shift_id=shift_id,
        latitude=HERE[0],
        longitude=HERE[1],
        check_out=False,
        now=starts_at - timedelta(minutes=10),
    )
    await attendance.check_by_location(
        uow,
        who,
        shift_id=shift_id,
        latitude=HERE[0],
        longitude=HERE[1],
        check_out=True,
        now=starts_at + timedelta(minutes=minutes),
    )
    if confirm:
        view = await attendance.confirm(
            uow,
            RecordingNotifier(),
            s.worker,
            record_id=checked.record.id,
            points_per_hour=PER_HOUR,
            now=starts_at + (END - START) + timedelta(hours=1),
        )
        assert view.status is RecordStatus.CONFIRMED and view.minutes == minutes
    return checked.record.id


async def points_of(uow: UnitOfWork, person_id: int) -> int:
    async with uow:
        return await uow.points.balance(person_id)


async def hours_of(uow: UnitOfWork, person_id: int) -> int:
    async with uow:
        return await uow.ledger.balance(volunteer_account(person_id))


async def stock_of(uow: UnitOfWork, reward_id: int) -> int:
    async with uow:
        reward = await uow.rewards.get(reward_id)
        assert reward is not None
        return reward.stock


async def count(uow: UnitOfWork, model: type) -> int:
    async with uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def outsider(uow: UnitOfWork, world: Map, community: int, name: str = "外人") -> Principal:
    return worker(world, await make_person(uow, name), community)


# ---------------------------------------------------------------- the setup itself


async def test_a_confirmed_record_credits_minutes_and_points(uow: UnitOfWork) -> None:
    s = await scene(uow)
    v = await volunteer(uow, s, 1)
    await serve(uow, s, v, 120)
    assert await hours_of(uow, v.person_id) == 120
    assert await points_of(uow, v.person_id) == 20


# ---------------------------------------------------------------- rewards


async def add_reward(uow: UnitOfWork, s: Scene, points: int, stock: int) -> rewards.RewardView:
    return await rewards.add_reward(
        uow,
        s.worker,
        community_id=s.world.community_a1,
        title="  爱心  大米 ",
        provider="社区超市",
        points=points,
        stock=stock,
    )


async def test_workers_stock_rewards_in_their_own_community_only(uow: UnitOfWork) -> None:
    s = await scene(uow)
    reward = await add_reward(uow, s, points=15, stock=3)
    assert (reward.title, reward.provider, reward.points, reward.stock) == (
        "爱心 大米",
        "社区超市",
        15,
        3,
    )
    for community in (s.world.community_b1, s.world.community_a2):  # other street; same street
        other = await outsider(uow, s.world, community)
        with pytest.raises(PermissionDenied):
            await rewards.add_reward(
                uow,
                other,
                community_id=s.world.community_a1,
                title="大米",
                provider="超市",
                points=5,
                stock=1,
            )
    assert await count(uow, Reward) == 1
    v = await volunteer(uow, s, 1)
    listing, balance = await rewards.catalogue(uow, v)
    assert [r.id for r in listing.items] == [reward.id] and balance == 0


async def test_too_few_points_is_refused_and_changes_nothing(uow: UnitOfWork) -> None:
    s = await scene(uow)
    v = await volunteer(uow, s, 1)
    await serve(uow, s, v, 120)  # 20 points
    reward = await add_reward(uow, s, points=50, stock=3)
    with pytest.raises(Conflict) as refused:
        await rewards.redeem(uow, v, reward_id=reward.id, now=LATER)
    assert refused.value.reason == "not_enough_points"
    assert await stock_of(uow, reward.id) == 3
    assert await points_of(uow, v.person_id) == 20
    assert await count(uow, Redemption) == 0
    assert await rewards.my_redemptions(uow, v) == ()


async def test_redeeming_reserves_one_and_spends_the_points(uow: UnitOfWork) -> None:
    s = await scene(uow)
    v = await volunteer(uow, s, 1)
    await serve(uow, s, v, 120)  # 20 points
    reward = await add_reward(uow, s, points=15, stock=2)
    got = await rewards.redeem(uow, v, reward_id=reward.id, now=LATER)
    assert got.status is RedemptionStatus.RESERVED
    assert (got.points, got.balance, got.title) == (15, 5, "爱心 大米")
    assert len(got.code) == HANDOVER_CODE_LENGTH and set(got.code) <= set(HANDOVER_CODE_ALPHABET)
    assert await stock_of(uow, reward.id) == 1
    assert await points_of(uow, v.person_id) == 5
    assert [r.code for r in await rewards.my_redemptions(uow, v)] == [got.code]
    # Points are not hours: the time bank is untouched.
    assert await hours_of(uow, v.person_id) == 120


async def test_the_last_one_goes_once_then_out_of_stock(uow: UnitOfWork) -> None:
    s = await scene(uow)
    v = await volunteer(uow, s, 1)
    await serve(uow, s, v, 120)  # 20 points: enough for four
    reward = await add_reward(uow, s, points=5, stock=1)
    await rewards.redeem(uow, v, reward_id=reward.id, now=LATER)
    with pytest.raises(Conflict) as refused:
        await rewards.redeem(uow, v, reward_id=reward.id, now=LATER)
    assert refused.value.reason == "out_of_stock"
    assert await stock_of(uow, reward.id) == 0
    assert await points_of(uow, v.person_id) == 15
    assert await count(uow, Redemption) == 1


async def test_volunteers_redeem_only_in_their_communities(uow: UnitOfWork) -> None:
    s = await scene(uow)
    v = await volunteer(uow, s, 1)
    await serve(uow, s, v, 120)
    elsewhere = await rewards.add_reward(
        uow,
        await outsider(uow, s.world, s.world.community_b1),
        community_id=s.world.community_b1,
        title="乡村土鸡蛋",
        provider="村委会",
        points=5,
        stock=5,
    )
    with pytest.raises(PermissionDenied):
        await rewards.redeem(uow, v, reward_id=elsewhere.id, now=LATER)
    assert await stock_of(uow, elsewhere.id) == 5
    assert await points_of(uow, v.person_id) == 20


async def test_the_provider_hands_over_once_against_the_code(uow: UnitOfWork) -> None:
    s = await scene(uow)
    v = await volunteer(uow, s, 1)
    await serve(uow, s, v, 120)
    reward = await add_reward(uow, s, points=15, stock=2)
    got = await rewards.redeem(uow, v, reward_id=reward.id, now=LATER)
    notifier = RecordingNotifier()

    # A worker of another community may not hand it over, and trying changes nothing.
    for community in (s.world.community_b1, s.world.community_a2):
        other = await outsider(uow, s.world, community)
        with pytest.raises(PermissionDenied):
            await rewards.hand_over(uow, notifier, other, code=got.code, now=LATER)
    assert notifier.sent == []
    assert [r.status for r in await rewards.my_redemptions(uow, v)] == [RedemptionStatus.RESERVED]

    # An unknown code.
    unknown = "A" * HANDOVER_CODE_LENGTH if got.code != "A" * HANDOVER_CODE_LENGTH else "B" * 8
    with pytest.raises(InvalidInput):
        await rewards.hand_over(uow, notifier, s.worker, code=unknown, now=LATER)

    # The code is read as people type it: lower case, spaces.
    typed = f" {got.code[:4].lower()} {got.code[4:].lower()} "
    handed = await rewards.hand_over(uow, notifier, s.worker, code=typed, now=LATER)
    assert handed.status is RedemptionStatus.HANDED_OVER and handed.code == got.code
    assert handed.balance == 5  # handing over spends nothing more
    assert await points_of(uow, v.person_id) == 5
    assert await stock_of(uow, reward.id) == 1
    assert notifier.sent == [Notice(v.person_id, "reward.handed_over", {"title": "爱心 大米"})]
    async with uow:
        row = await uow.rewards.redemption_by_code(got.code)
        assert row is not None
        assert row.status is RedemptionStatus.HANDED_OVER
        assert row.handed_over_by == s.worker.person_id and row.handed_over_at == LATER
    assert await rewards.my_redemptions(uow, v) == ()  # only reserved ones are listed

    with pytest.raises(Conflict) as twice:
        await rewards.hand_over(uow, notifier, s.worker, code=got.code, now=LATER)
    assert twice.value.reason == "already_handed_over"
    assert len(notifier.sent) == 1


# ---------------------------------------------------------------- spot checks


@dataclass
class Served:
    person_id: int
    record_id: int
    minutes: int


async def test_a_reservation_cancelled_before_the_hand_over_gives_everything_back(
    uow: UnitOfWork,
) -> None:
    s = await scene(uow)
    v = await volunteer(uow, s, 1)
    await serve(uow, s, v, 120)
    reward = await add_reward(uow, s, points=15, stock=1)
    got = await rewards.redeem(uow, v, reward_id=reward.id, now=LATER)
    assert (await points_of(uow, v.person_id), await stock_of(uow, reward.id)) == (5, 0)
    other = await volunteer(uow, s, 2)
    with pytest.raises(NotFound):  # someone else's reservation
        await rewards.cancel_redemption(uow, other, redemption_id=got.id, now=LATER)
    back = await rewards.cancel_redemption(uow, v, redemption_id=got.id, now=LATER)
    assert back.status is RedemptionStatus.CANCELLED and back.balance == 20
    assert (await points_of(uow, v.person_id), await stock_of(uow, reward.id)) == (20, 1)
    assert await rewards.my_redemptions(uow, v) == ()
    with pytest.raises(Conflict, match="already_handed_over"):
        await rewards.cancel_redemption(uow, v, redemption_id=got.id, now=LATER)
    with pytest.raises(Conflict, match="redemption_cancelled"):
        await rewards.hand_over(uow, RecordingNotifier(), s.worker, code=got.code, now=LATER)


async def several(uow: UnitOfWork, s: Scene) -> list[Served]:
    """Five confirmed records on the shift day, plus what must stay out of the draw:
    a record only checked out (not confirmed) and a confirmed record a week later."""
    done = []
    for n, minutes in enumerate((60, 75, 90, 105, 120), start=1):
        v = await volunteer(uow, s, n)
        done.append(Served(v.person_id, await serve(uow, s, v, minutes), minutes))
    unconfirmed = await volunteer(uow, s, 6)
    await serve(uow, s, unconfirmed, 100, confirm=False)
    week_later = START + timedelta(days=7)
    later_shift = await make_shift(uow, s, week_later)
    await serve(uow, s, unconfirmed, 100, shift_id=later_shift, starts_at=week_later)
    return done


async def draw(
    uow: UnitOfWork, s: Scene, seed: int, size: int = 3, principal: Principal | None = None
) -> spotchecks.SpotCheckView:
    return await spotchecks.draw(
        uow,
        principal or s.worker,
        community_id=s.world.community_a1,
        period_start=SHIFT_DAY,
        period_end=SHIFT_DAY,
        size=size,
        tz=TZ,
        seed=seed,
    )


async def test_the_draw_is_seeded_and_can_be_repeated(uow: UnitOfWork) -> None:
    s = await scene(uow)
    done = await several(uow, s)
    population = [d.record_id for d in done]
    spot = await draw(uow, s, 1234)
    expected = draw_sample(population, 1234, 3)
    assert [i.record_id for i in spot.items] == expected
    assert (spot.seed, spot.population, spot.community_id) == (1234, 5, s.world.community_a1)
    assert (spot.period_start, spot.period_end) == (SHIFT_DAY, SHIFT_DAY)
    assert all(i.result is SpotResult.PENDING for i in spot.items)
    by_record = {d.record_id: d for d in done}
    assert [i.minutes for i in spot.items] == [by_record[r].minutes for r in expected]
    assert all(i.day == SHIFT_DAY for i in spot.items)
    async with uow:
        stored = await uow.spot_checks.get(spot.id)
        assert stored is not None and stored.seed == 1234 and stored.population == 5

    again = await draw(uow, s, 1234)
    assert again.id != spot.id
    assert [i.record_id for i in again.items] == expected
    shown = await spotchecks.get(uow, s.worker, spot_check_id=spot.id, tz=TZ)
    assert [i.record_id for i in shown.items] == expected

    # A sample larger than the population takes every confirmed record of the period.
    everything = await draw(uow, s, 99, size=50)
    assert [i.record_id for i in everything.items] == sorted(population)


async def test_a_period_with_nothing_confirmed_has_nothing_to_check(uow: UnitOfWork) -> None:
    s = await scene(uow)
    v = await volunteer(uow, s, 1)
    await serve(uow, s, v, 90, confirm=False)  # checked out, but not confirmed
    with pytest.raises(Conflict) as refused:
        await draw(uow, s, 1)
    assert refused.value.reason == "nothing_to_check"
    with pytest.raises(Conflict) as empty:
        await spotchecks.draw(
            uow,
            s.worker,
            community_id=s.world.community_a1,
            period_start=date(2026, 11, 1),
            period_end=date(2026, 11, 30),
            size=5,
            tz=TZ,
            seed=1,
        )
    assert empty.value.reason == "nothing_to_check"


async def test_a_failed_record_is_reversed_and_the_volunteer_told(uow: UnitOfWork) -> None:
    s = await scene(uow)
    done = await several(uow, s)
    spot = await draw(uow, s, 1234, size=3)
    failing, passing = spot.items[0], spot.items[1]
    by_record = {d.record_id: d for d in done}
    failed, passed = by_record[failing.record_id], by_record[passing.record_id]
    assert await hours_of(uow, failed.person_id) == failed.minutes
    assert await points_of(uow, failed.person_id) == failed.minutes * PER_HOUR // 60 > 0
    notifier = RecordingNotifier()
    at = LATER

    for blank in ("", "   "):
        with pytest.raises(InvalidInput):
            await spotchecks.mark(
                uow, notifier, s.worker, item_id=failing.id, passed=False, note=blank, tz=TZ, now=at
            )
    assert await hours_of(uow, failed.person_id) == failed.minutes

    view = await spotchecks.mark(
        uow,
        notifier,
        s.worker,
        item_id=failing.id,
        passed=False,
        note="  现场照片 与签到不符 ",
        tz=TZ,
        now=at,
    )
    marked = {i.id: i for i in view.items}
    assert marked[failing.id].result is SpotResult.FAILED
    assert marked[failing.id].note == "现场照片 与签到不符"
    assert marked[passing.id].result is SpotResult.PENDING
    async with uow:
        record = await uow.records.get(failed.record_id)
        assert record is not None
        assert record.status is RecordStatus.FAILED and record.credit_tx is None
    assert await hours_of(uow, failed.person_id) == 0
    assert await points_of(uow, failed.person_id) == 0
    assert notifier.sent == [
        Notice(
            failed.person_id,
            "record.failed_check",
            {
                "title": "助餐送餐",
                "day": SHIFT_DAY.isoformat(),
                "hours": hours_text(failed.minutes),
                "note": "现场照片 与签到不符",
            },
        )
    ]
    summary = await timebank.summary(
        uow, Principal(failed.person_id, "zh"), tz=TZ, now=at + timedelta(minutes=1)
    )
    assert (summary.confirmed_minutes, summary.balance_minutes, summary.points) == (0, 0, 0)
    assert [line.kind for line in summary.lines] == [
        TransactionKind.REVERSAL,
        TransactionKind.SERVICE_CREDIT,
    ]

    with pytest.raises(Conflict) as twice:
        await spotchecks.mark(
            uow, notifier, s.worker, item_id=failing.id, passed=True, tz=TZ, now=at
        )
    assert twice.value.reason == "already_marked"
    assert await hours_of(uow, failed.person_id) == 0
    assert len(notifier.sent) == 1

    # Passing changes no balance and tells nobody.
    view = await spotchecks.mark(
        uow, notifier, s.worker, item_id=passing.id, passed=True, tz=TZ, now=at
    )
    assert {i.id: i.result for i in view.items}[passing.id] is SpotResult.PASSED
    assert await hours_of(uow, passed.person_id) == passed.minutes
    assert await points_of(uow, passed.person_id) == passed.minutes * PER_HOUR // 60
    async with uow:
        record = await uow.records.get(passed.record_id)
        assert record is not None and record.status is RecordStatus.CONFIRMED
    assert len(notifier.sent) == 1

    # Nobody else's balance moved.
    for d in done:
        if d.record_id != failed.record_id:
            assert await hours_of(uow, d.person_id) == d.minutes

    # A failed record is out of the next draw's population.
    again = await draw(uow, s, 1234, size=50)
    assert again.population == 4
    assert failed.record_id not in [i.record_id for i in again.items]


async def test_the_stored_journal_replays_to_the_stored_balances(uow: UnitOfWork) -> None:
    s = await scene(uow)
    done = await several(uow, s)
    spot = await draw(uow, s, 1234, size=2)
    repeat = await draw(uow, s, 1234, size=2)  # the same records, in a second spot check
    assert [i.record_id for i in repeat.items] == [i.record_id for i in spot.items]
    failed = next(d for d in done if d.record_id == spot.items[0].record_id)
    notifier = RecordingNotifier()
    await spotchecks.mark(
        uow,
        notifier,
        s.worker,
        item_id=spot.items[0].id,
        passed=False,
        note="不符",
        tz=TZ,
        now=LATER,
    )
    await spotchecks.mark(
        uow, notifier, s.worker, item_id=spot.items[1].id, passed=True, tz=TZ, now=LATER
    )
    # Failing the same record again in the other spot check reverses nothing twice.
    await spotchecks.mark(
        uow,
        notifier,
        s.worker,
        item_id=repeat.items[0].id,
        passed=False,
        note="再次不符",
        tz=TZ,
        now=LATER + timedelta(hours=1),
    )
    assert await hours_of(uow, failed.person_id) == 0
    assert await points_of(uow, failed.person_id) == 0
    assert [n.message for n in notifier.sent] == ["record.failed_check"]
    ledger = await timebank.audit_journal(uow)
    # Six credits (five on the day, one a week later) and one reversal.
    kinds = sorted(tx.kind for tx in ledger.transactions())
    assert kinds.count(TransactionKind.SERVICE_CREDIT) == 6
    assert kinds.count(TransactionKind.REVERSAL) == 1
    assert ledger.accounts()
    async with uow:
        for account in ledger.accounts():
            assert ledger.balance(account) == await uow.ledger.balance(account), account
        total = await uow.session.scalar(select(func.coalesce(func.sum(LedgerEntry.minutes), 0)))
        assert total == 0
    assert ledger.balance(volunteer_account(failed.person_id)) == 0


async def test_workers_of_other_communities_cannot_draw_or_mark(uow: UnitOfWork) -> None:
    s = await scene(uow)
    await several(uow, s)
    notifier = RecordingNotifier()
    for community in (s.world.community_b1, s.world.community_a2):
        other = await outsider(uow, s.world, community)
        with pytest.raises(PermissionDenied):
            await draw(uow, s, 1234, principal=other)
    spot = await draw(uow, s, 1234)
    item = spot.items[0]
    record = item.record_id
    async with uow:
        row = await uow.records.get(record)
        assert row is not None
        person, minutes = row.person_id, row.minutes
    other = await outsider(uow, s.world, s.world.community_b1, "乙社工")
    with pytest.raises(PermissionDenied):
        await spotchecks.mark(
            uow, notifier, other, item_id=item.id, passed=False, note="不符", tz=TZ, now=LATER
        )
    with pytest.raises(PermissionDenied):
        await spotchecks.get(uow, other, spot_check_id=spot.id, tz=TZ)
    assert await hours_of(uow, person) == minutes
    assert notifier.sent == []
    shown = await spotchecks.get(uow, s.worker, spot_check_id=spot.id, tz=TZ)
    assert shown.items[0].result is SpotResult.PENDING


async def test_the_period_is_in_local_days(uow: UnitOfWork) -> None:
    s = await scene(uow)
    v = await volunteer(uow, s, 1)
    late_evening = datetime(2026, 12, 5, 15, 30, tzinfo=UTC)  # 23:30 on the 5th in Chongqing
    past_midnight = datetime(2026, 12, 5, 16, 40, tzinfo=UTC)  # 00:40 on the 6th in Chongqing
    first = await serve(
        uow, s, v, 60, shift_id=await make_shift(uow, s, late_evening), starts_at=late_evening
    )
    second = await serve(
        uow, s, v, 60, shift_id=await make_shift(uow, s, past_midnight), starts_at=past_midnight
    )
    for day, record in ((SHIFT_DAY, first), (SHIFT_DAY + timedelta(days=1), second)):
        spot = await spotchecks.draw(
            uow,
            s.worker,
            community_id=s.world.community_a1,
            period_start=day,
            period_end=day,
            size=5,
            tz=TZ,
            seed=7,
        )
        assert [(i.record_id, i.day) for i in spot.items] == [(record, day)]
        assert spot.population == 1


async def test_the_draw_refuses_a_bad_size_or_period(uow: UnitOfWork) -> None:
    s = await scene(uow)
    v = await volunteer(uow, s, 1)
    await serve(uow, s, v, 60)
    for size, start, end in (
        (0, SHIFT_DAY, SHIFT_DAY),
        (51, SHIFT_DAY, SHIFT_DAY),
        (5, SHIFT_DAY, SHIFT_DAY - timedelta(days=1)),
    ):
        with pytest.raises(InvalidInput):
            await spotchecks.draw(
                uow,
                s.worker,
                community_id=s.world.community_a1,
                period_start=start,
                period_end=end,
                size=size,
                tz=TZ,
                seed=1,
            )
    async with uow:
        assert await uow.spot_checks.get(1) is None


async def test_two_redemptions_at_once_spend_the_points_once(uow: UnitOfWork) -> None:
    s = await scene(uow)
    v = await volunteer(uow, s, 1)
    await serve(uow, s, v, 120)  # 20 points: enough for one
    reward = await add_reward(uow, s, points=15, stock=5)
    sessions = uow._session_factory
    results = await asyncio.gather(
        rewards.redeem(UnitOfWork(sessions), v, reward_id=reward.id, now=LATER),
        rewards.redeem(UnitOfWork(sessions), v, reward_id=reward.id, now=LATER),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1 and isinstance(refused[0], Conflict)
    assert refused[0].reason == "not_enough_points"
    assert await points_of(uow, v.person_id) == 5
    assert await stock_of(uow, reward.id) == 4
