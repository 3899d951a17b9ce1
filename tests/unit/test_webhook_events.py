"""Events for the API apps' webhooks, recorded with the change and fanned out only to the
apps that may see them: a shift reminder only to an app acting for the volunteer, a
consultation to the apps of its communities, never to an app of another street."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.domain.broadcasts import Audience, AudienceKind
from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.principal import Grant, Principal
from bot.services import api_clients, broadcasts, consultations, privacy, shifts, webhooks
from bot.services.ports import RecordingNotifier
from storage.models import ChannelAccount, WebhookDelivery, WebhookEvent
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.support.factories import make_map, make_person
from tests.unit.test_consultations import TEXTS, open_one, setting
from tests.unit.test_shifts import CIPHER, NOW, START, make_shift, volunteer


async def app_of(uow: UnitOfWork, level: ScopeLevel, area: int) -> api_clients.ClientView:
    made = await api_clients.register(
        uow, name="app", scopes=["webhooks"], area_level=level, area_id=area
    )
    await webhooks.subscribe(
        uow, CIPHER, made.client, url="https://app.example/h", events=["shift.reminder"]
    )
    return made.client


async def acts_for(
    uow: UnitOfWork, app: api_clients.ClientView, person_id: int, app_user: str
) -> None:
    """The app acts for the person, whom it knows as `app_user`."""
    account = f"{app.client_id}:{app_user}"
    async with uow:
        await uow.people.add_account(
            ChannelAccount(
                person_id=person_id, channel=Channel.APP, external_id=account, chat_id=account
            )
        )
        await uow.commit()


async def deliveries(uow: UnitOfWork) -> list[tuple[int, dict[str, object]]]:
    async with uow:
        rows = (await uow.session.scalars(select(WebhookDelivery).order_by("id"))).all()
        return [(r.subscription_id, r.payload) for r in rows]


async def test_a_shift_reminder_reaches_only_the_app_acting_for_the_volunteer(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    ours = await app_of(uow, ScopeLevel.STREET, world.street_a)
    await app_of(uow, ScopeLevel.STREET, world.street_b)
    await app_of(uow, ScopeLevel.DISTRICT, world.district)  # acts for nobody here
    shift = await make_shift(uow, world, capacity=2)
    acted_for, other = await volunteer(uow, world, 1), await volunteer(uow, world, 2)
    for v in (acted_for, other):
        await shifts.sign_up(uow, v, shift_id=shift.id, now=NOW)
    await acts_for(uow, ours, acted_for.person_id, "vol-1")
    sent = await shifts.send_reminders(uow, RecordingNotifier(), now=START - timedelta(hours=20))
    assert sent == 2
    assert await webhooks.fan_out(uow) == 2
    (only,) = await deliveries(uow)
    subscription, payload = only
    assert payload["type"] == "shift.reminder"
    data = payload["data"]
    assert isinstance(data, dict) and data["person"] == "vol-1"
    assert data["shift"]["id"] == shift.id
    async with uow:
        assert (await uow.session.scalars(select(WebhookEvent))).all() == []
        subscriptions = [row.id for row in await uow.webhooks.of_client(ours.id)]
    assert [subscription] == subscriptions


async def test_an_event_of_a_rolled_back_change_is_never_sent(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    await app_of(uow, ScopeLevel.DISTRICT, world.district)
    async with uow:
        webhooks.record(uow, "shift.reminder", {"x": 1}, community_id=world.community_a1)
        # no commit: the change (and its event) is rolled back
    assert await webhooks.fan_out(uow) == 0
    assert await deliveries(uow) == []


async def test_a_broadcast_reaches_the_app_of_a_recipient_who_uses_only_the_app(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    made = await api_clients.register(
        uow, name="app", scopes=["webhooks"], area_level=ScopeLevel.DISTRICT, area_id=world.district
    )
    await webhooks.subscribe(
        uow, CIPHER, made.client, url="https://app.example/h", events=["broadcast.sent"]
    )
    boss = await make_person(uow, "韩主任", community=world.community_a1)
    await make_person(uow, "居民", community=world.community_a1, web_id=1)
    app_user = await make_person(uow, "App居民", community=world.community_a1)
    await acts_for(uow, made.client, app_user, "res-9")
    worker = Principal(
        boss,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    draft = broadcasts.Draft(
        audience=Audience(AudienceKind.EVERYONE, (world.community_a1,)), text_zh="停水通知"
    )
    await broadcasts.create(uow, worker, draft)
    await webhooks.fan_out(uow)
    (only,) = await deliveries(uow)
    data = only[1]["data"]
    assert only[1]["type"] == "broadcast.sent"
    assert isinstance(data, dict) and data["person"] == "res-9"
    assert data["broadcast"]["text_zh"] == "停水通知"


async def test_a_consultation_opened_and_decided_reaches_the_apps_of_its_community_only(
    uow: UnitOfWork,
) -> None:
    w, worker, _, _, _ = await setting(uow)
    events = ["consultation.opened", "consultation.decided"]
    apps = []
    for level, area in ((ScopeLevel.STREET, w.street_a), (ScopeLevel.STREET, w.street_b)):
        made = await api_clients.register(
            uow, name="app", scopes=["webhooks"], area_level=level, area_id=area
        )
        await webhooks.subscribe(
            uow, CIPHER, made.client, url="https://app.example/h", events=events
        )
        apps.append(made.client)
    c = await open_one(uow, w, worker, major=False)
    later = utcnow() + timedelta(days=2)
    await consultations.close(uow, worker, consultation_id=c.id, now=later)
    await consultations.decide(
        uow, RecordingNotifier(), worker, consultation_id=c.id, decision="按楼层分摊",
        texts=TEXTS, now=later,
    )  # fmt: skip
    await webhooks.fan_out(uow)
    got = await deliveries(uow)
    async with uow:
        (ours,) = [row.id for row in await uow.webhooks.of_client(apps[0].id)]
    assert [s for s, _ in got] == [ours, ours]
    assert [p["type"] for _, p in got] == events
    decided = got[1][1]["data"]
    assert isinstance(decided, dict)
    assert decided["consultation"]["decision"] == "按楼层分摊"
    assert decided["community_ids"] == [w.community_a1]


async def test_an_erased_person_is_no_longer_named_in_any_webhook_delivery_or_event(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    app = await app_of(uow, ScopeLevel.STREET, world.street_a)
    shift = await make_shift(uow, world, capacity=2)
    erased, kept = await volunteer(uow, world, 1), await volunteer(uow, world, 2)
    for n, v in enumerate((erased, kept), start=1):
        await shifts.sign_up(uow, v, shift_id=shift.id, now=NOW)
        await acts_for(uow, app, v.person_id, f"vol-{n}")
    await shifts.send_reminders(uow, RecordingNotifier(), now=START - timedelta(hours=20))
    await webhooks.fan_out(uow)
    async with uow:  # the erased one's reminder already sent; a second one still queued
        rows = (await uow.session.scalars(select(WebhookDelivery).order_by("id"))).all()
        sent = next(r for r in rows if r.payload["data"]["person"] == "vol-1")
        sent.state, sent_at = "delivered", sent.payload["timestamp"]
        queued = WebhookDelivery(**{**_columns(sent), "message_id": "msg_again", "state": "queued"})
        uow.session.add(queued)
        webhooks.record(
            uow,
            "shift.reminder",
            {"_note": "回家路上小心"},
            community_id=None,
            person_id=erased.person_id,
        )
        await uow.commit()
    await privacy.erase(uow, RecordingNotifier(), erased)
    async with uow:
        rows = (await uow.session.scalars(select(WebhookDelivery).order_by("id"))).all()
        payloads, message_ids = [r.payload for r in rows], [r.message_id for r in rows]
        events = [(e.person_id, e.data) for e in await uow.session.scalars(select(WebhookEvent))]
    assert {
        "type": "shift.reminder",
        "timestamp": sent_at,
        "data": {},
    } in payloads
    assert "msg_again" not in message_ids  # queued: never goes out
    assert "vol-1" not in str(payloads)
    assert [p["data"]["person"] for p in payloads if p["data"]] == ["vol-2"]  # others kept
    assert events == [(None, {})]


def _columns(row: WebhookDelivery) -> dict[str, object]:
    return {c.key: getattr(row, c.key) for c in WebhookDelivery.__table__.columns if c.key != "id"}
