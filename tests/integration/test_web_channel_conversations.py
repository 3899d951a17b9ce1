"""What the web channel can and cannot do, through the real Dispatcher: no contact-sharing
button where a browser cannot share a contact, and photos a person uploads reach the workers
on every channel."""

from __future__ import annotations

import io
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import GetFile, SendPhoto, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import BufferedInputFile, File, KeyboardButton, ReplyKeyboardMarkup
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.webchat import reply_keyboard
from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.volunteers import check_character
from bot.i18n import make_i18n
from handlers.common.capabilities import PhotoLibrary, phone_keyboard
from storage.db import make_session_factory
from storage.models import Need
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person

RESIDENT, WORKER = 7101, 7102


def jpeg(color: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), color).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
async def world(uow: UnitOfWork) -> Map:
    world = await make_map(uow)
    c = ScopeLevel.COMMUNITY
    await make_person(
        uow,
        "王阿姨",
        community=world.community_a1,
        web_id=RESIDENT,
        grants=((Role.RESIDENT, c, world.community_a1),),
    )
    await make_person(
        uow,
        "李社工",
        community=world.community_a1,
        web_id=WORKER,
        grants=((Role.COMMUNITY_WORKER, c, world.community_a1),),
    )
    return world


@pytest.fixture
async def chat(engine: AsyncEngine, world: Map) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def test_the_web_page_is_not_offered_a_phone_button_it_cannot_use(
    chat: ChatHarness,
) -> None:
    number = "50010619850612123" + check_character("50010619850612123")
    await chat.send(RESIDENT, "/volunteer")
    await chat.tap(RESIDENT, "我同意")  # the notice, then the ID number's own consent
    await chat.tap(RESIDENT, "我同意")
    await chat.send(RESIDENT, "王 芳")
    shown = await chat.send(RESIDENT, number)
    question = shown[-1]
    assert "请直接输入" in question["html"]
    buttons = [b["text"] for row in question["reply_keyboard"] or [] for b in row]
    assert not any("手机号" in text for text in buttons)
    assert question["remove_keyboard"] is True
    # Typed, the number is taken.
    await chat.send(RESIDENT, "138 0013 8000")
    assert "手机号已保存。" in "\n".join(chat.screens(RESIDENT))


def test_only_telegram_gets_the_contact_button_and_the_page_never_shows_one() -> None:
    with make_i18n("zh").context():
        telegram = phone_keyboard(Channel.TELEGRAM)
        others = [phone_keyboard(channel) for channel in (Channel.WEB, Channel.WECHAT)]
    assert isinstance(telegram, ReplyKeyboardMarkup)
    assert telegram.keyboard[0][0].request_contact is True
    assert not any(isinstance(keyboard, ReplyKeyboardMarkup) for keyboard in others)
    # A keyboard built elsewhere with a contact button: the page leaves that button out.
    markup = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text="📱 分享我的手机号", request_contact=True)],
            [KeyboardButton(text="📍 发送位置", request_location=True)],
        ]
    ).model_dump(exclude_none=True)
    assert reply_keyboard(markup) == [[{"text": "📍 发送位置", "request_location": True}]]


async def file_need_with_photo(chat: ChatHarness, picture: bytes) -> str:
    await chat.send(RESIDENT, "/need")
    await chat.tap(RESIDENT, "养老服务")
    await chat.send(RESIDENT, "楼道灯坏了，老人晚上看不见")
    shown = await chat.send_photo(RESIDENT, picture)  # "add a photo or your location"
    assert any("已添加照片" in e.get("html", "") for e in shown)
    await chat.tap(RESIDENT, "一般")
    await chat.tap(RESIDENT, "本人")
    await chat.tap(RESIDENT, "不用上门")
    await chat.tap(RESIDENT, "确认")
    done = chat.last_text(RESIDENT)
    return done.split("编号 ")[1].split("。")[0]


async def test_a_photo_uploaded_on_the_web_reaches_the_worker_who_opens_the_request(
    chat: ChatHarness, engine: AsyncEngine
) -> None:
    picture = jpeg()
    reference = await file_need_with_photo(chat, picture)
    async with make_session_factory(engine)() as session:
        kept = (await session.scalars(select(Need.photo))).one()
    assert kept is not None and kept.startswith("web:")  # like "telegram:<file id>"
    await chat.send(WORKER, "/queue")
    shown = await chat.tap(WORKER, reference)
    photos = [e for e in shown if e["type"] == "photo"]
    assert len(photos) == 1
    copy = chat.hub.files[photos[0]["url"].rsplit("/", 1)[1]]
    assert (copy.chat_id, copy.content) == (WORKER, picture)
    assert "楼道灯坏了" in chat.last_text(WORKER)


class FakeTelegramSession(BaseSession):
    """Just enough of Telegram for photos: getFile + download of one file, and sendPhoto."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__()
        self.files = files
        self.sent: list[Any] = []

    async def close(self) -> None:
        return None

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        if isinstance(method, GetFile):
            return File(  # type: ignore[return-value]
                file_id=method.file_id, file_unique_id="u", file_path=f"photos/{method.file_id}"
            )
        if isinstance(method, SendPhoto):
            self.sent.append(method.photo)
            return None  # type: ignore[return-value]
        raise AssertionError(f"unexpected {method.__api_method__}")

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield self.files[url.rsplit("/", 1)[1]]


async def test_photos_cross_channels_in_both_directions(chat: ChatHarness) -> None:
    from_web = jpeg((200, 10, 10))
    await chat.send_photo(RESIDENT, from_web)
    token = next(iter(chat.hub.files))
    from_telegram = jpeg((10, 200, 10))
    telegram = Bot("42:fake", session=FakeTelegramSession({"AgACphoto": from_telegram}))
    library = PhotoLibrary({Channel.WEB: chat.bot, Channel.TELEGRAM: telegram})
    # A worker on Telegram gets the web request's photo, uploaded from its bytes…
    upload = await library.sendable(f"web:{token}", Channel.TELEGRAM)
    assert isinstance(upload, BufferedInputFile) and upload.data == from_web
    # …a worker on the web page sees the Telegram request's photo…
    fetched = await library.sendable("telegram:AgACphoto", Channel.WEB)
    assert isinstance(fetched, BufferedInputFile) and fetched.data == from_telegram
    # …and on its own channel a photo goes by its file id.
    assert await library.sendable("telegram:AgACphoto", Channel.TELEGRAM) == "AgACphoto"
    assert await library.sendable(f"web:{token}", Channel.WEB) == token
    # One that is gone, or a reference of no channel, shows nothing instead of failing.
    assert await library.sendable("web:no-such-file", Channel.TELEGRAM) is None
    assert await library.sendable("fax:123", Channel.WEB) is None


def test_a_photo_is_recognised_by_its_first_bytes_not_its_name() -> None:
    from bot.channels.webchat import photo_type

    webp = io.BytesIO()
    Image.new("RGB", (2, 2)).save(webp, "WEBP")
    gif = io.BytesIO()
    Image.new("RGB", (2, 2)).save(gif, "GIF")
    assert photo_type(jpeg()) == "image/jpeg"
    assert photo_type(webp.getvalue()) == "image/webp"
    assert photo_type(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert photo_type(gif.getvalue()) is None
    assert photo_type(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None  # a sound, not a WebP
    assert photo_type(b"<html>") is None
