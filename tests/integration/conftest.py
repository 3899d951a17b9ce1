"""Fixtures of the WeChat tests: the fake WeChat, and the bot serving the demo map to it (a
module needing other data or settings defines its own `served`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import Application
from storage.uow import UnitOfWork
from tests.support.factories import make_map
from tests.support.fake_wechat import FakeWeChat
from tests.support.wechat_app import serving, started


@pytest.fixture
async def wechat() -> AsyncIterator[FakeWeChat]:
    fake = FakeWeChat()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def served(
    database_url: str, wechat: FakeWeChat, uow: UnitOfWork
) -> AsyncIterator[Application]:
    await make_map(uow)
    async with serving(await started(database_url, wechat), wechat) as application:
        yield application
