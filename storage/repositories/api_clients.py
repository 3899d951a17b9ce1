"""City apps of the HTTP API and the first answers to their idempotent POSTs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiClient, ApiIdempotency


class ApiClientsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, client: ApiClient) -> ApiClient:
        self.session.add(client)
        await self.session.flush()
        return client

    async def get(self, pk: int) -> ApiClient | None:
        return await self.session.get(ApiClient, pk)

    async def by_client_id(self, client_id: str) -> ApiClient | None:
        return (
            await self.session.execute(select(ApiClient).where(ApiClient.client_id == client_id))
        ).scalar_one_or_none()

    async def all(self) -> list[ApiClient]:
        return list(
            (await self.session.execute(select(ApiClient).order_by(ApiClient.id))).scalars()
        )

    async def idempotent(self, client_pk: int, key: str) -> ApiIdempotency | None:
        return (
            await self.session.execute(
                select(ApiIdempotency).where(
                    ApiIdempotency.client_pk == client_pk, ApiIdempotency.key == key
                )
            )
        ).scalar_one_or_none()

    async def claim(self, client_pk: int, key: str, fingerprint: str) -> bool:
        """Take the key for a first request (committed by the caller); False when another
        request holds it already (a unique key per app, so across processes too)."""
        try:
            async with self.session.begin_nested():
                self.session.add(
                    ApiIdempotency(client_pk=client_pk, key=key, fingerprint=fingerprint)
                )
        except IntegrityError:
            return False
        return True

    async def answer(self, client_pk: int, key: str, status: int, body: dict[str, Any]) -> None:
        row = await self.idempotent(client_pk, key)
        if row is not None:
            row.status = status
            row.body = body

    async def release(self, client_pk: int, key: str) -> None:
        await self.session.execute(
            delete(ApiIdempotency).where(
                ApiIdempotency.client_pk == client_pk,
                ApiIdempotency.key == key,
                ApiIdempotency.status.is_(None),
            )
        )

    async def prune(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(ApiIdempotency).where(ApiIdempotency.created_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)
