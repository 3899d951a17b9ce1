"""The bot's real application with WeChat on, against the fake WeChat, and served on a port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestServer

from bot.app import Application, build
from bot.config import load_settings
from handlers.common.commands import set_default_commands
from tests.support import fake_wechat
from tests.support.fake_wechat import FakeWeChat


async def started(database_url: str, fake: FakeWeChat, **settings: Any) -> Application:
    application = build(
        load_settings(
            database_url=database_url,
            secret_key="test-secret",
            wechat_token=fake_wechat.TOKEN,
            wechat_app_id=fake_wechat.APP_ID,
            wechat_app_secret=fake_wechat.APP_SECRET,
            wechat_aes_key=fake_wechat.AES_KEY,
            wechat_api_url=fake.api_url,
            wechat_oauth_url=fake.api_url,
            **settings,
        )
    )
    assert application.wechat is not None
    with application.i18n.context(), application.i18n.use_locale("zh"):
        await set_default_commands(application.wechat.bot, application.i18n)
    return application


@asynccontextmanager
async def serving(application: Application, fake: FakeWeChat) -> AsyncIterator[Application]:
    """The application on a local port the fake WeChat posts to; closed after."""
    server = TestServer(application.web_app)
    await server.start_server()
    fake.bot_url = str(server.make_url("")).rstrip("/")
    try:
        yield application
    finally:
        await server.close()
        await application.close()
