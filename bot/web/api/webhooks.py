"""The webhook routes of /api/v1 (scope `webhooks`): subscribe an endpoint, list and delete
subscriptions, read a subscription's delivery log. The sender is bot/channels/webhooks.py."""

from __future__ import annotations

import base64
import json
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.services import webhooks
from bot.web.api import core as api
from bot.web.api.webhook_models import (
    DeliveryOut,
    DeliveryPage,
    WebhookCreatedOut,
    WebhookIn,
    WebhookList,
    WebhookOut,
)

SCOPE = "webhooks"


def _out(view: webhooks.SubscriptionView, tz: ZoneInfo) -> WebhookOut:
    return WebhookOut(
        id=view.id,
        url=view.url,
        events=list(view.events),
        created_at=view.created_at.astimezone(tz),
    )


def _subscription_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise api.ApiProblem(404, "not_found", _("Not found."))
    return int(raw)


async def subscribe(request: web.Request) -> web.Response:
    config = request.app[api.config_key]
    client = api._client(request, SCOPE)
    given: WebhookIn = await api._body(request, WebhookIn)
    if config.cipher is None:
        raise api.ApiProblem(503, "unavailable", _("Webhooks are not available here."))
    cipher = config.cipher

    async def run() -> api.Answer:
        made = await webhooks.subscribe(
            config.uow(),
            cipher,
            client,
            url=given.url,
            events=list(given.events),
            allow_http_localhost=config.allow_http_localhost,
        )
        out = WebhookCreatedOut(
            **_out(made.subscription, config.tz).model_dump(), secret=made.secret
        )
        return 201, out.model_dump(mode="json")

    return await api._idempotent(request, client, run)


async def list_subscriptions(request: web.Request) -> web.Response:
    config = request.app[api.config_key]
    client = api._client(request, SCOPE)
    views = await webhooks.subscriptions(config.uow(), client)
    out = WebhookList(items=[_out(view, config.tz) for view in views])
    return api._respond(200, out.model_dump(mode="json"))


async def unsubscribe(request: web.Request) -> web.Response:
    config = request.app[api.config_key]
    client = api._client(request, SCOPE)
    await webhooks.unsubscribe(config.uow(), client, subscription_id=_subscription_id(request))
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


def _after(raw: str | None) -> int:
    if raw is None:
        return 0
    try:
        after = json.loads(base64.urlsafe_b64decode((raw + "=" * (-len(raw) % 4)).encode()))["a"]
        if isinstance(after, int) and 0 < after < 2**63:
            return after
    except (ValueError, KeyError, TypeError):
        pass
    raise api._invalid([("cursor", _("This value is not valid."))])


async def list_deliveries(request: web.Request) -> web.Response:
    config = request.app[api.config_key]
    client = api._client(request, SCOPE)
    unknown = set(request.query) - {"cursor"}
    if unknown:
        raise api._invalid([(name, _("This field is not allowed.")) for name in sorted(unknown)])
    rows = await webhooks.deliveries(
        config.uow(),
        client,
        subscription_id=_subscription_id(request),
        after=_after(request.query.get("cursor")),
    )
    tz = config.tz
    items = [
        DeliveryOut(
            id=row.id,
            message_id=row.message_id,
            event_type=row.event_type,
            state=row.state,
            attempts=row.attempts,
            last_status=row.last_status,
            last_error=row.last_error,
            next_at=row.next_at.astimezone(tz) if row.next_at else None,
            created_at=row.created_at.astimezone(tz),
            delivered_at=row.delivered_at.astimezone(tz) if row.delivered_at else None,
        )
        for row in rows
    ]
    more = len(rows) == webhooks.PAGE
    cursor = api._b64(json.dumps({"a": rows[-1].id}).encode()) if more else None
    out = DeliveryPage(items=items, next_cursor=cursor)
    return api._respond(200, out.model_dump(mode="json"))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/webhooks", subscribe)
    app.router.add_get("/webhooks", list_subscriptions)
    app.router.add_delete("/webhooks/{id}", unsubscribe)
    app.router.add_get("/webhooks/{id}/deliveries", list_deliveries)
