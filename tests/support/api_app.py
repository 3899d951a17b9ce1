"""An app registered on the HTTP API and its bearer token, for the API's tests."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from bot.domain.enums import ScopeLevel
from bot.services import api_clients
from storage.uow import UnitOfWork

ALL_SCOPES = tuple(sorted(api_clients.SCOPES))


async def register(
    uow: UnitOfWork,
    level: ScopeLevel,
    area: int,
    scopes: tuple[str, ...] = ("needs:write", "needs:read"),
) -> api_clients.Registered:
    return await api_clients.register(
        uow, name="渝快社区", scopes=list(scopes), area_level=level, area_id=area
    )


async def bearer(client: TestClient, app: api_clients.Registered) -> dict[str, str]:
    response = await client.post(
        "/api/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app.client.client_id,
            "client_secret": app.secret,
        },
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    return {"Authorization": f"Bearer {body['access_token']}"}
