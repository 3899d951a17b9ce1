"""Alerts for workers to WeCom group robots (企业微信群机器人), against a local fake robot
server: an urgent request reaches its community's robot (else its street's) as one markdown
message with no personal data; 45009 (over the 20-a-minute limit) is retried and delivered
once; a community no robot covers sends nothing; an escalation and an emergency are told."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.channels.wecom import LEASE, WecomAlertSender
from bot.config import Settings, load_settings
from bot.domain.broadcasts import Audience, AudienceKind, DeliveryState
from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import PermissionDenied
from bot.domain.needs import Beneficiary, NeedCategory, Urgency
from bot.domain.principal import Grant, Place, Principal
from bot.i18n import make_i18n
from bot.services import alerts, broadcasts, emergencies, needs, roles
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import RecordingNotifier
from storage.db import make_engine, make_session_factory
from storage.models import OutboxMessage
from storage.uow import UnitOfWork
from tests.support.factories import Map, make_map, make_person

CIPHER = PersonalDataCipher(b"wecom-alerts-test-secret")
PHONE = "13812345678"
ADDRESS = "幸福路8号3栋2单元501"


@dataclass
class FakeRobots:
    """The WeCom webhook: records each post by key; `limit_once` answers 45009 once."""

    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    limit_once: bool = False
    refused: int = 0

    async def send(self, request: web.Request) -> web.Response:
        key = request.query.get("key", "")
        body = await request.json()
        if self.limit_once:
            self.limit_once = False
            self.refused += 1
            return web.json_response(
                {"errcode": 45009, "errmsg": "api freq out of limit, hint: [x]"}
            )
        if body.get("msgtype") != "markdown" or not body["markdown"].get("content"):
            return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
        self.posts.append((key, body))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def texts(self, key: str) -> list[str]:
        return [body["markdown"]["content"] for k, body in self.posts if k == key]


@pytest.fixture
async def robots() -> AsyncIterator[tuple[FakeRobots, str]]:
    fake = FakeRobots()
    app = web.Application()
    app.router.add_post("/cgi-bin/webhook/send", fake.send)
    server = TestServer(app)
    await server.start_server()
    yield fake, f"http://{server.host}:{server.port}"
    await server.close()


@pytest.fixture
async def world(uow: UnitOfWork) -> Map:
    return await make_map(uow)


def settings(base: str) -> Settings:
    return load_settings(wecom_api_url=base, default_locale="zh")


def url(base: str, key: str) -> str:
    return f"{base}/cgi-bin/webhook/send?key={key}"


async def set_robot(uow: UnitOfWork, base: str, level: ScopeLevel, place: int, key: str) -> None:
    await alerts.set_robot(
        uow, roles.SYSTEM, CIPHER, level=level, place_id=place, url=url(base, key), base=base
    )


async def file_urgent(uow: UnitOfWork, world: Map, community: int, street: int) -> str:
    resident = await make_person(uow, "王秀英", community=community)
    filed = await needs.file_need(
        uow,
        RecordingNotifier(),
        Principal(
            resident,
            "zh",
            home=Place(community, street, world.district),
            grants=(Grant(Role.RESIDENT, ScopeLevel.COMMUNITY, community),),
        ),
        category=NeedCategory.ELDERLY_CARE,
        description="家中老人摔倒了，请尽快来人，电话 " + PHONE,
        urgency=Urgency.URGENT,
        beneficiary=Beneficiary.SELF,
        wants_visit=True,
        contact_phone=PHONE,
        address=ADDRESS,
    )
    return filed.need.reference


async def drain(sender: WecomAlertSender, rounds: int = 5) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(rounds):
            await sender.send_batch(http)


def make_sender(uow: UnitOfWork, base: str) -> WecomAlertSender:
    return WecomAlertSender(
        lambda: uow, make_i18n("zh"), CIPHER, settings(base), rate_limit_seconds=0.0
    )


async def test_an_urgent_request_reaches_its_community_robot_without_personal_data(
    uow: UnitOfWork, world: Map, robots: tuple[FakeRobots, str]
) -> None:
    fake, base = robots
    await set_robot(uow, base, ScopeLevel.COMMUNITY, world.community_a1, "community-a1-key")
    await set_robot(uow, base, ScopeLevel.STREET, world.street_a, "street-a-key")
    reference = await file_urgent(uow, world, world.community_a1, world.street_a)
    await drain(make_sender(uow, base))
    texts = fake.texts("community-a1-key")
    assert len(texts) == 1
    assert fake.texts("street-a-key") == []  # the community's own robot, not both
    text = texts[0]
    assert reference in text and "甲一社区" in text and "养老服务" in text
    assert "紧急诉求" in text
    for personal in (PHONE, ADDRESS, "王秀英", "摔倒"):
        assert personal not in text
    async with uow:
        (row,) = await uow.wecom.alerts()
        assert row.state == "sent" and row.sent_at is not None


async def test_a_street_robot_catches_a_community_without_one(
    uow: UnitOfWork, world: Map, robots: tuple[FakeRobots, str]
) -> None:
    fake, base = robots
    await set_robot(uow, base, ScopeLevel.COMMUNITY, world.community_a1, "community-a1-key")
    await set_robot(uow, base, ScopeLevel.STREET, world.street_a, "street-a-key")
    reference = await file_urgent(uow, world, world.community_a2, world.street_a)
    await drain(make_sender(uow, base))
    assert fake.texts("community-a1-key") == []
    (text,) = fake.texts("street-a-key")
    assert reference in text and "甲二社区" in text


async def test_over_the_limit_the_alert_is_retried_and_delivered_once(
    uow: UnitOfWork, world: Map, robots: tuple[FakeRobots, str]
) -> None:
    fake, base = robots
    fake.limit_once = True
    await set_robot(uow, base, ScopeLevel.COMMUNITY, world.community_a1, "community-a1-key")
    await file_urgent(uow, world, world.community_a1, world.street_a)
    sender = make_sender(uow, base)
    await drain(sender, rounds=1)
    assert fake.refused == 1 and fake.posts == []
    async with uow:
        (row,) = await uow.wecom.alerts()
        assert row.state == "queued" and "45009" in row.error and row.attempts == 0
    await drain(sender, rounds=5)
    assert len(fake.texts("community-a1-key")) == 1


async def test_a_community_without_any_robot_sends_nothing(
    uow: UnitOfWork, world: Map, robots: tuple[FakeRobots, str]
) -> None:
    fake, base = robots
    await set_robot(uow, base, ScopeLevel.STREET, world.street_a, "street-a-key")
    await file_urgent(uow, world, world.community_b1, world.street_b)
    await drain(make_sender(uow, base))
    assert fake.posts == []
    async with uow:
        assert list(await uow.wecom.alerts()) == []


async def test_a_request_that_is_not_urgent_sends_nothing(
    uow: UnitOfWork, world: Map, robots: tuple[FakeRobots, str]
) -> None:
    fake, base = robots
    await set_robot(uow, base, ScopeLevel.COMMUNITY, world.community_a1, "community-a1-key")
    resident = await make_person(uow, "李四", community=world.community_a1)
    await needs.file_need(
        uow,
        RecordingNotifier(),
        Principal(resident, "zh", home=Place(world.community_a1, world.street_a, world.district)),
        category=NeedCategory.HOME_REPAIR,
        description="水龙头漏水",
        urgency=Urgency.NORMAL,
        beneficiary=Beneficiary.SELF,
    )
    await drain(make_sender(uow, base))
    assert fake.posts == []


async def test_an_overdue_request_is_told_to_the_robot(
    uow: UnitOfWork, world: Map, robots: tuple[FakeRobots, str]
) -> None:
    fake, base = robots
    reference = await file_urgent(uow, world, world.community_a1, world.street_a)
    await set_robot(uow, base, ScopeLevel.STREET, world.street_a, "street-a-key")
    await needs.run_deadlines(uow, RecordingNotifier(), now=datetime.now(UTC) + timedelta(days=30))
    await drain(make_sender(uow, base))
    (text,) = fake.texts("street-a-key")
    assert "诉求已超期" in text and reference in text and "甲一社区" in text


async def test_an_emergency_switched_on_for_a_street_is_told_once(
    uow: UnitOfWork, world: Map, robots: tuple[FakeRobots, str]
) -> None:
    fake, base = robots
    await set_robot(uow, base, ScopeLevel.STREET, world.street_a, "street-a-key")
    admin = await make_person(
        uow, "街道主任", grants=((Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),)
    )
    principal = Principal(
        admin, "zh", grants=(Grant(Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),)
    )
    await emergencies.start(
        uow,
        principal,
        level=ScopeLevel.STREET,
        scope_id=world.street_a,
        description="暴雨内涝",
        texts=("请志愿者集合", "Volunteers, please gather"),
    )
    await drain(make_sender(uow, base))
    (text,) = fake.texts("street-a-key")
    assert "应急状态" in text and "甲街道" in text and "暴雨内涝" in text


async def test_an_english_deployment_renders_the_alert_in_english(
    uow: UnitOfWork, world: Map, robots: tuple[FakeRobots, str]
) -> None:
    fake, base = robots
    await set_robot(uow, base, ScopeLevel.COMMUNITY, world.community_a1, "community-a1-key")
    await file_urgent(uow, world, world.community_a1, world.street_a)
    sender = WecomAlertSender(
        lambda: uow,
        make_i18n("en"),
        CIPHER,
        load_settings(wecom_api_url=base, default_locale="en"),
        rate_limit_seconds=0.0,
    )
    await drain(sender)
    (text,) = fake.texts("community-a1-key")
    assert "**Urgent request**" in text and "Category: Elderly care" in text


async def test_a_refused_alert_is_recorded_and_the_key_is_not_logged(
    uow: UnitOfWork,
    world: Map,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = "wrong-robot-key-9z9z"

    async def invalid_key(request: web.Request) -> web.Response:
        return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url, hint"})

    # A robot whose key WeCom does not know: a server that refuses every post.
    app = web.Application()
    app.router.add_post("/cgi-bin/webhook/send", invalid_key)
    server = TestServer(app)
    await server.start_server()
    try:
        other = f"http://{server.host}:{server.port}"
        await set_robot(uow, other, ScopeLevel.COMMUNITY, world.community_a1, key)
        await file_urgent(uow, world, world.community_a1, world.street_a)
        with caplog.at_level("INFO"):
            await drain(make_sender(uow, other))
    finally:
        await server.close()
    async with uow:
        (row,) = await uow.wecom.alerts()
        assert row.state == "failed" and "93000" in row.error
    # The bot's own log lines (not the fake server's access log) name the robot by its tail.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))
    assert "…9z9z" in ours
    assert key not in ours


async def test_only_an_admin_over_the_place_may_set_its_robot(
    uow: UnitOfWork, world: Map, robots: tuple[FakeRobots, str]
) -> None:
    _, base = robots
    admin = await make_person(uow, "街道干部")
    other_street = Principal(
        admin, "zh", grants=(Grant(Role.STREET_ADMIN, ScopeLevel.STREET, world.street_b),)
    )
    with pytest.raises(PermissionDenied):
        await alerts.set_robot(
            uow,
            other_street,
            CIPHER,
            level=ScopeLevel.COMMUNITY,
            place_id=world.community_a1,
            url=url(base, "some-robot-key"),
            base=base,
        )
    own_street = Principal(
        admin, "zh", grants=(Grant(Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),)
    )
    view = await alerts.set_robot(
        uow,
        own_street,
        CIPHER,
        level=ScopeLevel.COMMUNITY,
        place_id=world.community_a1,
        url=url(base, "some-robot-key"),
        base=base,
    )
    assert view.key_tail == "-key"


async def test_the_sender_loop_stops_when_asked(
    uow: UnitOfWork, world: Map, robots: tuple[FakeRobots, str]
) -> None:
    _, base = robots
    sender = make_sender(uow, base)
    sender.idle_seconds = 0.01
    task = asyncio.create_task(sender.run())
    await asyncio.sleep(0.05)
    sender.stopping.set()
    await asyncio.wait_for(task, 2)


async def test_a_broadcast_that_did_not_reach_everyone_is_told(
    uow: UnitOfWork, world: Map, robots: tuple[FakeRobots, str]
) -> None:
    fake, base = robots
    await set_robot(uow, base, ScopeLevel.COMMUNITY, world.community_a1, "community-a1-key")
    author = await make_person(
        uow, "韩主任", grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),)
    )
    await make_person(uow, "居民", community=world.community_a1, web_id=1)
    await make_person(uow, "居民二", community=world.community_a1, web_id=2)
    principal = Principal(
        author,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    view = await broadcasts.create(
        uow,
        principal,
        broadcasts.Draft(
            audience=Audience(AudienceKind.EVERYONE, (world.community_a1,)),
            text_zh="明天上午停水通知",
        ),
    )
    async with uow:
        rows = (
            await uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.broadcast_id == view.id)
            )
        ).all()
        assert len(rows) == 2
        rows[0].state, rows[1].state = DeliveryState.SENT, DeliveryState.FAILED
        await uow.commit()
    await broadcasts.active(uow)
    await broadcasts.active(uow)  # done once: told once
    await drain(make_sender(uow, base))
    (text,) = fake.texts("community-a1-key")
    assert "群发消息未送达" in text and "明天上午停水通知" in text
    assert "已送达：1" in text and "失败：1" in text


async def test_a_robot_gets_at_most_twenty_a_minute(
    uow: UnitOfWork, world: Map, robots: tuple[FakeRobots, str]
) -> None:
    fake, base = robots
    await set_robot(uow, base, ScopeLevel.COMMUNITY, world.community_a1, "community-a1-key")
    async with uow:
        community = await uow.places.community(world.community_a1)
        assert community is not None
        for n in range(23):
            assert await alerts.queue(
                uow,
                community,
                "need.urgent",
                {"reference": f"R-{n}", "category": "other", "community": community.name},
            )
        await uow.commit()
    await drain(make_sender(uow, base), rounds=8)
    assert len(fake.texts("community-a1-key")) == 20
    async with uow:
        waiting = [row for row in await uow.wecom.alerts() if row.state == "queued"]
        assert len(waiting) == 3
        # Put back for when the minute is over, not counted as a failed attempt.
        now = datetime.now(UTC)
        for row in waiting:
            assert row.attempts == 0 and now + timedelta(seconds=30) < row.not_before
            assert row.not_before <= now + timedelta(seconds=61)


async def test_an_unreachable_robot_is_retried_with_backoff(
    uow: UnitOfWork, world: Map, unused_tcp_port: int
) -> None:
    base = f"http://127.0.0.1:{unused_tcp_port}"  # nobody listens there
    await set_robot(uow, base, ScopeLevel.COMMUNITY, world.community_a1, "community-a1-key")
    await file_urgent(uow, world, world.community_a1, world.street_a)
    await drain(make_sender(uow, base), rounds=2)
    async with uow:
        (row,) = await uow.wecom.alerts()
        assert row.state == "queued" and row.attempts == 1
        assert row.not_before > datetime.now(UTC) + timedelta(seconds=2)
        assert "key" not in row.error


async def test_a_robot_sealed_with_another_key_fails_its_alert_without_stopping_the_rest(
    uow: UnitOfWork, world: Map, robots: tuple[FakeRobots, str]
) -> None:
    fake, base = robots
    await alerts.set_robot(
        uow,
        roles.SYSTEM,
        PersonalDataCipher(b"an-old-secret-key"),
        level=ScopeLevel.COMMUNITY,
        place_id=world.community_a1,
        url=url(base, "old-robot-key"),
        base=base,
    )
    await set_robot(uow, base, ScopeLevel.COMMUNITY, world.community_a2, "community-a2-key")
    await file_urgent(uow, world, world.community_a1, world.street_a)
    await file_urgent(uow, world, world.community_a2, world.street_a)
    await drain(make_sender(uow, base))
    assert len(fake.texts("community-a2-key")) == 1 and fake.texts("old-robot-key") == []
    async with uow:
        states = sorted(row.state for row in await uow.wecom.alerts())
        assert states == ["failed", "sent"]


async def test_two_processes_post_each_alert_once_on_postgresql(
    postgres_url: str, robots: tuple[FakeRobots, str]
) -> None:
    """Two senders (two processes) claim at the same time: SKIP LOCKED hands each alert to one."""
    fake, base = robots
    engine = make_engine(postgres_url)
    try:

        def fresh() -> UnitOfWork:
            return UnitOfWork(make_session_factory(engine))

        world = await make_map(fresh())
        await set_robot(fresh(), base, ScopeLevel.COMMUNITY, world.community_a1, "community-a1-key")
        uow = fresh()
        async with uow:
            community = await uow.places.community(world.community_a1)
            assert community is not None
            for n in range(12):
                await alerts.queue(
                    uow,
                    community,
                    "need.urgent",
                    {"reference": f"R-{n:02}", "category": "other", "community": community.name},
                )
            await uow.commit()
        # Process A has claimed five and not committed yet (its rows are locked): process B,
        # claiming meanwhile, gets other alerts at once instead of waiting or taking the same.
        now = datetime.now(UTC)
        holder = fresh()
        async with holder:
            held = {row.id for row in await holder.wecom.claim("a", now, LEASE, 5)}
            other = await asyncio.wait_for(
                alerts.claim(fresh(), CIPHER, owner="b", now=now, lease=LEASE, limit=5), 5
            )
            assert len(held) == 5 and len(other) == 5
            assert held.isdisjoint(job.id for job in other)
            await holder.commit()
        senders = [
            WecomAlertSender(fresh, make_i18n("zh"), CIPHER, settings(base)) for _ in range(2)
        ]
        # B's five are posted by the senders once B's lease runs out; here: the rest, once.
        await asyncio.gather(*(drain(sender, rounds=4) for sender in senders))
        posted = [text.split("** ")[1].split("\n")[0] for text in fake.texts("community-a1-key")]
        assert len(posted) == len(set(posted)) == 2  # 12 - A's 5 - B's 5, each once
    finally:
        await engine.dispose()
