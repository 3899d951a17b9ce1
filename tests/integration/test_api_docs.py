"""The runnable example of docs/api.md, run as it is written against a real server."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bot.app import build
from bot.config import load_settings
from bot.domain.enums import ScopeLevel
from bot.services import api_clients, webhooks
from storage.uow import UnitOfWork
from tests.support.factories import make_map

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def example() -> str:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- example:start -->")[1].split("<!-- example:end -->")[0]
    return block.split("```python\n")[1].split("```")[0]


async def test_the_documented_example_files_and_reads_a_request(
    database_url: str, uow: UnitOfWork, aiohttp_server: Any
) -> None:
    world = await make_map(uow)
    application = build(load_settings(database_url=database_url, secret_key="test-secret"))
    try:
        server = await aiohttp_server(application.web_app)
        app = await api_clients.register(
            uow,
            name="渝快社区",
            scopes=["needs:write", "needs:read"],
            area_level=ScopeLevel.STREET,
            area_id=world.street_a,
        )
        env = {
            **os.environ,
            "API_URL": f"http://{server.host}:{server.port}/api/v1",
            "CLIENT_ID": app.client.client_id,
            "CLIENT_SECRET": app.secret,
            "COMMUNITY_ID": str(world.community_a1),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            example(),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        lines = out.decode().splitlines()
        assert lines[0].startswith("filed A1-") and " new " in lines[0]
        assert lines[0].endswith("+08:00")
        assert lines[1] == "history ['filed']"
        reference = lines[0].split()[1]
        assert lines[2] == f"mine ['{reference}']"
        assert lines[3] == f"needs list ['{reference}']"
    finally:
        await application.close()


def verification() -> str:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- verify:start -->")[1].split("<!-- verify:end -->")[0]
    return block.split("```python\n")[1].split("```")[0]


def test_the_documented_verification_accepts_our_signatures_and_refuses_forgeries() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(verification(), "docs/api.md", "exec"), namespace)
    verify = namespace["verify"]
    secret = webhooks.new_secret()
    body = '{"type":"request.status_changed","data":{"request":{"id":1}}}'
    now = int(time.time())
    headers = webhooks.headers(secret, "msg_1", now, body)
    assert verify(secret, headers, body.encode())
    assert not verify(secret, headers, body.replace("1", "2").encode())
    assert not verify(webhooks.new_secret(), headers, body.encode())
    old = webhooks.headers(secret, "msg_1", now - 3600, body)
    assert not verify(secret, old, body.encode())
    # The Standard Webhooks specification's own example, with its old timestamp allowed.
    spec = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,bm9ldmVu v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert verify(secret, spec, b'{"test": 2432232314}', tolerance=10**10)
