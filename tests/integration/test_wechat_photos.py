"""Photos sent on WeChat: fetched through media/get before the media id expires, kept like a
Telegram photo, and shown to a worker on any channel."""

from __future__ import annotations

from aiogram.types import BufferedInputFile
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Application
from bot.domain.enums import Channel
from storage.db import make_session_factory
from storage.models import Need
from tests.integration.test_web_channel_conversations import jpeg
from tests.integration.test_wechat_channel import RESIDENT, number_of, onboard
from tests.support.fake_wechat import FakeWeChat


async def describe_a_need(wechat: FakeWeChat) -> None:
    await onboard(wechat)
    menu = await wechat.user_sends(RESIDENT, "/need")
    await wechat.user_sends(RESIDENT, number_of(menu, "养老服务"))
    await wechat.user_sends(RESIDENT, "楼道灯坏了，老人晚上看不见")


async def test_a_photo_sent_on_wechat_is_kept_with_the_request_and_reaches_a_web_worker(
    served: Application, wechat: FakeWeChat, engine: AsyncEngine
) -> None:
    picture = jpeg()
    await describe_a_need(wechat)
    screen = await wechat.user_photo(RESIDENT, picture)
    assert "已添加照片" in screen, screen
    for label in ("一般", "本人", "不用上门", "确认"):
        screen = await wechat.user_sends(RESIDENT, number_of(screen, label))
    assert "编号" in screen, screen
    async with make_session_factory(engine)() as session:
        kept = (await session.scalars(select(Need.photo))).one()
    assert kept is not None and kept.startswith("wechat:")
    # The bot's own photo library (as a worker on the web page opens the request): the
    # photo is fetched through the WeChat bot from where it was kept, byte for byte.
    shown = await served.dispatcher["photos"].sendable(kept, Channel.WEB)
    assert isinstance(shown, BufferedInputFile)
    assert shown.data == picture


async def test_a_photo_whose_media_id_expired_is_asked_again_and_nothing_is_kept(
    served: Application, wechat: FakeWeChat
) -> None:
    await describe_a_need(wechat)
    screen = await wechat.user_photo(RESIDENT, None)
    assert "照片没有收到" in screen, screen
    assert "已添加照片" not in screen
    # The step goes on: a photo that arrives is taken, even when the token had just expired
    # (42001: refreshed once and fetched again).
    wechat.expire_token_once()
    screen = await wechat.user_photo(RESIDENT, jpeg((200, 10, 10)))
    assert "已添加照片" in screen, screen
