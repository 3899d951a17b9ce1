"""The runnable example of docs/api.md, run as it is written against a real server."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.app import build
from bot.config import load_settings
from bot.domain.enums import ScopeLevel
from bot.services import api_clients
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
