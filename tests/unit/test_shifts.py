"""Shifts: capacity and wait list (also under a race), cancellation deadline, reminders."""

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, PermissionDenied
from bot.domain.principal import Grant, Place, Principal
from bot.domain.volunteers import SignupStatus, Skill, check_character, parse_time_range, slot_of
from bot.services import shifts, volunteers
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import RecordingNotifier
from storage.uow import UnitOfWork
from tests.support.factories import Map, make_map, make_person

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
START = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 09:00 in Chongqing, a Saturday
CIPHER = PersonalDataCipher(b"test")


def test_time_ranges_are_read_and_checked() -> None:
    assert parse_time_range("2026-12-05 09:00-11:30") == (date(2026, 12, 5), (9, 0), (11, 30))
    assert parse_time_range("2026-12-05 9:00 至 11:30")[2] == (11, 30)
    for bad in ("tomorrow", "2026-02-30 09:00-10:00", "2026-12-05 11:00-09:00"):
        with pytest.raises(InvalidInput):
            parse_time_range(bad)


def test_a_shift_start_falls_in_an_availability_slot() -> None:
    assert slot_of(5, 9) == "sat_am" and slot_of(0, 14) == "mon_pm" and slot_of(6, 19) == "sun_eve"


def worker(world: Map, person: int) -> Principal:
    return Principal(
        person,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )


async def volunteer(uow: UnitOfWork, world: Map, n: int, verify: bool = True) -> Principal:
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
    if verify:
        w = await make_person(uow, f"认证人{n}")
        await volunteers.verify(
            uow, RecordingNotifier(), worker(world, w), volunteer_id=view.id, approve=True
        )
    return principal


async def make_shift(uow: UnitOfWork, world: Map, capacity: int = 1) -> shifts.ShiftView:
    w = await make_person(uow, "发布人")
    return await shifts.create_shift(
        uow,
        worker(world, w),
        community_id=world.community_a1,
        title="助餐送餐",
        place="社区食堂",
        starts_at=START,
        ends_at=START + timedelta(hours=2),
        capacity=capacity,
        skills=[Skill.COOKING],
        now=NOW,
    )


async def test_only_workers_in_scope_post_shifts(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    w = await make_person(uow, "外人")
    outsider = Principal(
        w, "zh", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_b1),)
    )
    with pytest.raises(PermissionDenied):
        await shifts.create_shift(
            uow,
            outsider,
            community_id=world.community_a1,
            title="x",
            place="y",
            starts_at=START,
            ends_at=START + timedelta(hours=1),
            capacity=1,
            now=NOW,
        )


async def test_a_full_shift_puts_people_on_the_wait_list_and_a_cancel_moves_them_up(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    shift = await make_shift(uow, world, capacity=1)
    first, second = await volunteer(uow, world, 1), await volunteer(uow, world, 2)
    assert (await shifts.sign_up(uow, first, shift_id=shift.id, now=NOW)).my_status is (
        SignupStatus.CONFIRMED
    )
    waiting = await shifts.sign_up(uow, second, shift_id=shift.id, now=NOW)
    assert waiting.my_status is SignupStatus.WAITLISTED and waiting.waitlisted == 1
    with pytest.raises(Conflict):
        await shifts.sign_up(uow, second, shift_id=shift.id, now=NOW)
    notifier = RecordingNotifier()
    after = await shifts.cancel(uow, notifier, first, shift_id=shift.id, now=NOW)
    assert (after.confirmed, after.waitlisted) == (1, 0)
    assert [(n.person_id, n.message) for n in notifier.sent] == [
        (second.person_id, "shift.promoted")
    ]
    mine = await shifts.my_shifts(uow, second, now=NOW)
    assert [v.my_status for v in mine] == [SignupStatus.CONFIRMED]


async def test_two_volunteers_taking_the_last_place_at_once_get_one_place(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    shift = await make_shift(uow, world, capacity=1)
    a, b = await volunteer(uow, world, 1), await volunteer(uow, world, 2)
    sessions = uow._session_factory
    views = await asyncio.gather(
        shifts.sign_up(UnitOfWork(sessions), a, shift_id=shift.id, now=NOW),
        shifts.sign_up(UnitOfWork(sessions), b, shift_id=shift.id, now=NOW),
    )
    assert sorted(v.my_status for v in views) == [SignupStatus.CONFIRMED, SignupStatus.WAITLISTED]


async def test_unverified_volunteers_cannot_sign_up(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    shift = await make_shift(uow, world)
    pending = await volunteer(uow, world, 3, verify=False)
    with pytest.raises(Conflict):
        await shifts.sign_up(uow, pending, shift_id=shift.id, now=NOW)


async def test_cancelling_after_the_deadline_is_refused(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    shift = await make_shift(uow, world)
    v = await volunteer(uow, world, 1)
    await shifts.sign_up(uow, v, shift_id=shift.id, now=NOW)
    with pytest.raises(Conflict):
        await shifts.cancel(
            uow, RecordingNotifier(), v, shift_id=shift.id, now=START - timedelta(hours=2)
        )


async def test_reminders_come_the_day_before_and_an_hour_before_once_each(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    shift = await make_shift(uow, world)
    v = await volunteer(uow, world, 1)
    await shifts.sign_up(uow, v, shift_id=shift.id, now=NOW)
    notifier = RecordingNotifier()
    assert await shifts.send_reminders(uow, notifier, now=START - timedelta(hours=30)) == 0
    assert await shifts.send_reminders(uow, notifier, now=START - timedelta(hours=20)) == 1
    assert await shifts.send_reminders(uow, notifier, now=START - timedelta(hours=19)) == 0
    assert await shifts.send_reminders(uow, notifier, now=START - timedelta(minutes=50)) == 1
    assert await shifts.send_reminders(uow, notifier, now=START - timedelta(minutes=10)) == 0
    assert [n.message for n in notifier.sent] == ["shift.reminder", "shift.reminder"]


async def test_open_shifts_mark_what_fits_the_volunteer(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    await make_shift(uow, world)
    v = await volunteer(uow, world, 1)
    from zoneinfo import ZoneInfo

    listing = await shifts.open_shifts(uow, v, tz=ZoneInfo("Asia/Shanghai"), now=NOW)
    assert [(s.title, s.fits) for s in listing.items] == [("助餐送餐", True)]
