"""Indicators against a small fixture counted by hand, on SQLite and PostgreSQL, including a
street whose ratios differ from the average of its communities' ratios; and who may see what.

The fixture (street A = communities A1 and A2, both urban; street B = village B1, rural):

| | A1 | A2 | street A | B1 |
|---|---|---|---|---|
| residents (population) | 10 | 90 | 100 | 50 |
| verified volunteers | 5 (50%) | 9 (10%) | 14 → **14%** (the average of ratios would say 30%) | 0 |
| community social orgs | 3 | 0 | 3 over 2 communities, target 12 each | 6 (rural target 6: met) |
| community workers (verified 社工证) | 1 (1) | 2 (0; 1 pending) | 300 per 10k urban; 1/3 | — |
| training this year (workers) | 150 min | 30 (+600 last year) | 180 / 3 = 1.0 h each | — |
| social-work professionals (cert or grant) | 2 | 1 | 3 | 0 |
| holders of a verified certificate | 2 | 0 | 2 | 0 |
| served by room / station this year | room's record | station acted on a request | **100%** | no |
| volunteer service station | yes | no | 50% | no |
| charity organisations | 0 | 1 | 1 of 2 communities | 1 (verified in 2020) |
| charity organisations at the 2020 baseline | 0 | 0 | 0 (no target) | 1 → district target 2 |
| community funds | 1 | 0 | 1 | 0 (district target 200) |
| demonstration site | this year | last year | 1 | — |
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.domain.attendance import CheckMethod, RecordStatus
from bot.domain.enums import OrganisationType, RegistrationStatus, Role, ScopeLevel
from bot.domain.errors import InvalidInput, PermissionDenied
from bot.domain.kpis import Kpi, Targets
from bot.domain.needs import Beneficiary, NeedCategory, NeedState, Urgency
from bot.domain.principal import Grant, Principal
from bot.domain.resources import ResourceKind
from bot.domain.social_work import CertificateLevel, CertificateState, ServiceLevel, ShiftKind
from bot.domain.volunteers import VolunteerStatus
from bot.services import kpis, places, resources
from storage.models import (
    Community,
    Fund,
    Need,
    NeedEvent,
    Organisation,
    Person,
    Resource,
    RoleGrant,
    ServiceRecord,
    Shift,
    SocialWorkCertificate,
    SocialWorkPlace,
    SocialWorkService,
    SocialWorkStaff,
    TrainingAttendance,
    Volunteer,
)
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.support.factories import Map, make_map

TZ = ZoneInfo("Asia/Shanghai")


async def fixture(uow: UnitOfWork) -> Map:
    w = await make_map(uow)
    now = utcnow()
    year = now.astimezone(TZ).year
    async with uow:
        for community, population, demo in (
            (w.community_a1, 10, year),
            (w.community_a2, 90, year - 1),
            (w.community_b1, 50, None),
        ):
            await uow.session.execute(
                update(Community)
                .where(Community.id == community)
                .values(resident_population=population, demonstration_year=demo)
            )
        n = 0
        for community, count in ((w.community_a1, 5), (w.community_a2, 9)):
            for _ in range(count):
                n += 1
                person = Person(display_name=f"V{n}", community_id=community, locale="zh")
                uow.session.add(person)
                await uow.session.flush()
                uow.session.add(
                    Volunteer(
                        person_id=person.id, home_community_id=community, real_name=f"V{n}",
                        id_number_encrypted="x", id_number_hash=f"h{n}",
                        id_number_masked="5001**********0000", phone="13800138000",
                        status=VolunteerStatus.VERIFIED,
                    )
                )  # fmt: skip
        # One registered but unverified volunteer: not counted.
        uow.session.add(
            Volunteer(
                person_id=await _person(uow, w.community_a2),
                home_community_id=w.community_a2, real_name="新人", id_number_encrypted="x",
                id_number_hash="pending", id_number_masked="x", phone="1",
                status=VolunteerStatus.PENDING,
            )
        )  # fmt: skip
        orgs = [(w.community_a1, OrganisationType.COMMUNITY_SOCIAL_ORG)] * 3
        orgs += [(w.community_b1, OrganisationType.COMMUNITY_SOCIAL_ORG)] * 6
        orgs += [(w.community_a2, OrganisationType.CHARITY)]
        for k, (community, kind) in enumerate(orgs):
            uow.session.add(
                Organisation(
                    name=f"组织{k}", type=kind, registration=RegistrationStatus.FILED,
                    community_id=community, verified_at=now,
                )
            )  # fmt: skip
        uow.session.add(  # unverified: not counted
            Organisation(
                name="未认证", type=OrganisationType.COMMUNITY_SOCIAL_ORG,
                registration=RegistrationStatus.FILED, community_id=w.community_a2,
            )
        )  # fmt: skip
        await uow.session.flush()
        for community, certified in (
            (w.community_a1, True),
            (w.community_a2, False),
            (w.community_a2, False),
        ):
            worker = await _person(uow, community)
            # The grant's flag is typed and no longer counted: only verified certificates are.
            await _grant(uow, worker, Role.COMMUNITY_WORKER, community, not certified)
        social = await _person(uow, w.community_a1)
        await _grant(uow, social, Role.SOCIAL_WORKER, w.community_a1, True)
        stale = await _person(uow, w.community_a2)
        await _grant(uow, stale, Role.SOCIAL_WORKER, w.community_a2, True)
        recent = await _need(uow, w.community_a1, social, now - timedelta(days=10))
        old = await _need(uow, w.community_a2, stale, now - timedelta(days=120))
        assert recent and old
        for community, station in ((w.community_a1, True), (w.community_a2, False)):
            uow.session.add(
                Resource(
                    created_by=social, community_id=community, kind=ResourceKind.VENUE,
                    title="活动室", quantity=1, unit="间", volunteer_station=station,
                )
            )  # fmt: skip
        charity = await uow.session.scalar(
            Organisation.__table__.select().with_only_columns(Organisation.id).limit(1)
        )
        uow.session.add(Fund(organisation_id=charity, name="社区基金", community_id=w.community_a1))
        await _service(uow, w.community_a1, social, now)
        await _social_work(uow, w, social, now)
        await uow.commit()
    return w


async def _social_work(uow: UnitOfWork, w: Map, social: int, now: datetime) -> None:
    """Certificates, training, the rooms and stations and what they served (issue 20)."""
    year = now.astimezone(TZ).year
    workers = (
        await uow.session.scalars(
            select(RoleGrant.person_id)
            .where(RoleGrant.role == Role.COMMUNITY_WORKER)
            .order_by(RoleGrant.id)
        )
    ).all()
    a1_worker, a2_worker, a2_other = workers
    for person, community, state in (
        (a1_worker, w.community_a1, CertificateState.VERIFIED),
        (social, w.community_a1, CertificateState.VERIFIED),
        (a2_worker, w.community_a2, CertificateState.PENDING),  # not counted
    ):
        uow.session.add(
            SocialWorkCertificate(
                person_id=person, community_id=community, level=CertificateLevel.ASSISTANT,
                exam_year=2021, state=state,
            )
        )  # fmt: skip
    training = Shift(
        community_id=w.community_a1, created_by=social, title="社工培训", place="p",
        starts_at=now, ends_at=now, capacity=9, skills=[], kind=ShiftKind.TRAINING,
    )  # fmt: skip
    uow.session.add(training)
    await uow.session.flush()
    last_year = datetime(year - 1, 6, 1, tzinfo=TZ)
    for person, minutes, at in (
        (a1_worker, 150, now),
        (a2_worker, 30, now),
        (a2_other, 600, last_year),  # before this year: not counted
    ):
        uow.session.add(
            TrainingAttendance(
                shift_id=training.id, person_id=person, community_id=w.community_a1,
                checked_in_at=at, checked_out_at=at, check_in_method=CheckMethod.SITE_CODE,
                minutes=minutes,
            )
        )  # fmt: skip
    room = SocialWorkPlace(
        level=ServiceLevel.ROOM, district_id=w.district, street_id=w.street_a,
        community_id=w.community_a1, name="甲一社工室",
    )  # fmt: skip
    station = SocialWorkPlace(
        level=ServiceLevel.STATION, district_id=w.district, street_id=w.street_a, name="甲社工站"
    )
    village = SocialWorkPlace(
        level=ServiceLevel.STATION, district_id=w.district, street_id=w.street_b, name="乙社工站"
    )
    uow.session.add_all([room, station, village])
    await uow.session.flush()
    staffer = await _person(uow, w.community_a2)
    uow.session.add(SocialWorkStaff(place_id=station.id, person_id=staffer))
    for place, community, at in ((room, w.community_a1, now), (village, w.community_b1, last_year)):
        uow.session.add(
            SocialWorkService(
                place_id=place.id, community_id=community, served_at=at, note="n",
                recorded_by=social,
            )
        )  # fmt: skip
    await _need(uow, w.community_a2, staffer, now)  # handled by the station's staff
    uow.session.add(
        Organisation(
            name="乙慈善会", type=OrganisationType.CHARITY, registration=RegistrationStatus.FILED,
            community_id=w.community_b1, verified_at=datetime(2020, 5, 1, tzinfo=TZ),
        )
    )  # fmt: skip


async def _person(uow: UnitOfWork, community: int) -> int:
    person = Person(display_name="工作者", community_id=community, locale="zh")
    uow.session.add(person)
    await uow.session.flush()
    return person.id


async def _grant(uow: UnitOfWork, person: int, role: Role, community: int, certified: bool) -> None:
    uow.session.add(
        RoleGrant(
            person_id=person, role=role, scope_level=ScopeLevel.COMMUNITY,
            community_id=community, certified=certified,
        )
    )  # fmt: skip


async def _need(uow: UnitOfWork, community: int, actor: int, at: object) -> int:
    need = Need(
        reference=f"X-{community}-{actor}", community_id=community, resident_id=actor,
        category=NeedCategory.OTHER, description="d", urgency=Urgency.NORMAL,
        beneficiary=Beneficiary.SELF, state=NeedState.RESOLVED, created_at=at, updated_at=at,
        due_at=at, remind_at=at, resolved_at=at,
    )  # fmt: skip
    uow.session.add(need)
    await uow.session.flush()
    uow.session.add(NeedEvent(need_id=need.id, at=at, actor_id=actor, kind="resolved"))
    return need.id


async def _service(uow: UnitOfWork, community: int, person: int, now: object) -> None:
    shift = Shift(
        community_id=community, created_by=person, title="t", place="p", starts_at=now,
        ends_at=now, capacity=1, skills=[],
    )  # fmt: skip
    uow.session.add(shift)
    volunteer = await uow.session.scalar(
        Volunteer.__table__.select().with_only_columns(Volunteer.id).limit(1)
    )
    await uow.session.flush()
    uow.session.add(
        ServiceRecord(
            shift_id=shift.id, person_id=person, volunteer_id=volunteer, community_id=community,
            content="c", place="p", status=RecordStatus.CONFIRMED, checked_in_at=now,
            check_in_method=CheckMethod.SITE_CODE, minutes=90,
        )
    )  # fmt: skip


def district_admin(w: Map) -> Principal:
    return Principal(0, "zh", grants=(Grant(Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, w.district),))


def by_kpi(figures: kpis.UnitFigures) -> dict[Kpi, tuple[float, float, bool]]:
    return {i.kpi: (round(i.actual, 4), round(i.target, 4), i.met) for i in figures.indicators}


async def report(uow: UnitOfWork, who: Principal, level: ScopeLevel, scope: int) -> kpis.Report:
    return await kpis.report(uow, who, level=level, scope_id=scope, targets=Targets(), tz=TZ)


async def test_every_indicator_matches_the_hand_count_and_streets_add_up_before_dividing(
    uow: UnitOfWork,
) -> None:
    w = await fixture(uow)
    street = await report(uow, district_admin(w), ScopeLevel.STREET, w.street_a)
    assert by_kpi(street.unit) == {
        Kpi.VOLUNTEER_SHARE: (0.14, 0.22, False),  # 14/100, not (50% + 10%) / 2
        Kpi.SOCIAL_ORGS: (1.5, 12.0, False),
        Kpi.WORKERS_PER_10K: (300.0, 18.0, True),
        Kpi.CERTIFIED_SHARE: (0.3333, 0.15, True),  # from verified certificates
        Kpi.SOCIAL_WORK_COVERAGE: (1.0, 1.0, True),  # A1 by its room, A2 by the station
        Kpi.STATION_COVERAGE: (0.5, 1.0, False),
        Kpi.CHARITY_ORGS: (0.5, 1.0, False),
        Kpi.COMMUNITY_FUNDS: (1.0, 0.0, True),  # the target of 200 is shown per district
        Kpi.DEMONSTRATION_SITES: (1.0, 0.0, True),  # the target of 2 is per district
        Kpi.SOCIAL_WORK_PROFESSIONALS: (3.0, 0.0, True),
        Kpi.CERTIFICATE_HOLDERS: (2.0, 0.0, True),
        Kpi.TRAINING_HOURS: (1.0, 0.0, True),  # 180 minutes over 3 community workers
        Kpi.CHARITY_GROWTH: (1.0, 0.0, True),  # none at the 2020 baseline: no target
    }
    a1, a2 = street.children
    assert by_kpi(a1)[Kpi.VOLUNTEER_SHARE][0] == 0.5
    assert by_kpi(a2)[Kpi.VOLUNTEER_SHARE][0] == 0.1
    gap = next(i for i in street.unit.indicators if i.kpi is Kpi.VOLUNTEER_SHARE).gap
    assert gap == pytest.approx(0.08)
    district = await report(uow, district_admin(w), ScopeLevel.DISTRICT, w.district)
    shown = by_kpi(district.unit)
    assert shown[Kpi.VOLUNTEER_SHARE] == (round(14 / 150, 4), 0.22, False)
    # 9 organisations over three communities against (12 + 12 + 6) / 3 = 10.
    assert shown[Kpi.SOCIAL_ORGS] == (3.0, 10.0, False)
    assert [c.unit.name.name for c in district.children] == ["甲街道", "乙街道"]
    assert shown[Kpi.DEMONSTRATION_SITES] == (1.0, 2.0, False)
    assert shown[Kpi.SOCIAL_WORK_COVERAGE] == (round(2 / 3, 4), 1.0, False)  # B1: last year
    assert shown[Kpi.COMMUNITY_FUNDS] == (1.0, 200.0, False)
    assert shown[Kpi.CHARITY_GROWTH] == (2.0, 2.0, True)  # twice B1's one of 2020
    this_month = district.months[-1]
    assert this_month.volunteer_hours == 1.5 and this_month.active_volunteers == 1


async def test_a_community_worker_sees_their_community_only(uow: UnitOfWork) -> None:
    w = await fixture(uow)
    worker = Principal(
        0, "zh", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    )
    mine = await report(uow, worker, ScopeLevel.COMMUNITY, w.community_a1)
    assert by_kpi(mine.unit)[Kpi.VOLUNTEER_SHARE][0] == 0.5
    for level, scope in (
        (ScopeLevel.STREET, w.street_a),
        (ScopeLevel.COMMUNITY, w.community_b1),
        (ScopeLevel.DISTRICT, w.district),
    ):
        with pytest.raises(PermissionDenied):
            await report(uow, worker, level, scope)
    street_admin = Principal(
        0, "zh", grants=(Grant(Role.STREET_ADMIN, ScopeLevel.STREET, w.street_a),)
    )
    await report(uow, street_admin, ScopeLevel.COMMUNITY, w.community_a2)
    with pytest.raises(PermissionDenied):
        await report(uow, street_admin, ScopeLevel.STREET, w.street_b)
    assert [u.level for u in await kpis.units(uow, worker)] == [ScopeLevel.COMMUNITY]


async def test_sites_and_stations_are_marked_by_the_services_and_counted(uow: UnitOfWork) -> None:
    w = await fixture(uow)
    year = utcnow().astimezone(TZ).year
    await places.mark_demonstration_site(uow, community_id=w.community_a2, year=year)
    with pytest.raises(InvalidInput):
        await places.mark_demonstration_site(uow, community_id=w.community_a2, year=20)
    async with uow:
        venue = await uow.session.scalar(
            select(Resource.id).where(
                Resource.community_id == w.community_a2, Resource.kind == ResourceKind.VENUE
            )
        )
        other = Resource(
            created_by=1, community_id=w.community_a2, kind=ResourceKind.GOODS, title="米",
            quantity=5, unit="袋",
        )  # fmt: skip
        uow.session.add(other)
        await uow.commit()
        other_id = other.id
    assert venue is not None
    assert await resources.mark_station(uow, resource_id=venue, station=True) == "活动室"
    with pytest.raises(InvalidInput):  # only a venue can be a station
        await resources.mark_station(uow, resource_id=other_id, station=True)
    street = await report(uow, district_admin(w), ScopeLevel.STREET, w.street_a)
    shown = by_kpi(street.unit)
    assert shown[Kpi.DEMONSTRATION_SITES][0] == 2.0 and shown[Kpi.DEMONSTRATION_SITES][2]
    assert shown[Kpi.STATION_COVERAGE] == (1.0, 1.0, True)


async def test_overdue_counts_requests_late_or_still_open_past_their_deadline(
    uow: UnitOfWork,
) -> None:
    w = await fixture(uow)
    now = utcnow()
    due = now - timedelta(days=1)
    async with uow:
        resident = await _person(uow, w.community_b1)
        cases = (
            ("open past due", None, None),  # overdue
            ("resolved late", now, None),  # overdue
            ("resolved in time", due - timedelta(hours=1), None),
            ("closed unsolved in time", None, due - timedelta(hours=1)),
            ("closed unsolved late", None, now),  # overdue
        )
        for n, (_label, resolved, closed) in enumerate(cases):
            uow.session.add(
                Need(
                    reference=f"B-{n}", community_id=w.community_b1, resident_id=resident,
                    category=NeedCategory.OTHER, description="d", urgency=Urgency.NORMAL,
                    beneficiary=Beneficiary.SELF, state=NeedState.ACCEPTED,
                    created_at=due - timedelta(days=2), updated_at=now, due_at=due,
                    remind_at=due, resolved_at=resolved, closed_at=closed,
                )
            )  # fmt: skip
        await uow.commit()
    village = await report(uow, district_admin(w), ScopeLevel.COMMUNITY, w.community_b1)
    month = due.astimezone(TZ).strftime("%Y-%m")
    [figures] = [m for m in village.months if m.month == month]
    assert figures.needs_overdue == 3
