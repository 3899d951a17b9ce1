"""Webhooks out to the API apps (Standard Webhooks): subscriptions, events recorded with the
change that causes them, their fan-out to the apps that may see them, and the delivery log.

An event is recorded by `record` inside the service's own transaction (a request's state
change or public note, a shift reminder, a consultation opened or decided). The sender
(bot/channels/webhooks.py) fans events out to the subscriptions of apps whose area covers
the event's community — person-bound events only to apps acting for that person — and then
delivers each one, signed, with retries; a delivery's message id stays the same across them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from bot.domain.enums import Channel
from bot.domain.errors import InvalidInput, NotFound, PermissionDenied
from bot.domain.principal import Place
from bot.services import UnitOfWork
from bot.services.api_clients import ClientView, client_view
from bot.services.crypto import PersonalDataCipher
from bot.services.places import place_of
from storage.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from storage.types import utcnow

EVENT_TYPES = (
    "request.status_changed",
    "request.note_added",
    "shift.reminder",
    "broadcast.sent",
    "consultation.opened",
    "consultation.decided",
)
# Events about one person: only an app that acts for that person hears them.
PERSON_BOUND = frozenset({"shift.reminder", "broadcast.sent"})
MAX_SUBSCRIPTIONS = 10
MAX_URL = 500
PAGE = 50
MAX_BACKOFF = 3600.0


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    id: int
    url: str
    events: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Subscribed:
    subscription: SubscriptionView
    secret: str  # whsec_…, shown once


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    subscription_id: int
    message_id: str
    event_type: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str
    next_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    url: str
    secret: str
    message_id: str
    body: str
    attempts: int


# ------------------------------------------------------------------ signatures


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` value: v1,<base64 HMAC-SHA256 of "id.timestamp.body"> keyed
    with the secret's bytes (the base64 after `whsec_`)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
        "content-type": "application/json",
    }


def backoff(attempts: int, base: float, rng: random.Random | None = None) -> float:
    """Seconds before the next try: base·2^(attempts−1), capped, with ±25 % jitter."""
    delay = min(base * 2.0 ** max(attempts - 1, 0), MAX_BACKOFF)
    jitter = rng.random() if rng else random.random()
    return delay * (0.75 + 0.5 * jitter)


# ------------------------------------------------------------------ subscriptions


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_http_localhost: bool) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL or not parts.hostname or parts.username or parts.password:
        raise InvalidInput("url", "not a URL")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and allow_http_localhost and _is_local(parts.hostname):
        return url
    raise InvalidInput("url", "not https")


def _require_scope(client: ClientView) -> None:
    if "webhooks" not in client.scopes:
        raise PermissionDenied()


def _subscription(row: WebhookSubscription) -> SubscriptionView:
    return SubscriptionView(row.id, row.url, tuple(row.events.split(",")), row.created_at)


async def subscribe(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    client: ClientView,
    *,
    url: str,
    events: list[str],
    allow_http_localhost: bool = False,
) -> Subscribed:
    _require_scope(client)
    url = check_url(url, allow_http_localhost=allow_http_localhost)
    chosen = _known_events(events)
    secret = new_secret()
    async with uow:
        if len(await uow.webhooks.of_client(client.id)) >= MAX_SUBSCRIPTIONS:
            raise InvalidInput("url", "too many subscriptions")
        row = await uow.webhooks.add(
            WebhookSubscription(
                client_pk=client.id,
                url=url,
                events=",".join(chosen),
                secret_sealed=cipher.encrypt(secret),
                created_at=utcnow(),
            )
        )
        uow.audit.record(
            actor_id=None,
            action="api.webhook_subscribed",
            entity="api_client",
            entity_id=client.id,
            details={"subscription": row.id, "events": row.events},
        )
        view = _subscription(row)
        await uow.commit()
    return Subscribed(view, secret)


def _known_events(events: list[str]) -> list[str]:
    """The events asked for, in EVENT_TYPES' order; any unknown one is refused."""
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown or not events:
        raise InvalidInput("events", ",".join(unknown) or "empty")
    return [e for e in EVENT_TYPES if e in events]


async def subscriptions(uow: UnitOfWork, client: ClientView) -> list[SubscriptionView]:
    _require_scope(client)
    async with uow:
        return [_subscription(row) for row in await uow.webhooks.of_client(client.id)]


async def _own(uow: UnitOfWork, client: ClientView, subscription_id: int) -> WebhookSubscription:
    row = await uow.webhooks.get(subscription_id)
    if row is None or row.client_pk != client.id or row.deleted_at is not None:
        raise NotFound("webhook", subscription_id)
    return row


async def unsubscribe(uow: UnitOfWork, client: ClientView, *, subscription_id: int) -> None:
    """No more events to it; its delivery log stays readable to the admin (CLI)."""
    _require_scope(client)
    async with uow:
        row = await _own(uow, client, subscription_id)
        row.deleted_at = utcnow()
        uow.audit.record(
            actor_id=None,
            action="api.webhook_deleted",
            entity="api_client",
            entity_id=client.id,
            details={"subscription": row.id},
        )
        await uow.commit()


def _delivery(row: WebhookDelivery) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        subscription_id=row.subscription_id,
        message_id=row.message_id,
        event_type=row.event_type,
        state=row.state,
        attempts=row.attempts,
        last_status=row.last_status,
        last_error=row.last_error,
        next_at=row.next_at if row.state == "queued" else None,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


async def deliveries(
    uow: UnitOfWork, client: ClientView, *, subscription_id: int, after: int = 0
) -> list[DeliveryView]:
    """One page of a subscription's delivery log, newest first (ids below `after`)."""
    _require_scope(client)
    async with uow:
        await _own(uow, client, subscription_id)
        rows = await uow.webhooks.deliveries([subscription_id], after=after, limit=PAGE)
        return [_delivery(row) for row in rows]


async def deliveries_of_app(uow: UnitOfWork, *, client_id: str) -> list[DeliveryView]:
    """The admin's view (CLI): the newest deliveries to all the app's endpoints."""
    async with uow:
        app = await uow.api_clients.by_client_id(client_id)
        if app is None:
            raise NotFound("api_client", client_id)
        ids = [row.id for row in await uow.webhooks.of_client(app.id, with_deleted=True)]
        rows = await uow.webhooks.deliveries(ids, after=0, limit=PAGE) if ids else []
        return [_delivery(row) for row in rows]


# ------------------------------------------------------------------ events


def record(
    uow: UnitOfWork,
    event_type: str,
    data: Mapping[str, Any],
    *,
    community_id: int | None,
    person_id: int | None = None,
    at: datetime | None = None,
) -> None:
    """Record an event inside the caller's entered unit of work (its transaction): it goes
    out only if the change is committed. `data` holds what any app of the area may read;
    person-bound details are added per app at fan-out."""
    assert event_type in EVENT_TYPES
    uow.webhooks.record(
        WebhookEvent(
            event_type=event_type,
            community_id=community_id,
            person_id=person_id,
            data=dict(data),
            at=at or utcnow(),
        )
    )


async def listened(uow: UnitOfWork, event_type: str) -> bool:
    """Whether any app wants `event_type` (a broadcast records one event per recipient only
    then)."""
    return bool(await uow.webhooks.listening(event_type))


def _covered(event: WebhookEvent, client: ClientView, places: dict[int, Any]) -> bool:
    ids = event.data.get("community_ids") or [event.community_id]
    return any(places.get(i) is not None and client.covers(places[i]) for i in ids)


async def _app_user(uow: UnitOfWork, client_id: str, person_id: int | None) -> str | None:
    """The app's own id of the person, when the app acts for them."""
    if person_id is None:
        return None
    prefix = f"{client_id}:"
    for account in await uow.people.accounts_of(person_id):
        if account.channel is Channel.APP and account.external_id.startswith(prefix):
            return account.external_id.removeprefix(prefix)
    return None


async def _payload(
    uow: UnitOfWork, event: WebhookEvent, client: ClientView
) -> dict[str, Any] | None:
    """What this app hears of the event, or None when it may not hear it."""
    if event.community_id is not None and not _covered(event, client, await _places(uow, event)):
        return None
    person = await _app_user(uow, client.client_id, event.person_id)
    if event.event_type in PERSON_BOUND and person is None:
        return None
    data = {k: v for k, v in event.data.items() if not k.startswith("_")}
    if person is not None:
        # The app's own user: it may read what they may (e.g. a public note's text).
        data.update({k[1:]: v for k, v in event.data.items() if k.startswith("_")})
        data["person"] = person
    timestamp = event.at.isoformat().replace("+00:00", "Z")
    return {"type": event.event_type, "timestamp": timestamp, "data": data}


async def _places(uow: UnitOfWork, event: WebhookEvent) -> dict[int, Place | None]:
    """The places of the event's communities (None: gone since)."""
    assert event.community_id is not None
    places = {}
    for community_id in event.data.get("community_ids") or [event.community_id]:
        community = await uow.places.community(community_id)
        places[community_id] = place_of(community) if community is not None else None
    return places


async def fan_out(uow: UnitOfWork, *, limit: int = 100) -> int:
    """Turn recorded events into deliveries for the subscriptions that may see them, in the
    events' order; the number of events taken."""
    async with uow:
        events = await uow.webhooks.take_events(limit)
        for event in events:
            for subscription, app in await uow.webhooks.listening(event.event_type):
                payload = await _payload(uow, event, client_view(app))
                if payload is not None:
                    uow.webhooks.queue(_delivery_of(subscription, event, payload))
            await uow.webhooks.forget(event)
        await uow.commit()
    return len(events)


def _delivery_of(
    subscription: WebhookSubscription, event: WebhookEvent, payload: dict[str, Any]
) -> WebhookDelivery:
    return WebhookDelivery(
        subscription_id=subscription.id,
        message_id="msg_" + secrets.token_hex(12),
        event_type=event.event_type,
        payload=payload,
        next_at=event.at,
    )


# ------------------------------------------------------------------ delivery


async def claim(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[Job]:
    async with uow:
        rows = await uow.webhooks.claim(owner, now, lease, limit)
        jobs = []
        for row in rows:
            subscription = await uow.webhooks.get(row.subscription_id)
            assert subscription is not None
            body = json.dumps(row.payload, ensure_ascii=False, separators=(",", ":"))
            secret = cipher.decrypt(subscription.secret_sealed)
            jobs.append(Job(row.id, subscription.url, secret, row.message_id, body, row.attempts))
        await uow.commit()
    return jobs


async def finish(
    uow: UnitOfWork,
    job: Job,
    *,
    owner: str,
    now: datetime,
    status: int | None,
    error: str,
    max_attempts: int,
    base_seconds: float,
) -> str:
    """Record one try: delivered on a 2xx, else again later or failed after max_attempts.
    Only the holder of the claim records (a sender whose lease ran out does not)."""
    async with uow:
        row = await uow.webhooks.delivery(job.id)
        if row is None or row.claimed_by != owner or row.state != "queued":
            return "lost"
        row.attempts += 1
        row.last_status, row.last_error = status, error[:200]
        row.claimed_by = row.claimed_at = None
        if status is not None and 200 <= status < 300:
            row.state, row.delivered_at = "delivered", now
        elif row.attempts >= max_attempts:
            row.state = "failed"
        else:
            row.next_at = now + timedelta(seconds=backoff(row.attempts, base_seconds))
        state = row.state
        await uow.commit()
    return state
