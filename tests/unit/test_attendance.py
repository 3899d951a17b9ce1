"""Check-in/out, the organiser's confirmation, forgotten check-outs, corrections, the stored
time-bank journal and certificates — against the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from bot.domain.attendance import (
    SITE_CODE_PERIOD,
    RecordStatus,
    code_window,
)
from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.principal import Grant, Place, Principal
from bot.domain.timebank import TransactionKind, TransferKind, volunteer_account
from bot.domain.volunteers import Skill, check_character
from bot.services import attendance, certificates, shifts, timebank, volunteers
from bot.services.attendance import TooFar
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import RecordingNotifier
from storage.models import AuditEntry, LedgerEntry, ServiceRecord
from storage.uow import UnitOfWork
from tests.support.factories import Map, make_map, make_person

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
START = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 09:00 in Chongqing
END = START + timedelta(hours=3)
HERE = (29.5630, 106.4650)
TWO_KM_NORTH = (29.5630 + 0.018, 106.4650)
CIPHER = PersonalDataCipher(b"test")


@dataclass
class Scene:
    world: Map
    worker: Principal
    volunteer: Principal
    shift_id: int
    notifier: RecordingNotifier


def worker_in(community: int, person: int) -> Principal:
    grant = Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, community)
    return Principal(person, "zh", grants=(grant,))


async def scene(uow: UnitOfWork, *, located: bool = True) -> Scene:
    world = await make_map(uow)
    worker = worker_in(world.community_a1, await make_person(uow, "李社工"))
    person = await make_person(uow, "王芳", community=world.community_a1)
    volunteer = Principal(
        person, "zh", home=Place(world.community_a1, world.street_a, world.district)
    )
    first17 = "50010619850612123"
    view = await volunteers.register(
        uow,
        CIPHER,
        RecordingNotifier(),
        volunteer,
        real_name="王芳",
        id_number=first17 + check_character(first17),
        phone="13800138000",
        skills=[Skill.COOKING],
        tags=[],
        availability=[],
        community_ids=[],
    )
    await volunteers.verify(uow, RecordingNotifier(), worker, volunteer_id=view.id, approve=True)
    shift = await shifts.create_shift(
        uow,
        worker,
        community_id=world.community_a1,
        title="助餐送餐",
        place="社区食堂",
        starts_at=START,
        ends_at=END,
        capacity=5,
        latitude=HERE[0] if located else None,
        longitude=HERE[1] if located else None,
        now=NOW,
    )
    await shifts.sign_up(uow, volunteer, shift_id=shift.id, now=NOW)
    return Scene(world, worker, volunteer, shift.id, RecordingNotifier())


async def count(uow: UnitOfWork, model: type) -> int:
    async with uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


def code_at(shift_id: int, at: datetime) -> str:
    return attendance.site_code(CIPHER, shift_id, code_window(at))


async def test_check_in_by_location_then_out_by_code_counts_only_the_shift(
    uow: UnitOfWork,
) -> None:
    s = await scene(uow)
    arrive = START - timedelta(minutes=10)  # early: counts from the start
    done = await attendance.check_by_location(
        uow,
        s.volunteer,
        shift_id=s.shift_id,
        latitude=HERE[0],
        longitude=HERE[1],
        check_out=False,
        now=arrive,
    )
    assert not done.checked_out and done.record.status is RecordStatus.CHECKED_IN
    leave = START + timedelta(hours=2, minutes=30)
    done = await attendance.check_by_code(
        uow,
        CIPHER,
        s.volunteer,
        shift_id=s.shift_id,
        code=code_at(s.shift_id, leave).lower(),
        check_out=True,
        now=leave,
    )
    assert done.checked_out and done.record.minutes == 150
    assert done.record.status is RecordStatus.CHECKED_OUT
    # Nothing counts before the organiser confirms.
    summary = await timebank.summary(uow, s.volunteer, tz=UTC, now=leave)
    assert (summary.confirmed_minutes, summary.balance_minutes, summary.points) == (0, 0, 0)


async def test_refusals_are_clear_and_change_nothing(uow: UnitOfWork) -> None:
    s = await scene(uow)
    during = START + timedelta(minutes=5)

    async def by_location(point: tuple[float, float], at: datetime = during) -> object:
        return await attendance.check_by_location(
            uow,
            s.volunteer,
            shift_id=s.shift_id,
            latitude=point[0],
            longitude=point[1],
            check_out=False,
            now=at,
        )

    with pytest.raises(TooFar) as far:
        await by_location(TWO_KM_NORTH)
    assert 1900 < far.value.distance_m < 2100 and far.value.radius_m == 300
    with pytest.raises(Conflict, match="too_early"):
        await by_location(HERE, START - timedelta(minutes=31))
    with pytest.raises(Conflict, match="shift_over"):
        await by_location(HERE, END)
    expired = code_at(s.shift_id, during - 3 * SITE_CODE_PERIOD)
    with pytest.raises(Conflict, match="site_code_expired"):
        await attendance.check_by_code(
            uow,
            CIPHER,
            s.volunteer,
            shift_id=s.shift_id,
            code=expired,
            check_out=False,
            now=during,
        )
    with pytest.raises(InvalidInput):
        await attendance.check_by_code(
            uow,
            CIPHER,
            s.volunteer,
            shift_id=s.shift_id,
            code="ABCDEF",
            check_out=False,
            now=during,
        )
    assert await count(uow, ServiceRecord) == 0
    await by_location(HERE)
    audit_before = await count(uow, AuditEntry)
    with pytest.raises(Conflict, match="already_checked_in"):
        await by_location(HERE, during + timedelta(minutes=1))
    with pytest.raises(Conflict, match="already_checked_in"):  # a double scan of the QR code
        await attendance.check_by_code(
            uow,
            CIPHER,
            s.volunteer,
            shift_id=s.shift_id,
            code=code_at(s.shift_id, during),
            check_out=None,
            now=during + timedelta(minutes=1),
        )
    assert await count(uow, ServiceRecord) == 1
    assert await count(uow, AuditEntry) == audit_before


async def test_only_people_confirmed_for_the_shift_check_in(uow: UnitOfWork) -> None:
    s = await scene(uow)
    stranger = await make_person(uow, "路人", community=s.world.community_a1)
    with pytest.raises(Conflict, match="not_a_verified_volunteer"):
        await attendance.check_by_location(
            uow,
            Principal(stranger, "zh"),
            shift_id=s.shift_id,
            latitude=HERE[0],
            longitude=HERE[1],
            check_out=False,
            now=START,
        )


async def test_the_qr_link_checks_in_then_out(uow: UnitOfWork) -> None:
    s = await scene(uow, located=False)
    first = await attendance.check_by_code(
        uow,
        CIPHER,
        s.volunteer,
        shift_id=s.shift_id,
        code=code_at(s.shift_id, START),
        check_out=None,
        now=START,
    )
    later = START + timedelta(hours=1)
    second = await attendance.check_by_code(
        uow,
        CIPHER,
        s.volunteer,
        shift_id=s.shift_id,
        code=code_at(s.shift_id, later),
        check_out=None,
        now=later,
    )
    assert (first.checked_out, second.checked_out, second.record.minutes) == (False, True, 60)
    with pytest.raises(Conflict, match="no_location_for_shift"):
        await attendance.check_by_location(
            uow,
            s.volunteer,
            shift_id=s.shift_id,
            latitude=HERE[0],
            longitude=HERE[1],
            check_out=True,
            now=later,
        )


async def test_the_organiser_confirms_and_only_then_hours_and_points_count(
    uow: UnitOfWork,
) -> None:
    s = await scene(uow)
    await attendance.check_by_location(
        uow,
        s.volunteer,
        shift_id=s.shift_id,
        latitude=HERE[0],
        longitude=HERE[1],
        check_out=False,
        now=START,
    )
    await attendance.check_by_location(
        uow,
        s.volunteer,
        shift_id=s.shift_id,
        latitude=HERE[0],
        longitude=HERE[1],
        check_out=True,
        now=START + timedelta(hours=2),
    )
    page = await attendance.awaiting(uow, s.worker)
    assert [r.volunteer_name for r in page.items] == ["王芳"]
    other = worker_in(s.world.community_b1, await make_person(uow, "外社区"))
    assert (await attendance.awaiting(uow, other)).items == ()
    with pytest.raises(PermissionDenied):
        await attendance.confirm(
            uow, s.notifier, other, record_id=page.items[0].id, points_per_hour=10
        )
    view = await attendance.confirm(
        uow,
        s.notifier,
        s.worker,
        record_id=page.items[0].id,
        points_per_hour=10,
        now=END + timedelta(hours=1),
    )
    assert view.status is RecordStatus.CONFIRMED
    with pytest.raises(Conflict, match="record_not_awaiting"):
        await attendance.confirm(uow, s.notifier, s.worker, record_id=view.id, points_per_hour=10)
    summary = await timebank.summary(uow, s.volunteer, tz=UTC, now=END + timedelta(hours=2))
    assert summary.confirmed_minutes == summary.year_minutes == summary.balance_minutes == 120
    assert summary.points == 20
    assert [(line.kind, line.minutes) for line in summary.lines] == [
        (TransactionKind.SERVICE_CREDIT, 120)
    ]
    assert [n.message for n in s.notifier.sent] == ["record.confirmed"]


async def test_a_forgotten_check_out_is_closed_unconfirmed_and_the_organiser_adjusts(
    uow: UnitOfWork,
) -> None:
    s = await scene(uow)
    await attendance.check_by_location(
        uow,
        s.volunteer,
        shift_id=s.shift_id,
        latitude=HERE[0],
        longitude=HERE[1],
        check_out=False,
        now=START + timedelta(minutes=30),
    )
    notifier = RecordingNotifier()
    assert await attendance.close_forgotten(uow, notifier, now=END) == 0  # grace not over
    assert await attendance.close_forgotten(uow, notifier, now=END + timedelta(hours=1)) == 1
    assert await attendance.close_forgotten(uow, notifier, now=END + timedelta(hours=2)) == 0
    assert sorted(n.message for n in notifier.sent) == ["record.unconfirmed", "records.forgotten"]
    [record] = (await attendance.awaiting(uow, s.worker)).items
    assert record.status is RecordStatus.UNCONFIRMED and record.minutes == 150
    assert record.checked_out_at == END  # closed at the end, never later
    with pytest.raises(InvalidInput):  # an adjustment needs a reason
        await attendance.confirm(
            uow, s.notifier, s.worker, record_id=record.id, minutes=60, points_per_hour=10
        )
    with pytest.raises(InvalidInput):  # and cannot exceed the shift
        await attendance.confirm(
            uow,
            s.notifier,
            s.worker,
            record_id=record.id,
            minutes=200,
            reason="x",
            points_per_hour=10,
        )
    view = await attendance.confirm(
        uow,
        s.notifier,
        s.worker,
        record_id=record.id,
        minutes=90,
        reason="午饭后离开",
        points_per_hour=10,
    )
    assert (view.minutes, view.adjustment_reason) == (90, "午饭后离开")
    async with uow:
        entry = (
            await uow.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "record.adjust")
            )
        ).one()
        assert entry.actor_id == s.worker.person_id
        assert entry.details == {"recorded": 150, "minutes": 90, "reason": "午饭后离开"}
    account = volunteer_account(s.volunteer.person_id)
    async with uow:
        assert await uow.ledger.balance(account) == 90


async def test_a_correction_is_decided_by_the_recorder_and_the_journal_stays_consistent(
    uow: UnitOfWork,
) -> None:
    s = await scene(uow)
    await attendance.check_by_location(
        uow,
        s.volunteer,
        shift_id=s.shift_id,
        latitude=HERE[0],
        longitude=HERE[1],
        check_out=False,
        now=START,
    )
    await attendance.check_by_location(
        uow,
        s.volunteer,
        shift_id=s.shift_id,
        latitude=HERE[0],
        longitude=HERE[1],
        check_out=True,
        now=START + timedelta(hours=1),
    )
    [record] = (await attendance.awaiting(uow, s.worker)).items
    await attendance.confirm(uow, s.notifier, s.worker, record_id=record.id, points_per_hour=10)
    other_person = await make_person(uow, "别人")
    with pytest.raises(NotFound):  # someone else's record
        await attendance.request_correction(
            uow,
            s.notifier,
            Principal(other_person, "zh"),
            record_id=record.id,
            minutes=90,
            reason="x",
        )
    with pytest.raises(InvalidInput):
        await attendance.request_correction(
            uow, s.notifier, s.volunteer, record_id=record.id, minutes=90, reason="  "
        )
    await attendance.request_correction(
        uow, s.notifier, s.volunteer, record_id=record.id, minutes=150, reason="签退时手机没电"
    )
    with pytest.raises(Conflict, match="correction_pending"):
        await attendance.request_correction(
            uow, s.notifier, s.volunteer, record_id=record.id, minutes=120, reason="再来"
        )
    [pending] = await attendance.pending_corrections(uow, s.worker)
    assert (pending.minutes, pending.reason) == (150, "签退时手机没电")
    view = await attendance.decide_correction(
        uow, s.notifier, s.worker, correction_id=pending.id, approve=True, points_per_hour=10
    )
    assert view.minutes == 150
    with pytest.raises(Conflict, match="correction_decided"):
        await attendance.decide_correction(
            uow,
            s.notifier,
            s.worker,
            correction_id=pending.id,
            approve=False,
            note="迟了",
            points_per_hour=10,
        )
    summary = await timebank.summary(uow, s.volunteer, tz=UTC)
    assert (summary.confirmed_minutes, summary.balance_minutes, summary.points) == (150, 150, 25)
    kinds = sorted(line.kind.value for line in summary.lines)
    assert kinds == ["reversal", "service_credit", "service_credit"]
    # The stored journal replays through the domain rules, with the same balances.
    ledger = await timebank.audit_journal(uow)
    async with uow:
        for account in ledger.accounts():
            assert ledger.balance(account) == await uow.ledger.balance(account)
        total = await uow.session.scalar(select(func.sum(LedgerEntry.minutes)))
    assert total == 0  # double entry: every transaction balances
    assert [n.message for n in s.notifier.sent][-2:] == [
        "record.correction_requested",
        "record.correction_approved",
    ]


async def test_a_certificate_shows_the_confirmed_hours_and_verifies(uow: UnitOfWork) -> None:
    s = await scene(uow)
    with pytest.raises(Conflict, match="no_confirmed_hours"):
        await certificates.issue(
            uow,
            s.volunteer,
            period_start=START.date(),
            period_end=END.date(),
            tz=UTC,
            public_url="https://example.org",
            now=END + timedelta(days=1),
        )
    await attendance.check_by_location(
        uow,
        s.volunteer,
        shift_id=s.shift_id,
        latitude=HERE[0],
        longitude=HERE[1],
        check_out=False,
        now=START,
    )
    await attendance.check_by_location(
        uow,
        s.volunteer,
        shift_id=s.shift_id,
        latitude=HERE[0],
        longitude=HERE[1],
        check_out=True,
        now=START + timedelta(hours=1, minutes=30),
    )
    [record] = (await attendance.awaiting(uow, s.worker)).items
    await attendance.confirm(uow, s.notifier, s.worker, record_id=record.id, points_per_hour=10)
    issued = await certificates.issue(
        uow,
        s.volunteer,
        period_start=START.date().replace(day=1),
        period_end=END.date(),
        tz=UTC,
        public_url="https://example.org/",
        now=END + timedelta(days=1),
    )
    assert (issued.total_minutes, issued.records) == (90, 1)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(issued.pdf)).pages)
    compact = "".join(text.split())
    for expected in ("志愿服务证明", "王芳", "5001**********", "1.5", issued.number, "助餐送餐"):
        assert expected in compact, expected
    assert issued.code in compact and "50010619850612123" not in compact
    found = await certificates.verify(uow, code=issued.code.lower(), tz=UTC)
    assert (found.number, found.masked_name, found.total_minutes) == (issued.number, "王*", 90)
    assert found.issuer == "甲一社区" and found.reversed_records == 0
    with pytest.raises(NotFound):
        await certificates.verify(uow, code="ZZZZZZZZZZZZ", tz=UTC)
    with pytest.raises(NotFound):
        await certificates.verify(uow, code="<script>", tz=UTC)


async def served(uow: UnitOfWork, s: Scene, minutes: int) -> None:
    await attendance.check_by_location(
        uow,
        s.volunteer,
        shift_id=s.shift_id,
        latitude=HERE[0],
        longitude=HERE[1],
        check_out=False,
        now=START,
    )
    await attendance.check_by_location(
        uow,
        s.volunteer,
        shift_id=s.shift_id,
        latitude=HERE[0],
        longitude=HERE[1],
        check_out=True,
        now=START + timedelta(minutes=minutes),
    )
    [record] = (await attendance.awaiting(uow, s.worker)).items
    await attendance.confirm(uow, s.notifier, s.worker, record_id=record.id, points_per_hour=10)


async def balances(uow: UnitOfWork, *people: int) -> list[int]:
    async with uow:
        return [await uow.ledger.balance(volunteer_account(p)) for p in people]


async def test_hours_go_to_family_and_pay_for_services_only_when_both_agree(
    uow: UnitOfWork,
) -> None:
    s = await scene(uow)
    await served(uow, s, 120)
    mother = Principal(await make_person(uow, "妈妈"), "zh")
    neighbour = Principal(await make_person(uow, "邻居"), "zh")
    me = s.volunteer.person_id
    with pytest.raises(Conflict, match="insufficient_balance"):
        await timebank.propose(uow, s.volunteer, kind=TransferKind.GIFT, minutes=121, memo="")
    gift = await timebank.propose(
        uow, s.volunteer, kind=TransferKind.GIFT, minutes=90, memo="给妈妈", now=NOW
    )
    assert await balances(uow, me, mother.person_id) == [120, 0]  # nothing moves yet
    with pytest.raises(Conflict, match="own_transfer"):
        await timebank.decide(uow, s.notifier, s.volunteer, token=gift.token, accept=True, now=NOW)
    await timebank.decide(uow, s.notifier, mother, token=gift.token, accept=True, now=NOW)
    assert await balances(uow, me, mother.person_id) == [30, 90]
    with pytest.raises(Conflict, match="transfer_decided"):
        await timebank.decide(uow, s.notifier, neighbour, token=gift.token, accept=True, now=NOW)

    # The neighbour helped the mother for an hour; she pays with the hours she was given.
    ask = await timebank.propose(
        uow, neighbour, kind=TransferKind.EXCHANGE, minutes=60, memo="陪同就医", now=NOW
    )
    await timebank.decide(uow, s.notifier, mother, token=ask.token, accept=True, now=NOW)
    assert await balances(uow, mother.person_id, neighbour.person_id) == [30, 60]
    # Asked for more than she has left: refused at acceptance, nothing moves.
    greedy = await timebank.propose(
        uow, neighbour, kind=TransferKind.EXCHANGE, minutes=45, memo="买菜", now=NOW
    )
    with pytest.raises(Conflict, match="insufficient_balance"):
        await timebank.decide(uow, s.notifier, mother, token=greedy.token, accept=True, now=NOW)
    declined = await timebank.decide(
        uow, s.notifier, mother, token=greedy.token, accept=False, now=NOW
    )
    assert declined.status.value == "declined"
    assert await balances(uow, mother.person_id, neighbour.person_id) == [30, 60]
    late = await timebank.propose(
        uow, s.volunteer, kind=TransferKind.GIFT, minutes=10, memo="", now=NOW
    )
    with pytest.raises(NotFound):
        await timebank.decide(
            uow, s.notifier, mother, token=late.token, accept=True, now=NOW + timedelta(days=2)
        )
    assert [n.message for n in s.notifier.sent][-3:] == [
        "timebank.accepted",
        "timebank.accepted",
        "timebank.declined",
    ]
    ledger = await timebank.audit_journal(uow)
    async with uow:
        for account in ledger.accounts():
            assert ledger.balance(account) == await uow.ledger.balance(account)
