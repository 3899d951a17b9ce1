"""`python -m bot demo-data` makes a living district through the services: every screen and
/stats has something to show, and a second run changes nothing."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.domain.attendance import RecordStatus
from bot.domain.enums import ScopeLevel
from bot.domain.kpis import Targets
from bot.domain.needs import NeedState
from bot.domain.projects import ProjectState
from bot.domain.volunteers import VolunteerStatus
from bot.services import demo, demo_activity, kpis, roles
from bot.services.crypto import PersonalDataCipher
from storage.models import (
    Consultation,
    Fund,
    Need,
    Project,
    Resource,
    ServiceRecord,
    Shift,
    Volunteer,
)
from storage.types import utcnow
from storage.uow import UnitOfWork

TZ = ZoneInfo("Asia/Shanghai")


async def _load(uow: UnitOfWork) -> demo_activity.ActivitySummary:
    await demo.load_demo(uow)
    communities, person_ids = await demo.demo_names(uow)
    return await demo_activity.load_activity(
        uow,
        PersonalDataCipher(b"test-secret"),
        communities=communities,
        person_ids=person_ids,
        tz=TZ,
    )


async def _count(uow: UnitOfWork, query: object) -> int:
    async with uow:
        return int(await uow.session.scalar(query) or 0)  # type: ignore[call-overload]


async def test_the_demo_district_is_alive_and_loads_once(uow: UnitOfWork) -> None:
    first = await _load(uow)
    assert first.created and first.volunteers == 4 and first.needs == 5
    assert first.shifts == 3 and first.records == 8
    async with uow:
        states = set((await uow.session.scalars(select(Need.state))).all())
        statuses = set((await uow.session.scalars(select(Volunteer.status))).all())
        project_states = set((await uow.session.scalars(select(Project.state))).all())
    assert {NeedState.NEW, NeedState.ACCEPTED, NeedState.ASSIGNED, NeedState.RESOLVED} <= states
    assert NeedState.CLOSED in states  # the rated one
    assert statuses == {VolunteerStatus.VERIFIED, VolunteerStatus.PENDING}
    assert project_states == {ProjectState.RUNNING}
    upcoming = select(func.count()).select_from(Shift).where(Shift.starts_at > utcnow())
    assert await _count(uow, upcoming) == 3
    confirmed = select(func.count()).select_from(ServiceRecord)
    assert await _count(uow, confirmed.where(ServiceRecord.status == RecordStatus.CONFIRMED)) == 8
    for model in (Resource, Fund, Consultation):
        assert await _count(uow, select(func.count()).select_from(model)) == 1

    async with uow:
        district = (await uow.places.all_communities())[0].street.district_id
    report = await kpis.report(
        uow, roles.SYSTEM, level=ScopeLevel.DISTRICT, scope_id=district, targets=Targets(), tz=TZ
    )
    months = report.months
    minutes = await _count(uow, select(func.sum(ServiceRecord.minutes)))
    assert minutes > 8 * 120  # eight services of about two and a half hours
    assert round(sum(m.volunteer_hours for m in months) * 60) == minutes
    assert sum(m.active_volunteers for m in months) >= 4
    assert sum(m.needs_received for m in months) == 5
    assert any(i.actual > 0 for i in report.unit.indicators)

    second = await _load(uow)
    assert not second.created
    assert await _count(uow, select(func.count()).select_from(Need)) == 5
    assert await _count(uow, select(func.count()).select_from(Volunteer)) == 5
