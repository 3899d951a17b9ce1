"""schemathesis against the served OpenAPI document, on a real port: generated requests for
every operation never get a 500, and every answer matches the document (status, content
type, body schema). On SQLite and PostgreSQL, like every storage-backed test."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from typing import Any

import aiohttp
import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from bot.app import build
from bot.config import load_settings
from bot.domain.enums import ScopeLevel
from bot.services import api_clients
from storage.uow import UnitOfWork
from tests.support.factories import make_map

pytestmark = pytest.mark.integration

EXAMPLES = 25  # per operation and mode: about 40 s per backend on two cores
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def exercise(strategy: Any, statuses: Counter[int], base_url: str, headers: dict[str, str]) -> None:
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=strategy)
    def check(case: schemathesis.Case) -> None:
        response = case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)
        statuses[response.status_code] += 1

    check()


def operations(document: dict[str, Any]) -> list[str]:
    return [f"{m} {p}" for p, ops in document["paths"].items() for m in ops]


def fuzz(
    base_url: str, document: dict[str, Any], headers: dict[str, str]
) -> tuple[list[str], dict[str, Counter[int]]]:
    """Runs in a thread (requests is synchronous; the server answers on the test's loop).
    Returns the failures and the statuses seen per operation."""
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    seen: dict[str, Counter[int]] = {}
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    for result, mode in itertools.product(schema.get_all_operations(), modes):
        operation = result.ok()
        raw = operation.definition.raw
        if mode is schemathesis.GenerationMode.NEGATIVE and not (
            raw.get("parameters") or raw.get("requestBody")
        ):
            continue  # nothing to make invalid (GET /webhooks takes no input)
        statuses = seen.setdefault(f"{mode.value} {operation.label}", Counter())
        # Positive cases act for a resident who lives in the app's area (so filing can
        # succeed); negative ones get a generated Person too.
        fixed = {"Person": "fuzz-1"} if mode is schemathesis.GenerationMode.POSITIVE else None
        strategy = operation.as_strategy(generation_mode=mode, headers=fixed)

        try:
            exercise(strategy, statuses, base_url, headers)
        except Exception as error:  # collected: one report names every failing operation
            failures.append(f"{mode.value} {operation.label}: {error}")
    return failures, seen


async def test_generated_requests_never_fail_and_match_the_document(
    database_url: str, uow: UnitOfWork, aiohttp_server: Any
) -> None:
    world = await make_map(uow)
    application = build(
        load_settings(database_url=database_url, secret_key="test-secret", rate_api_client="0/1")
    )
    try:
        server = await aiohttp_server(application.web_app)
        base = f"http://{server.host}:{server.port}"
        app = await api_clients.register(
            uow,
            name="fuzz",
            scopes=sorted(api_clients.SCOPES),
            area_level=ScopeLevel.DISTRICT,
            area_id=world.district,
        )
        async with aiohttp.ClientSession() as http:
            token = await (
                await http.post(
                    f"{base}/api/v1/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": app.client.client_id,
                        "client_secret": app.secret,
                    },
                )
            ).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            document = await (await http.get(f"{base}/api/v1/openapi.json")).json()
            # One request on file, so that reads and feedback meet a real one too.
            filed = await http.post(
                f"{base}/api/v1/requests",
                json={
                    "category": "other",
                    "description": "路灯不亮",
                    "community_id": world.community_a1,
                },
                headers={**headers, "Person": "fuzz-1"},
            )
            assert filed.status == 201
        document["servers"] = [{"url": f"{base}/api/v1"}]
        failures, seen = await asyncio.to_thread(fuzz, f"{base}/api/v1", document, headers)
        assert failures == []
        print(seen)
        # GET /webhooks takes no input: no invalid case of it, one valid one.
        assert len(seen) == 2 * len(operations(document)) - 1
        # Some operations have few inputs (GET /certificates: only the Person header).
        thin = {
            name: sum(s.values()) for name, s in seen.items() if sum(s.values()) < EXAMPLES // 4
        }
        assert all(count >= 1 for count in thin.values()), thin
        assert len(thin) <= 5, thin
        # Generated requests got through validation to the services, not only refusals.
        assert seen["positive POST /requests"][201] > 0
        assert seen["positive GET /requests"][200] > 0
        for listing in ("/needs", "/resources", "/projects", "/shifts", "/kpis", "/consultations"):
            assert seen[f"positive GET {listing}"][200] > 0, listing
        # Invalid ones were refused as problems, never accepted.
        assert set(seen["negative POST /requests"]) <= {401, 404, 403, 409, 422}
        assert seen["positive GET /webhooks"][200] > 0
        assert set(seen["negative POST /webhooks"]) <= {401, 404, 403, 409, 422}
    finally:
        await application.close()
