"""The social-work rules and services (issue 20): the certified share's gap, the coverage
target by year, who may open places, verify certificates, record services and set the
baseline, and that the charity count follows the baseline year a district sets."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, PermissionDenied
from bot.domain.kpis import Kpi, Targets
from bot.domain.principal import Grant, Place, Principal
from bot.domain.social_work import (
    CertificateLevel,
    ServiceLevel,
    certified_needed,
    check_exam_year,
    coverage_target,
)
from bot.services import kpis, social_work
from bot.services.ports import RecordingNotifier
from storage.uow import UnitOfWork
from tests.support.factories import make_map, make_person
from tests.unit.test_kpis import by_kpi, district_admin, fixture, report

TZ = ZoneInfo("Asia/Shanghai")
OPERATOR = Principal(0, "en", is_superadmin=True)


def test_the_certified_share_says_how_many_more_workers_need_the_certificate() -> None:
    assert certified_needed(3, 0, 0.15) == 1  # 0.45 rounds up to one person
    assert certified_needed(20, 3, 0.15) == 0  # exactly 15%
    assert certified_needed(21, 3, 0.15) == 1
    assert certified_needed(0, 0, 0.15) == 0
    assert certified_needed(10, 5, 0.15) == 0  # never negative


def test_the_coverage_target_is_70_percent_up_to_2022_then_100() -> None:
    assert coverage_target(2022, 0.7, 1.0) == 0.7
    assert coverage_target(2023, 0.7, 1.0) == 1.0
    with pytest.raises(InvalidInput):
        check_exam_year(2007, 2026)
    assert check_exam_year(2026, 2026) == 2026


async def test_the_2022_report_measures_coverage_against_70_percent(uow: UnitOfWork) -> None:
    w = await fixture(uow)
    found = await kpis.report(
        uow, district_admin(w), level=ScopeLevel.STREET, scope_id=w.street_a,
        targets=Targets(), tz=TZ, now=datetime(2022, 12, 1, tzinfo=TZ),
    )  # fmt: skip
    assert by_kpi(found.unit)[Kpi.SOCIAL_WORK_COVERAGE][1] == 0.7


async def test_who_may_open_a_place_of_each_level(uow: UnitOfWork) -> None:
    w = await make_map(uow)
    one = await make_person(uow, "甲", community=w.community_a1)
    two = await make_person(uow, "乙", community=w.community_a1)
    worker = Principal(
        one, "zh", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    )
    street = Principal(two, "zh", grants=(Grant(Role.STREET_ADMIN, ScopeLevel.STREET, w.street_a),))
    with pytest.raises(PermissionDenied):  # a community worker opens no station
        await social_work.open_place(
            uow, worker, level=ServiceLevel.STATION, unit_id=w.street_a, name="站", tz=TZ
        )
    with pytest.raises(PermissionDenied):  # nor another community's room
        await social_work.open_place(
            uow, worker, level=ServiceLevel.ROOM, unit_id=w.community_a2, name="室", tz=TZ
        )
    with pytest.raises(PermissionDenied):  # a street admin opens no district centre
        await social_work.open_place(
            uow, street, level=ServiceLevel.CENTRE, unit_id=w.district, name="中心", tz=TZ
        )
    room = await social_work.open_place(
        uow, worker, level=ServiceLevel.ROOM, unit_id=w.community_a1, name="甲一社工室",
        opening_hours="周一至周五", tz=TZ,
    )  # fmt: skip
    assert (room.level, room.unit.name, room.opening_hours) == (
        ServiceLevel.ROOM, "甲一社区", "周一至周五",
    )  # fmt: skip
    with pytest.raises(Conflict):  # one room per community
        await social_work.open_place(
            uow, street, level=ServiceLevel.ROOM, unit_id=w.community_a1, name="又一间", tz=TZ
        )
    station = await social_work.open_place(
        uow, street, level=ServiceLevel.STATION, unit_id=w.street_a, name="甲社工站", tz=TZ
    )
    with pytest.raises(PermissionDenied):  # only staff record services
        await social_work.record_service(
            uow, street, place_id=station.id, community_id=w.community_a1, note="探访"
        )


async def test_only_a_worker_of_the_community_verifies_and_never_the_holder(
    uow: UnitOfWork,
) -> None:
    w = await make_map(uow)
    holder_id = await make_person(uow, "持证人", community=w.community_a1)
    home = Place(w.community_a1, w.street_a, w.district)
    grant = Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1)
    holder = Principal(holder_id, "zh", home=home, grants=(grant,))
    cert = await social_work.record_certificate(
        uow, holder, level=CertificateLevel.SOCIAL_WORKER, exam_year=2022, number=" A 1 "
    )
    assert cert.number == "A 1"
    notifier = RecordingNotifier()
    village = Principal(
        9, "zh", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_b1),)
    )
    for who in (holder, village):
        with pytest.raises(PermissionDenied):
            await social_work.decide_certificate(
                uow, notifier, who, certificate_id=cert.id, approve=True
            )
    worker_id = await make_person(uow, "核验人", community=w.community_a1)
    worker = Principal(worker_id, "zh", grants=(grant,))
    with pytest.raises(InvalidInput):  # a refusal needs its reason
        await social_work.decide_certificate(
            uow, notifier, worker, certificate_id=cert.id, approve=False
        )
    done = await social_work.decide_certificate(
        uow, notifier, worker, certificate_id=cert.id, approve=True
    )
    assert done.state.value == "verified"
    with pytest.raises(Conflict):
        await social_work.decide_certificate(
            uow, notifier, worker, certificate_id=cert.id, approve=True
        )
    assert [n.message for n in notifier.sent] == ["swcert.verified"]


async def test_the_charity_target_follows_the_baseline_year_a_district_admin_sets(
    uow: UnitOfWork,
) -> None:
    w = await fixture(uow)
    worker = Principal(
        1, "zh", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    )
    street = Principal(2, "zh", grants=(Grant(Role.STREET_ADMIN, ScopeLevel.STREET, w.street_a),))
    for who in (worker, street):
        with pytest.raises(PermissionDenied):
            await social_work.set_baseline(uow, who, district_id=w.district, year=2021)
    with pytest.raises(InvalidInput):
        await social_work.set_baseline(uow, district_admin(w), district_id=w.district, year=1999)
    district = await report(uow, district_admin(w), ScopeLevel.DISTRICT, w.district)
    assert by_kpi(district.unit)[Kpi.CHARITY_GROWTH] == (2.0, 2.0, True)  # 2020: one, doubled
    year = datetime.now(TZ).year
    await social_work.set_baseline(uow, district_admin(w), district_id=w.district, year=year)
    district = await report(uow, district_admin(w), ScopeLevel.DISTRICT, w.district)
    assert by_kpi(district.unit)[Kpi.CHARITY_GROWTH] == (2.0, 4.0, False)  # both, doubled
