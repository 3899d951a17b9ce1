"""Webhook subscriptions of the API apps and their delivery outbox (migration 0021)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import ApiClient, WebhookDelivery, WebhookEvent, WebhookSubscription


class WebhooksRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: WebhookSubscription) -> WebhookSubscription:
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, pk: int) -> WebhookSubscription | None:
        return await self.session.get(WebhookSubscription, pk)

    async def of_client(
        self, client_pk: int, *, with_deleted: bool = False
    ) -> list[WebhookSubscription]:
        query = select(WebhookSubscription).where(WebhookSubscription.client_pk == client_pk)
        if not with_deleted:
            query = query.where(WebhookSubscription.deleted_at.is_(None))
        query = query.order_by(WebhookSubscription.id)
        return list((await self.session.scalars(query)).all())

    async def listening(self, event_type: str) -> list[tuple[WebhookSubscription, ApiClient]]:
        """Live subscriptions of apps not revoked that want `event_type` (filtered by area
        in the service)."""
        query = (
            select(WebhookSubscription, ApiClient)
            .join(ApiClient, ApiClient.id == WebhookSubscription.client_pk)
            .where(
                WebhookSubscription.deleted_at.is_(None),
                ApiClient.revoked_at.is_(None),
                ApiClient.scopes.contains("webhooks"),
            )
            .order_by(WebhookSubscription.id)
        )
        rows = (await self.session.execute(query)).all()
        return [(s, c) for s, c in rows if event_type in s.events.split(",")]

    def record(self, event: WebhookEvent) -> None:
        self.session.add(event)

    async def take_events(self, limit: int) -> list[WebhookEvent]:
        """The oldest recorded events, locked without skipping: one fan-out at a time, so
        deliveries are numbered in the order of the events on every subscription."""
        query = select(WebhookEvent).order_by(WebhookEvent.id).limit(limit).with_for_update()
        return list((await self.session.scalars(query)).all())

    async def forget(self, event: WebhookEvent) -> None:
        await self.session.delete(event)

    def queue(self, delivery: WebhookDelivery) -> None:
        self.session.add(delivery)

    async def claim(
        self, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[WebhookDelivery]:
        """The due deliveries that head their subscription's queue (an earlier one still
        queued holds the later ones back: events arrive in order) and nobody holds; rows
        another process has locked are skipped (PostgreSQL)."""
        earlier = aliased(WebhookDelivery)
        query = (
            select(WebhookDelivery)
            .where(
                WebhookDelivery.state == "queued",
                WebhookDelivery.next_at <= now,
                or_(WebhookDelivery.claimed_at.is_(None), WebhookDelivery.claimed_at < now - lease),
                ~exists().where(
                    and_(
                        earlier.subscription_id == WebhookDelivery.subscription_id,
                        earlier.state == "queued",
                        earlier.id < WebhookDelivery.id,
                    )
                ),
            )
            .order_by(WebhookDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        )
        rows = list((await self.session.scalars(query)).all())
        for row in rows:
            row.claimed_by, row.claimed_at = owner, now
        await self.session.flush()
        return rows

    async def delivery(self, pk: int) -> WebhookDelivery | None:
        return await self.session.get(WebhookDelivery, pk, with_for_update=True)

    async def deliveries(
        self, subscription_ids: list[int], *, after: int, limit: int
    ) -> list[WebhookDelivery]:
        """Newest first, below the id `after` (0: from the newest)."""
        query = select(WebhookDelivery).where(WebhookDelivery.subscription_id.in_(subscription_ids))
        if after:
            query = query.where(WebhookDelivery.id < after)
        query = query.order_by(WebhookDelivery.id.desc()).limit(limit)
        return list((await self.session.scalars(query)).all())
