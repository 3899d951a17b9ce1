"""The HTTP API's other resources, as a city app calls them, on the services chat uses: the
three lists of an area, shifts, a person's records and certificates, the KPIs /stats shows,
consultations; ETags on every read; 403 outside the area and without the scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Application, build
from bot.config import load_settings
from bot.domain.attendance import code_window
from bot.domain.enums import Role, ScopeLevel
from bot.domain.kpis import Indicator, Kpi
from bot.domain.principal import Grant, Principal
from bot.domain.projects import ProjectKind, ProjectState
from bot.domain.resources import ResourceKind
from bot.domain.volunteers import Skill, check_character
from bot.services import (
    api_clients,
    attendance,
    certificates,
    consultations,
    people,
    resources,
    shifts,
    volunteers,
)
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import RecordingNotifier
from bot.web.api import common as api_common
from handlers.kpi_texts import indicator_line
from storage.models import ConsultationVote, Project, ProjectCommunity
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.support.api_app import ALL_SCOPES, bearer, register
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person

pytestmark = pytest.mark.integration

WORKER = 7101
CIPHER = PersonalDataCipher(b"test-secret")
FILING = {"category": "elderly_care", "description": "楼道灯坏了，老人晚上看不见"}


@pytest.fixture
async def world(uow: UnitOfWork) -> Map:
    return await make_map(uow)


@pytest.fixture
async def worker(uow: UnitOfWork, world: Map) -> Principal:
    grant = (Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1)
    person = await make_person(
        uow, "李社工", community=world.community_a1, web_id=WORKER, grants=(grant,)
    )
    return Principal(person, "zh", grants=(Grant(*grant),))


@pytest.fixture
async def application(database_url: str, world: Map) -> AsyncIterator[Application]:
    app = build(load_settings(database_url=database_url, secret_key="test-secret"))
    yield app
    await app.close()


@pytest.fixture
async def client(application: Application, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(application.web_app)


async def app_headers(
    client: TestClient,
    uow: UnitOfWork,
    level: ScopeLevel,
    area: int,
    scopes: tuple[str, ...] = ALL_SCOPES,
) -> tuple[api_clients.Registered, dict[str, str]]:
    app = await register(uow, level, area, scopes)
    return app, await bearer(client, app)


async def get(client: TestClient, path: str, headers: dict[str, str]) -> Any:
    response = await client.get(path, headers=headers)
    assert response.status == 200, await response.text()
    return await response.json()


async def refused_outside_and_without_scope(
    client: TestClient, uow: UnitOfWork, world: Map, path: str, scope: str, person: bool = False
) -> None:
    """The contract every resource keeps: an app of street B gets 403 for street A's data, an
    app without the scope gets 403 insufficient_scope."""
    extra = {"Person": "moved"} if person else {}
    other, outside = await app_headers(client, uow, ScopeLevel.STREET, world.street_b)
    if person:  # the app's user has moved to street A (in chat): no longer the app's to read
        moved = await api_clients.act_for(
            uow, other.client, external_id="moved", community_id=None, locale="zh"
        )
        await people.join_community(uow, moved, community_id=world.community_a1)
    response = await client.get(path, headers={**outside, **extra})
    assert response.status == 403, (path, await response.text())
    assert response.content_type == "application/problem+json"
    others = tuple(s for s in ALL_SCOPES if s != scope)
    _app, lacking = await app_headers(client, uow, ScopeLevel.STREET, world.street_a, others)
    response = await client.get(path, headers={**lacking, **extra})
    assert response.status == 403
    assert (await response.json())["code"] == "insufficient_scope"


# ------------------------------------------------------------------ the three lists


async def test_the_needs_list_of_an_area_is_paged_filtered_and_without_contacts(
    client: TestClient, uow: UnitOfWork, world: Map, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_common, "PER_PAGE", 2)
    _app, auth = await app_headers(client, uow, ScopeLevel.DISTRICT, world.district)
    filings = [
        (world.community_a1, "elderly_care", "r1"),
        (world.community_a1, "home_repair", "r2"),
        (world.community_a2, "elderly_care", "r3"),
        (world.community_b1, "elderly_care", "r4"),
    ]
    for community, category, person in filings:
        body = {
            **FILING,
            "category": category,
            "community_id": community,
            "contact_phone": "13800138000",
        }
        filed = await client.post("/api/v1/requests", json=body, headers={**auth, "Person": person})
        assert filed.status == 201, await filed.text()
    _app, street = await app_headers(client, uow, ScopeLevel.STREET, world.street_a)
    first = await get(client, "/api/v1/needs", street)
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = await get(client, f"/api/v1/needs?cursor={first['next_cursor']}", street)
    assert second["next_cursor"] is None
    seen = [item["community"]["id"] for item in first["items"] + second["items"]]
    assert sorted(seen) == sorted([world.community_a1, world.community_a1, world.community_a2])
    item = first["items"][0]
    assert item["created_at"].endswith("+08:00") and item["state"] == "new"
    assert not {"contact_phone", "resident_name", "address"} & set(item)
    repairs = await get(client, "/api/v1/needs?category=home_repair", street)
    assert [i["category"] for i in repairs["items"]] == ["home_repair"]
    in_a2 = await get(client, f"/api/v1/needs?community_id={world.community_a2}", street)
    assert [i["community"]["id"] for i in in_a2["items"]] == [world.community_a2]
    closed = await get(client, "/api/v1/needs?status=closed", street)
    assert closed["items"] == []
    bad = await client.get("/api/v1/needs?status=soon&colour=red", headers=street)
    assert bad.status == 422
    assert {e["field"] for e in (await bad.json())["errors"]} == {"colour"}
    bad = await client.get("/api/v1/needs?status=soon", headers=street)
    assert (await bad.json())["errors"][0]["field"] == "status"
    await refused_outside_and_without_scope(
        client, uow, world, f"/api/v1/needs?community_id={world.community_a1}", "needs:read"
    )


async def test_the_resource_and_project_lists_of_an_area(
    client: TestClient, uow: UnitOfWork, world: Map, worker: Principal
) -> None:
    for kind, title in ((ResourceKind.VENUE, "活动室"), (ResourceKind.GOODS, "米面油")):
        await resources.post(
            uow,
            worker,
            community_id=world.community_a1,
            kind=kind,
            title=title,
            quantity=3,
            unit="份",
        )
    async with uow:
        for state, kind in (
            (ProjectState.PUBLISHED, ProjectKind.SERVICE),
            (ProjectState.RUNNING, ProjectKind.MICRO_VENTURE),
            (ProjectState.DRAFT, ProjectKind.SERVICE),  # not public: never listed
        ):
            project = Project(
                created_by=worker.person_id,
                community_id=world.community_a1,
                title=f"银龄食堂 {state.value}",
                purpose="为高龄老人送餐",
                kind=kind,
                categories=["elderly_care"],
                budget_fen=100_000,
                starts_on=date(2026, 1, 1),
                ends_on=date(2026, 12, 31),
                state=state,
            )
            uow.session.add(project)
            await uow.session.flush()
            uow.session.add(
                ProjectCommunity(project_id=project.id, community_id=world.community_a1)
            )
        await uow.commit()
    _app, auth = await app_headers(client, uow, ScopeLevel.COMMUNITY, world.community_a1)
    listed = await get(client, "/api/v1/resources", auth)
    assert sorted(r["title"] for r in listed["items"]) == ["活动室", "米面油"]
    assert listed["items"][0]["available"] == 3
    venues = await get(client, "/api/v1/resources?kind=venue", auth)
    assert [r["title"] for r in venues["items"]] == ["活动室"]
    shown = await get(client, "/api/v1/projects", auth)
    assert sorted(p["state"] for p in shown["items"]) == ["published", "running"]
    running = await get(client, "/api/v1/projects?status=running", auth)
    assert [p["kind"] for p in running["items"]] == ["micro_venture"]
    services = await get(client, "/api/v1/projects?kind=service", auth)
    assert [p["state"] for p in services["items"]] == ["published"]
    for path in ("/api/v1/resources", "/api/v1/projects"):
        await refused_outside_and_without_scope(
            client, uow, world, f"{path}?community_id={world.community_a1}", "projects:read"
        )


# ------------------------------------------------------------------ shifts


async def make_app_volunteer(
    uow: UnitOfWork, world: Map, worker: Principal, app: api_clients.Registered, person: str, n: int
) -> Principal:
    """The app's user `person`, living in A1, registered and verified as a volunteer."""
    principal = await api_clients.act_for(
        uow, app.client, external_id=person, community_id=world.community_a1, locale="zh"
    )
    first17 = f"500106198506{n:02d}123"
    view = await volunteers.register(
        uow,
        CIPHER,
        RecordingNotifier(),
        principal,
        real_name="王芳",
        id_number=first17 + check_character(first17),
        phone="13800138000",
        skills=[Skill.COOKING],
        tags=[],
        availability=[],
        community_ids=[],
    )
    await volunteers.verify(uow, RecordingNotifier(), worker, volunteer_id=view.id, approve=True)
    return principal


async def make_shift(
    uow: UnitOfWork, world: Map, worker: Principal, starts_in: timedelta, capacity: int = 1
) -> int:
    start = utcnow() + starts_in
    view = await shifts.create_shift(
        uow,
        worker,
        community_id=world.community_a1,
        title="助餐送餐",
        place="社区食堂",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        capacity=capacity,
    )
    return view.id


async def test_an_app_signs_volunteers_up_by_the_chats_rules_and_cancels_before_the_deadline(
    client: TestClient, uow: UnitOfWork, world: Map, worker: Principal
) -> None:
    app, auth = await app_headers(client, uow, ScopeLevel.STREET, world.street_a)
    await make_app_volunteer(uow, world, worker, app, "v1", 1)
    await make_app_volunteer(uow, world, worker, app, "v2", 2)
    later = await make_shift(uow, world, worker, timedelta(days=2))
    soon = await make_shift(uow, world, worker, timedelta(hours=5), capacity=3)
    listed = await get(client, "/api/v1/shifts", auth)
    assert [s["id"] for s in listed["items"]] == [soon, later]
    assert listed["items"][0]["starts_at"].endswith("+08:00")
    assert listed["items"][0]["cancel_deadline"] < listed["items"][0]["starts_at"]
    v1, v2 = {**auth, "Person": "v1"}, {**auth, "Person": "v2"}
    taken = await client.post(f"/api/v1/shifts/{later}/signup", headers=v1)
    assert taken.status == 200, await taken.text()
    assert (await taken.json())["my_status"] == "confirmed"
    full = await client.post(f"/api/v1/shifts/{later}/signup", headers=v2)
    assert (await full.json())["my_status"] == "waitlisted"  # capacity 1: the wait list
    twice = await client.post(f"/api/v1/shifts/{later}/signup", headers=v1)
    assert twice.status == 409 and (await twice.json())["code"] == "already_signed_up"
    # Before the deadline the place is given up and the first on the wait list moves up.
    cancelled = await client.post(f"/api/v1/shifts/{later}/cancel", headers=v1)
    assert cancelled.status == 200 and (await cancelled.json())["confirmed"] == 1
    # Five hours ahead the cancel deadline (12 hours before) has passed, as in chat.
    assert (await client.post(f"/api/v1/shifts/{soon}/signup", headers=v1)).status == 200
    late = await client.post(
        f"/api/v1/shifts/{soon}/cancel", headers={**v1, "Accept-Language": "en"}
    )
    assert late.status == 409
    body = await late.json()
    assert body["code"] == "cancel_deadline_passed" and "organiser" in body["title"]
    # Someone who is not a verified volunteer is refused, in words.
    resident = {**auth, "Person": "resident"}
    await api_clients.act_for(
        uow, app.client, external_id="resident", community_id=world.community_a1, locale="zh"
    )
    refused = await client.post(f"/api/v1/shifts/{later}/signup", headers=resident)
    assert refused.status == 409 and (await refused.json())["code"] == "not_a_verified_volunteer"
    assert (await refused.json())["title"] == "此人不是已认证的志愿者。"
    await refused_outside_and_without_scope(
        client, uow, world, f"/api/v1/shifts?community_id={world.community_a1}", "volunteers:read"
    )
    _app, outside = await app_headers(client, uow, ScopeLevel.STREET, world.street_b)
    other = await client.post(f"/api/v1/shifts/{later}/signup", headers={**outside, "Person": "v9"})
    assert other.status == 403
    _app, reader = await app_headers(
        client, uow, ScopeLevel.STREET, world.street_a, ("volunteers:read",)
    )
    lacking = await client.post(
        f"/api/v1/shifts/{later}/signup", headers={**reader, "Person": "v1"}
    )
    assert lacking.status == 403 and (await lacking.json())["code"] == "insufficient_scope"


# ------------------------------------------------------------------ records and certificates


async def test_a_persons_records_and_certificates_with_the_code_the_verify_page_checks(
    client: TestClient, uow: UnitOfWork, world: Map, worker: Principal
) -> None:
    app, auth = await app_headers(client, uow, ScopeLevel.STREET, world.street_a)
    volunteer = await make_app_volunteer(uow, world, worker, app, "v1", 1)
    shift_id = await make_shift(uow, world, worker, timedelta(days=2))
    await shifts.sign_up(uow, volunteer, shift_id=shift_id)
    async with uow:
        shift = await uow.shifts.get(shift_id)
        assert shift is not None
        start = shift.starts_at
    for minutes, out in ((0, False), (90, True)):
        at = start + timedelta(minutes=minutes)
        await attendance.check_by_code(
            uow,
            CIPHER,
            volunteer,
            shift_id=shift_id,
            code=attendance.site_code(CIPHER, shift_id, code_window(at)),
            check_out=out,
            now=at,
        )
    [record] = (await attendance.awaiting(uow, worker)).items
    await attendance.confirm(
        uow, RecordingNotifier(), worker, record_id=record.id, points_per_hour=10
    )
    issued = await certificates.issue(
        uow,
        volunteer,
        period_start=start.date() - timedelta(days=1),
        period_end=start.date() + timedelta(days=1),
        tz=UTC,
        public_url="https://example.org/",
        now=start + timedelta(days=2),
    )
    person = {**auth, "Person": "v1"}
    records = await get(client, "/api/v1/records", person)
    assert [(r["status"], r["minutes"]) for r in records["items"]] == [("confirmed", 90)]
    assert records["items"][0]["checked_in_at"].endswith("+08:00")
    listed = await get(client, "/api/v1/certificates", person)
    [certificate] = listed["items"]
    assert certificate["number"] == issued.number and certificate["total_minutes"] == 90
    assert certificate["verification_code"] == issued.code
    page = await client.get(certificate["verify_url"])
    assert page.status == 200 and issued.number in await page.text()
    assert (await get(client, "/api/v1/certificates", {**auth, "Person": "v2"}))["items"] == []
    await refused_outside_and_without_scope(
        client, uow, world, "/api/v1/records", "records:read", person=True
    )


# ------------------------------------------------------------------ KPIs


async def test_the_kpis_of_an_area_are_the_figures_stats_shows_in_chat(
    client: TestClient, uow: UnitOfWork, world: Map, worker: Principal, engine: AsyncEngine
) -> None:
    app, auth = await app_headers(client, uow, ScopeLevel.COMMUNITY, world.community_a1)
    await make_app_volunteer(uow, world, worker, app, "v1", 1)
    report = await get(client, "/api/v1/kpis", auth)
    assert (report["unit"]["level"], report["unit"]["id"]) == ("community", world.community_a1)
    assert report["computed_at"].endswith("+08:00")
    indicators = {i["kpi"]: i for i in report["unit"]["indicators"]}
    assert indicators["volunteer_share"]["numerator"] == 1
    assert indicators["volunteer_share"]["target"] == 0.22
    chat = ChatHarness(engine)
    try:
        await chat.send(WORKER, "/stats")
        shown = chat.last_text(WORKER)
        with chat.i18n.context(), chat.i18n.use_locale("zh"):
            for item in report["unit"]["indicators"]:
                line = indicator_line(
                    Indicator(
                        Kpi(item["kpi"]),
                        item["actual"],
                        item["target"],
                        item["numerator"],
                        item["denominator"],
                    )
                )
                assert line in shown, line
    finally:
        await chat.close()
    _app, street = await app_headers(client, uow, ScopeLevel.STREET, world.street_a)
    whole = await get(client, "/api/v1/kpis", street)
    assert sorted(c["id"] for c in whole["children"]) == [world.community_a1, world.community_a2]
    one = await get(client, f"/api/v1/kpis?level=community&id={world.community_a2}", street)
    assert one["unit"]["id"] == world.community_a2
    wider = await client.get(f"/api/v1/kpis?level=district&id={world.district}", headers=street)
    assert wider.status == 403
    await refused_outside_and_without_scope(
        client, uow, world, f"/api/v1/kpis?level=street&id={world.street_a}", "kpis:read"
    )


# ------------------------------------------------------------------ consultations


async def test_open_consultations_their_options_and_one_ballot_per_person(
    client: TestClient, uow: UnitOfWork, world: Map, worker: Principal
) -> None:
    spec = consultations.NewConsultation(
        title="加装电梯方案",
        background="三号楼居民提出加装电梯，费用分摊方案需要商议。",
        options=["按楼层分摊", "平均分摊"],
        community_ids=[world.community_a1],
        discussion_days=3,
        voting_days=2,
        anonymous=False,
        major=False,
    )
    opened = await consultations.open_consultation(
        uow,
        worker,
        spec,
        texts=("议事开始", "opened"),
        reminder=None,
        now=utcnow() - timedelta(days=4),
    )
    app, auth = await app_headers(client, uow, ScopeLevel.STREET, world.street_a)
    listed = await get(client, "/api/v1/consultations", auth)
    assert [(c["id"], c["phase"]) for c in listed["items"]] == [(opened.id, "voting")]
    elsewhere = await get(client, f"/api/v1/consultations?community_id={world.community_a2}", auth)
    assert elsewhere["items"] == []
    one = await get(client, f"/api/v1/consultations/{opened.id}", auth)
    assert [o["text"] for o in one["options"]] == ["按楼层分摊", "平均分摊"]
    assert one["voting_ends_at"].endswith("+08:00")
    first, second = (o["id"] for o in one["options"])
    await api_clients.act_for(
        uow, app.client, external_id="r1", community_id=world.community_a1, locale="zh"
    )
    voter = {**auth, "Person": "r1"}
    counted = await client.post(
        f"/api/v1/consultations/{opened.id}/vote", json={"option_id": first}, headers=voter
    )
    assert counted.status == 200, await counted.text()
    again = await client.post(
        f"/api/v1/consultations/{opened.id}/vote", json={"option_id": second}, headers=voter
    )
    assert again.status == 200, await again.text()
    async with uow:
        options = list(await uow.session.scalars(select(ConsultationVote.option_id)))
    assert options == [second]  # one ballot, changed as in chat
    # Someone of another community is not entitled: the service's own check.
    await api_clients.act_for(
        uow, app.client, external_id="r2", community_id=world.community_a2, locale="zh"
    )
    outsider = await client.post(
        f"/api/v1/consultations/{opened.id}/vote",
        json={"option_id": first},
        headers={**auth, "Person": "r2"},
    )
    assert outsider.status == 403
    await refused_outside_and_without_scope(
        client, uow, world, f"/api/v1/consultations/{opened.id}", "needs:read"
    )


# ------------------------------------------------------------------ ETags


async def test_every_read_has_an_etag_and_if_none_match_gives_304_until_it_changes(
    client: TestClient, uow: UnitOfWork, world: Map, worker: Principal
) -> None:
    _app, auth = await app_headers(client, uow, ScopeLevel.STREET, world.street_a)
    paths = [
        "/api/v1/needs",
        "/api/v1/resources",
        "/api/v1/projects",
        "/api/v1/shifts",
        "/api/v1/kpis",
        "/api/v1/consultations",
        "/api/v1/openapi.json",
    ]
    for path in paths:
        first = await client.get(path, headers=auth)
        etag = first.headers["ETag"]
        assert first.status == 200 and etag.startswith('"'), path
        again = await client.get(path, headers={**auth, "If-None-Match": f'W/{etag}, "x"'})
        assert again.status == 304, path
        assert again.headers["ETag"] == etag and await again.read() == b""
    before = await client.get("/api/v1/resources", headers=auth)
    await resources.post(
        uow,
        worker,
        community_id=world.community_a1,
        kind=ResourceKind.VENUE,
        title="活动室",
        quantity=1,
        unit="间",
    )
    changed = await client.get(
        "/api/v1/resources", headers={**auth, "If-None-Match": before.headers["ETag"]}
    )
    assert changed.status == 200 and changed.headers["ETag"] != before.headers["ETag"]
    posted = await client.post(
        "/api/v1/requests",
        json={**FILING, "community_id": world.community_a1},
        headers={**auth, "Person": "r1"},
    )
    assert posted.status == 201 and "ETag" not in posted.headers


# ------------------------------------------------------------------ linking a chat person


async def test_an_app_user_with_a_link_code_from_chat_is_that_person_for_the_app(
    client: TestClient, uow: UnitOfWork, world: Map
) -> None:
    """A resident who already uses WeChat or the web page asks for /link in chat and types
    the code into the city app: the app's requests are then that person's, one person on
    every channel; a code of someone outside the area, or a used code, is refused."""
    resident = await make_person(uow, "王阿姨", community=world.community_a1, web_id=7190)
    code = await people.create_link_code(uow, Principal(resident, "zh"))
    _app, auth = await app_headers(client, uow, ScopeLevel.STREET, world.street_a)
    person = {**auth, "Person": "city-42", "Idempotency-Key": "link-1"}
    linked = await client.post("/api/v1/link", json={"code": code.lower()}, headers=person)
    assert linked.status == 200, await linked.text()
    assert await linked.json() == {"person": "city-42", "linked": True}
    filed = await client.post(
        "/api/v1/requests", json=FILING, headers={**auth, "Person": "city-42"}
    )
    assert filed.status == 201, await filed.text()
    async with uow:
        need = await uow.needs.get((await filed.json())["request"]["id"])
        assert need is not None and need.resident_id == resident
    again = await client.post(
        "/api/v1/link", json={"code": code}, headers={**person, "Idempotency-Key": "link-2"}
    )
    assert again.status == 422 and (await again.json())["code"] == "invalid"
    elsewhere = await make_person(uow, "外村人", community=world.community_b1, web_id=7191)
    far = await people.create_link_code(uow, Principal(elsewhere, "zh"))
    refused = await client.post(
        "/api/v1/link",
        json={"code": far},
        headers={**auth, "Person": "city-43", "Idempotency-Key": "link-3"},
    )
    assert refused.status == 403
