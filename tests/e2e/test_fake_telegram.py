"""The fake Telegram server behaves like the real Bot API, as seen by the real aiogram client."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, html
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MenuButtonCommands,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.support.fake_telegram import FakeTelegram

TOKEN = "123456:TEST-TOKEN"
USER = 1001
OTHER_USER = 1002
PNG_2X3 = (
    b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (2).to_bytes(4) + (3).to_bytes(4) + bytes(5)
)


def make_bot(fake: FakeTelegram, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))


def buttons(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    row = [InlineKeyboardButton(text=text, callback_data=data) for text, data in pairs]
    return InlineKeyboardMarkup(inline_keyboard=[row])


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    client = make_bot(fake)
    yield client
    await client.session.close()


@contextlib.asynccontextmanager
async def local_server(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


# --------------------------------------------------------------------------- protocol


async def test_get_me_describes_the_bot_from_its_token(bot: Bot, fake: FakeTelegram) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "wushe_test_bot")
    assert (me.can_join_groups, me.supports_inline_queries) == (True, False)
    assert [call.method for call in fake.calls] == ["getMe"]


async def test_a_wrong_token_is_unauthorized(fake: FakeTelegram) -> None:
    stranger = make_bot(fake, "123456:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await stranger.get_me()
    finally:
        await stranger.session.close()
    assert fake.calls == []


async def test_errors_have_the_exact_telegram_shape_and_status(fake: FakeTelegram) -> None:
    fake.add_user(USER)
    fake.fail_next("sendMessage", 429, retry_after=3)
    api = f"{fake.base_url}/bot{TOKEN}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api}/sendMessage", data={"chat_id": USER, "text": "x"}) as resp:
            assert resp.status == 429
            assert await resp.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            }
        async with http.post(f"{api}/noSuchMethod") as resp:
            assert (resp.status, await resp.json()) == (
                404,
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
            )
        async with http.get(f"{fake.base_url}/bot1:NOPE/getMe") as resp:
            assert (resp.status, await resp.json()) == (
                401,
                {"ok": False, "error_code": 401, "description": "Unauthorized"},
            )


async def test_json_urlencoded_and_query_bodies_are_decoded(fake: FakeTelegram) -> None:
    fake.add_user(USER)
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    url = f"{fake.base_url}/bot{TOKEN}/sendMessage"
    form = {"chat_id": str(USER), "text": "form", "reply_markup": json.dumps(markup)}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            url, json={"chat_id": USER, "text": "json", "reply_markup": markup}
        ) as r:
            as_json = await r.json()
        async with http.post(url, data=form) as r:
            as_form = await r.json()
        async with http.get(url, params={"chat_id": str(USER), "text": "007"}) as r:
            as_query = await r.json()
    assert as_json["result"]["reply_markup"] == markup
    assert (as_form["result"]["text"], as_form["result"]["reply_markup"]) == ("form", markup)
    assert as_query["result"]["text"] == "007"  # text stays a string even if it looks like JSON
    assert fake.calls_of("sendMessage")[1] == {
        "chat_id": USER,
        "text": "form",
        "reply_markup": markup,
    }


# --------------------------------------------------------------------------- sending


async def test_sent_message_round_trips_and_is_recorded(bot: Bot, fake: FakeTelegram) -> None:
    update = fake.user_sends(USER, "hi", first_name="Ann")
    markup = buttons(("Yes", "yes"))
    sent = await bot.send_message(USER, "Hello, Ann", reply_markup=markup)
    assert sent.message_id == update["message"]["message_id"] + 1
    assert (sent.chat.id, sent.chat.type, sent.chat.first_name) == (USER, "private", "Ann")
    assert sent.from_user is not None and (sent.from_user.id, sent.from_user.is_bot) == (
        bot.id,
        True,
    )
    assert sent.text == "Hello, Ann"
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump() == markup.model_dump()
    assert [m["text"] for m in fake.bot_messages(USER)] == ["Hello, Ann"]
    assert [m["text"] for m in fake.messages(USER)] == ["hi", "Hello, Ann"]
    stored = fake.last_bot_message(USER)
    assert stored is not None
    assert stored["reply_markup"] == {
        "inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]
    }
    assert fake.calls_of("sendMessage")[0]["reply_markup"] == stored["reply_markup"]


async def test_reply_keyboards_belong_to_the_chat_not_the_message(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.user_sends(USER, "hi")
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text="Share phone", request_contact=True)],
            [KeyboardButton(text="Help")],
        ]
    )
    sent = await bot.send_message(USER, "Choose", reply_markup=keyboard)
    assert sent.reply_markup is None  # Telegram only echoes inline keyboards
    shown = fake.reply_keyboard(USER)
    assert shown is not None and shown["keyboard"][1][0]["text"] == "Help"
    update = fake.user_presses(USER, "Share phone", phone_number="+8613800000000")
    contact = update["message"]["contact"]
    assert contact == {"phone_number": "+8613800000000", "first_name": "Test", "user_id": USER}
    assert fake.user_presses(USER, "Help")["message"]["text"] == "Help"
    await bot.send_message(USER, "Thanks", reply_markup=ReplyKeyboardRemove())
    assert fake.reply_keyboard(USER) is None
    with pytest.raises(AssertionError, match="no reply keyboard button 'Help'"):
        fake.user_presses(USER, "Help")


async def test_html_becomes_plain_text_with_utf16_entities(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_sends(USER, "hi")
    sent = await bot.send_message(
        USER,
        '  😀 <b>Bold</b> &lt;tag&gt; &amp; <a href="https://example.org">site</a> '
        "<tg-spoiler>s</tg-spoiler>\n",
        parse_mode="HTML",
    )
    assert sent.text == "😀 Bold <tag> & site s"  # tags stripped, entities unescaped, trimmed
    assert sent.entities is not None
    spans = [(e.type, e.offset, e.length) for e in sent.entities]
    assert spans == [("bold", 3, 4), ("text_link", 16, 4), ("spoiler", 21, 1)]
    assert sent.entities[1].url == "https://example.org/"
    stored = fake.last_bot_message(USER)
    assert stored is not None and stored["text"] == sent.text


async def test_nested_entities_come_sorted_like_telegram(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_sends(USER, "hi")
    sent = await bot.send_message(
        USER, "<i><b>Hi</b> all</i>, see /help or https://example.org", parse_mode="HTML"
    )
    assert sent.entities is not None
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("italic", 0, 6),
        ("bold", 0, 2),
        ("bot_command", 12, 5),
        ("url", 21, 19),
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Use <br> here", 'Unsupported start tag "br" at byte offset 4'),
        ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ('<a href=https://x.org">x</a>', "Unexpected end of name token"),
    ],
)
async def test_bad_html_is_refused_like_telegram(
    bot: Bot, fake: FakeTelegram, text: str, reason: str
) -> None:
    fake.user_sends(USER, "hi")
    with pytest.raises(TelegramBadRequest, match="can't parse entities") as error:
        await bot.send_message(USER, text, parse_mode="HTML")
    assert reason in error.value.message
    assert fake.bot_messages(USER) == []


async def test_markdown_v2_needs_reserved_characters_escaped(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_sends(USER, "hi")
    with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved"):
        await bot.send_message(USER, "Total: 5.00", parse_mode="MarkdownV2")
    text = r"*Total:* 5\.00 [map](https://example.org)"
    sent = await bot.send_message(USER, text, parse_mode="MarkdownV2")
    assert sent.text == "Total: 5.00 map"
    assert sent.entities is not None
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 6),
        ("text_link", 12, 3),
    ]


async def test_text_is_limited_to_4096_characters_after_parsing(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.user_sends(USER, "hi")
    assert len((await bot.send_message(USER, "я" * 4096)).text or "") == 4096
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "x" * 4097)
    assert len(fake.bot_messages(USER)) == 2


@pytest.mark.parametrize("text", ["", "   \n ", "<b></b>"])
async def test_empty_text_is_refused(bot: Bot, fake: FakeTelegram, text: str) -> None:
    fake.user_sends(USER, "hi")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, text, parse_mode="HTML")


async def test_inline_buttons_are_validated(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_sends(USER, "hi")
    await bot.send_message(USER, "ok", reply_markup=buttons(("Go", "é" * 32)))  # 64 bytes
    for data in ("x" * 65, "é" * 33):
        with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
            await bot.send_message(USER, "too long", reply_markup=buttons(("Go", data)))
    text_only = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Go")]])
    with pytest.raises(TelegramBadRequest, match="Text buttons are unallowed"):
        await bot.send_message(USER, "no action", reply_markup=text_only)
    assert [m["text"] for m in fake.bot_messages(USER)] == ["ok"]


async def test_edits_follow_telegram_rules(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_sends(USER, "hi")
    markup = buttons(("Next", "next"))
    sent = await bot.send_message(USER, "<b>Menu</b>", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="message is not modified: specified new"):
        await bot.edit_message_text(
            "<b>Menu</b>",
            chat_id=USER,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=markup,
        )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=USER, message_id=sent.message_id, reply_markup=markup
        )
    plain = await bot.edit_message_text(
        "Menu", chat_id=USER, message_id=sent.message_id, reply_markup=markup
    )
    assert isinstance(plain, Message)
    assert (plain.text, plain.entities) == ("Menu", None)
    assert plain.reply_markup is not None
    assert plain.reply_markup.model_dump() == markup.model_dump()
    assert plain.edit_date is not None
    dropped = await bot.edit_message_text("Menu 2", chat_id=USER, message_id=sent.message_id)
    assert isinstance(dropped, Message) and dropped.reply_markup is None  # omitted = removed
    stored = fake.last_bot_message(USER)
    assert stored is not None and stored["text"] == "Menu 2" and "reply_markup" not in stored


async def test_missing_or_foreign_messages_cannot_be_edited_or_deleted(
    bot: Bot, fake: FakeTelegram
) -> None:
    own = fake.user_sends(USER, "hi")["message"]["message_id"]
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=USER, message_id=own)
    sent = await bot.send_message(USER, "bye")
    assert await bot.delete_message(USER, sent.message_id) is True
    assert fake.bot_messages(USER) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=sent.message_id)


async def test_blocked_user_makes_sends_forbidden(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_sends(USER, "hi")
    fake.block_user(USER)
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(USER, "news")
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.send_chat_action(USER, "typing")
    member = (await bot.get_updates())[-1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
    assert member.from_user.id == USER
    fake.user_sends(USER, "/start")  # "Restart" unblocks the bot
    assert (await bot.send_message(USER, "welcome back")).text == "welcome back"


async def test_sending_to_strangers_is_refused(bot: Bot, fake: FakeTelegram) -> None:
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(424242, "hi")
    fake.add_user(OTHER_USER, started=False)
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(OTHER_USER, "hi")


async def test_send_chat_action_checks_the_action(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_sends(USER, "hi")
    assert await bot.send_chat_action(USER, "typing") is True
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(USER, "dancing")


# --------------------------------------------------------------------------- fault injection


async def test_injected_flood_error_raises_retry_after_once(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_sends(USER, "hi")
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as error:
        await bot.send_message(USER, "x")
    assert error.value.retry_after == 7
    assert (await bot.send_message(USER, "y")).text == "y"
    fake.fail_next("sendMessage", 502, chat_id=OTHER_USER)  # aimed at another chat
    await bot.send_message(USER, "z")
    fake.fail_next("sendMessage", 500, times=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(USER, "down")
    assert [m["text"] for m in fake.bot_messages(USER)] == ["y", "z"]


async def test_rate_limits_answer_429_with_retry_after(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_sends(USER, "hi")
    fake.user_sends(OTHER_USER, "hi")
    fake.rate_limit(global_per_second=30, per_chat_per_second=1)
    await bot.send_message(USER, "1")
    with pytest.raises(TelegramRetryAfter) as error:
        await bot.send_message(USER, "2")
    assert error.value.retry_after == 1
    await bot.send_message(OTHER_USER, "another chat has its own budget")
    fake.rate_limit(global_per_second=2, per_chat_per_second=None)
    await bot.send_message(USER, "a")
    await bot.send_message(OTHER_USER, "b")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(USER, "c")
    fake.rate_limit(None, None)
    await bot.send_message(USER, "unlimited")


# --------------------------------------------------------------------------- updates


async def test_get_updates_long_polls_until_an_update_arrives(bot: Bot, fake: FakeTelegram) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_for_call("getUpdates")
    await asyncio.sleep(0.3)
    assert not poll.done()
    update = fake.user_sends(USER, "/start")
    updates = await asyncio.wait_for(poll, 2)
    assert [u.update_id for u in updates] == [update["update_id"]]
    message = updates[0].message
    assert message is not None and message.from_user is not None
    assert (message.text, message.chat.id, message.from_user.id) == ("/start", USER, USER)
    assert message.entities is not None
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bot_command", 0, 6)]


async def test_get_updates_returns_nothing_when_the_timeout_expires(bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(timeout=1) == []
    assert loop.time() - started >= 0.9


async def test_confirmed_updates_are_not_delivered_again(bot: Bot, fake: FakeTelegram) -> None:
    first = fake.user_sends(USER, "one")
    second = fake.user_sends(USER, "two")
    texts = [u.message.text for u in await bot.get_updates() if u.message]
    assert texts == ["one", "two"]
    assert len(await bot.get_updates()) == 2  # not confirmed yet
    assert len(await bot.get_updates(limit=1)) == 1
    again = await bot.get_updates(offset=first["update_id"] + 1)
    assert [u.update_id for u in again] == [second["update_id"]]
    assert await bot.get_updates(offset=second["update_id"] + 1) == []
    assert fake.pending_updates == []


async def test_a_second_poller_terminates_the_first(bot: Bot, fake: FakeTelegram) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_for_call("getUpdates")
    second = asyncio.create_task(bot.get_updates(timeout=5))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 2)
    fake.user_sends(USER, "hi")
    assert len(await asyncio.wait_for(second, 2)) == 1


async def test_allowed_updates_filter_updates_created_later(bot: Bot, fake: FakeTelegram) -> None:
    await bot.get_updates(allowed_updates=["callback_query"])
    fake.user_sends(USER, "ignored")
    assert await bot.get_updates() == []
    await bot.get_updates(allowed_updates=[])  # empty list: back to the default set
    fake.user_sends(USER, "seen")
    assert [u.message.text for u in await bot.get_updates() if u.message] == ["seen"]


async def test_user_media_location_and_contact_parse_in_aiogram(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.user_shares_location(USER, 31.23, 121.47, live_period=60)
    fake.user_shares_contact(USER, "+8613800000000")
    fake.user_sends_document(USER, b"%PDF-1.4", "id.pdf")
    fake.user_sends_photo(USER, PNG_2X3, caption="broken lamp")
    location, contact, document, photo = [u.message for u in await bot.get_updates()]
    assert location and location.location
    assert (location.location.latitude, location.location.live_period) == (31.23, 60)
    assert contact and contact.contact and contact.contact.user_id == USER
    assert document and document.document and document.document.mime_type == "application/pdf"
    assert (await bot.download(document.document.file_id) or b"").read() == b"%PDF-1.4"  # type: ignore[union-attr]
    assert photo and photo.photo and (photo.photo[-1].width, photo.caption) == (2, "broken lamp")
    with pytest.raises(AssertionError, match="only send real images"):
        fake.user_sends_photo(USER, b"text")


# --------------------------------------------------------------------------- callback queries


async def test_a_click_arrives_as_a_parsed_callback_query(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_sends(USER, "hi")
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Page 2", callback_data="page:2"),
                InlineKeyboardButton(text="Site", url="https://example.org"),
            ]
        ]
    )
    sent = await bot.send_message(USER, "Page 1", reply_markup=markup)
    offset = (await bot.get_updates())[-1].update_id + 1
    query_id = fake.user_clicks(USER, sent.message_id, "Page 2")
    [update] = await bot.get_updates(offset=offset)
    query = update.callback_query
    assert query is not None and query.chat_instance
    assert (query.id, query.data, query.from_user.id) == (query_id, "page:2", USER)
    assert isinstance(query.message, Message)
    assert (query.message.message_id, query.message.text) == (sent.message_id, "Page 1")
    assert query.message.reply_markup is not None
    assert query.message.reply_markup.model_dump() == markup.model_dump()
    assert fake.user_clicks(USER, sent.message_id, "page:2") != query_id  # by data, a new query
    assert await bot.answer_callback_query(query_id, text="Loading…") is True
    assert fake.callback_answers[query_id]["text"] == "Loading…"
    with pytest.raises(AssertionError, match="no inline button 'Page 3'"):
        fake.user_clicks(USER, sent.message_id, "Page 3")
    with pytest.raises(AssertionError, match="not a callback button"):
        fake.user_clicks(USER, sent.message_id, "Site")


async def test_stale_repeated_or_unknown_callback_answers_are_refused(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.callback_query_ttl = 0.2
    fake.user_sends(USER, "hi")
    sent = await bot.send_message(USER, "Vote", reply_markup=buttons(("Up", "up")))
    stale = fake.user_clicks(USER, sent.message_id, "Up")
    await asyncio.sleep(0.3)
    with pytest.raises(TelegramBadRequest, match="query is too old and response timeout expired"):
        await bot.answer_callback_query(stale)
    fresh = fake.user_clicks(USER, sent.message_id, "Up")
    assert await bot.answer_callback_query(fresh) is True
    for query_id in (fresh, "12345"):
        with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
            await bot.answer_callback_query(query_id)


# --------------------------------------------------------------------------- files


async def test_an_uploaded_document_can_be_downloaded_and_resent(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.user_sends(USER, "hi")
    data = "名字,电话\n张三,123\n".encode()
    sent = await bot.send_document(
        USER, BufferedInputFile(data, "report.csv"), caption="<i>Report</i>", parse_mode="HTML"
    )
    assert sent.document is not None and sent.caption_entities is not None
    assert (sent.document.file_name, sent.document.file_size) == ("report.csv", len(data))
    assert (sent.caption, sent.caption_entities[0].type) == ("Report", "italic")
    assert fake.file_bytes(sent.document.file_id) == data
    upload = fake.calls_of("sendDocument")[0]["document"]
    assert (upload.filename, upload.data) == ("report.csv", data)
    downloaded = await bot.download(sent.document.file_id)
    assert downloaded is not None and downloaded.read() == data
    resent = await bot.send_document(USER, sent.document.file_id)
    assert resent.document is not None and resent.document.file_id == sent.document.file_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(USER, "no-such-file")


async def test_photos_must_be_images(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_sends(USER, "hi")
    sent = await bot.send_photo(USER, BufferedInputFile(PNG_2X3, "chart.png"))
    assert sent.photo is not None and (sent.photo[-1].width, sent.photo[-1].height) == (2, 3)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, BufferedInputFile(b"not an image", "x.png"))
    with pytest.raises(TelegramBadRequest, match="type of file mismatch"):
        await bot.send_document(USER, sent.photo[-1].file_id)


async def test_location_and_copies_are_sent(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_sends(OTHER_USER, "admin here")
    report = fake.user_sends_photo(USER, PNG_2X3, caption="lamp")["message"]
    sent = await bot.send_location(USER, 31.2, 121.5)
    assert sent.location is not None and sent.location.latitude == 31.2
    copied = await bot.copy_message(OTHER_USER, USER, report["message_id"])
    forwarded = fake.last_bot_message(OTHER_USER)
    assert forwarded is not None and forwarded["message_id"] == copied.message_id
    assert (forwarded["caption"], forwarded["photo"]) == ("lamp", report["photo"])
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(OTHER_USER, USER, 999)


async def test_captions_chats_and_bulk_deletes(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_sends(USER, "hi", username="ann_li")
    photo = await bot.send_photo(USER, BufferedInputFile(PNG_2X3, "a.png"), caption="old")
    edited = await bot.edit_message_caption(
        chat_id=USER, message_id=photo.message_id, caption="<b>new</b>", parse_mode="HTML"
    )
    assert isinstance(edited, Message) and edited.caption == "new"
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("x", chat_id=USER, message_id=photo.message_id)
    chat = await bot.get_chat(USER)
    assert (chat.id, chat.type, chat.username) == (USER, "private", "ann_li")
    text = await bot.send_message(USER, "x")
    assert await bot.delete_messages(USER, [photo.message_id, text.message_id, 999]) is True
    assert fake.bot_messages(USER) == []


# --------------------------------------------------------------------------- bot settings


async def test_commands_are_stored_per_scope_and_language(bot: Bot, fake: FakeTelegram) -> None:
    admin = BotCommandScopeChat(chat_id=USER)
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands([BotCommand(command="start", description="开始")], language_code="zh")
    await bot.set_my_commands([BotCommand(command="admin", description="Admin")], scope=admin)
    assert [c.description for c in await bot.get_my_commands(language_code="zh")] == ["开始"]
    assert [c.command for c in await bot.get_my_commands(scope=admin)] == ["admin"]
    assert fake.my_commands() == [{"command": "start", "description": "Start"}]
    assert fake.my_commands({"type": "chat", "chat_id": USER}) is not None
    await bot.delete_my_commands(language_code="zh")
    assert await bot.get_my_commands(language_code="zh") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])


async def test_profile_settings_round_trip(bot: Bot) -> None:
    await bot.set_my_description("Community services", language_code="en")
    assert (await bot.get_my_description(language_code="en")).description == "Community services"
    await bot.set_my_short_description("Help desk")
    assert (await bot.get_my_short_description()).short_description == "Help desk"
    await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
    assert (await bot.get_chat_menu_button()).type == "commands"
    assert await bot.delete_webhook() is True
    assert await bot.log_out() is True


# --------------------------------------------------------------------------- webhooks


async def test_webhook_gets_updates_with_the_secret_and_retries(
    bot: Bot, fake: FakeTelegram
) -> None:
    received: list[tuple[int, str | None]] = []

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        received.append(
            (update["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        return web.Response(status=500 if len(received) == 1 else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    fake.webhook_retry_delay = 0.05
    async with local_server(app) as base:
        assert await bot.set_webhook(f"{base}/hook", secret_token="s3cret") is True
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()
        update = fake.user_sends(USER, "via webhook")
        await fake.wait_until(lambda: len(received) == 2, timeout=5)
        assert received == [(update["update_id"], "s3cret")] * 2
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == (f"{base}/hook", 0)
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
        assert await bot.delete_webhook() is True
    fake.user_sends(USER, "polling again")
    assert [u.message.text for u in await bot.get_updates() if u.message] == ["polling again"]


async def test_a_method_in_the_webhook_reply_is_executed(bot: Bot, fake: FakeTelegram) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> object:
        return message.answer(f"echo: {message.text}")  # not awaited: answered in the reply

    app = web.Application()
    SimpleRequestHandler(dp, bot, handle_in_background=False, secret_token="tok").register(
        app, path="/wh"
    )
    async with local_server(app) as base:
        await bot.set_webhook(f"{base}/wh", secret_token="tok")
        fake.user_sends(USER, "ping")
        reply = await fake.wait_for_bot_message(USER, contains="echo: ping")
    assert reply["from"]["is_bot"] and fake.calls_of("sendMessage") == [
        {"chat_id": USER, "text": "echo: ping"}
    ]


# --------------------------------------------------------------------------- aiogram Dispatcher


async def test_dispatcher_polling_answers_start(bot: Bot, fake: FakeTelegram) -> None:
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        name = message.from_user.first_name if message.from_user else "?"
        await message.answer(f"Welcome, <b>{html.quote(name)}</b>!", parse_mode="HTML")

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
    try:
        await fake.wait_for_call("getUpdates")
        update = fake.user_sends(USER, "/start", first_name="Li <Lei>")
        reply = await fake.wait_for_bot_message(USER, contains="Welcome")
        assert reply["text"] == "Welcome, Li <Lei>!"
        assert reply["entities"] == [{"type": "bold", "offset": 9, "length": 8}]
        confirmed = update["update_id"] + 1
        await fake.wait_for_call("getUpdates", lambda params: params.get("offset") == confirmed)
        assert fake.pending_updates == []
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 5)


async def test_waiting_sees_edits_after_the_latest_user_action(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.user_sends(USER, "/menu")
    menu = await bot.send_message(USER, "Menu", reply_markup=buttons(("Next", "next")))
    assert (await fake.wait_for_bot_message(USER, contains="Menu"))["message_id"] == menu.message_id
    fake.user_clicks(USER, menu.message_id, "Next")
    with pytest.raises(AssertionError, match="no bot message in chat 1001 matching"):
        await fake.wait_for_bot_message(USER, contains="Menu", timeout=0.1)

    async def edit_later() -> None:
        await asyncio.sleep(0.1)
        await bot.edit_message_text("Page 2", chat_id=USER, message_id=menu.message_id)

    editing = asyncio.create_task(edit_later())
    edited = await fake.wait_for_bot_message(USER, contains="Page 2")
    await editing
    assert edited["message_id"] == menu.message_id and "edit_date" in edited
    assert (await fake.wait_for_bot_message(USER, contains="Menu", after=0))["text"] == "Menu"


async def test_a_failed_wait_reports_what_the_chat_got(bot: Bot, fake: FakeTelegram) -> None:
    fake.user_sends(USER, "hi")
    await bot.send_message(USER, "Something else")
    with contextlib.suppress(TelegramBadRequest):
        await bot.send_message(USER, "<p>Welcome</p>", parse_mode="HTML")
    with pytest.raises(AssertionError) as error:
        await fake.wait_for_bot_message(USER, contains="Welcome", timeout=0.2)
    assert "#2: 'Something else'" in str(error.value)
    assert (
        'sendMessage -> 400 Bad Request: can\'t parse entities: Unsupported start tag "p"'
        in str(error.value)
    )


# --------------------------------------------------------------------------- group chats

GROUP_ID = -5550001


async def test_group_updates_parse_in_aiogram_and_privacy_mode_filters_talk(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.add_group(GROUP_ID, "3栋业主群", creator=USER, members=[OTHER_USER])
    added = Update.model_validate(fake.add_bot_to_group(GROUP_ID, USER), context={"bot": bot})
    assert added.my_chat_member is not None
    assert added.my_chat_member.chat.type == "group"
    assert added.my_chat_member.new_chat_member.status == "member"
    command = fake.user_sends_in_group(GROUP_ID, OTHER_USER, "/need@wushe_test_bot")
    assert command is not None
    message = Update.model_validate(command, context={"bot": bot}).message
    assert message is not None and message.chat.title == "3栋业主群"
    assert message.from_user is not None and message.from_user.id == OTHER_USER
    assert fake.user_sends_in_group(GROUP_ID, OTHER_USER, "大家好") is None  # privacy mode
    fake.privacy_mode = False
    assert fake.user_sends_in_group(GROUP_ID, OTHER_USER, "大家好") is not None
    assert (await bot.get_me()).can_read_all_group_messages is True
    anonymous = fake.user_sends_in_group(GROUP_ID, USER, "/linkgroup", anonymous=True)
    assert anonymous is not None
    parsed = Update.model_validate(anonymous, context={"bot": bot}).message
    assert parsed is not None and parsed.sender_chat is not None
    assert parsed.from_user is not None and parsed.from_user.username == "GroupAnonymousBot"


async def test_get_chat_administrators_lists_the_owner_and_admins(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.add_group(GROUP_ID, "G", kind="group", creator=USER, admins=[OTHER_USER], members=[7])
    fake.add_bot_to_group(GROUP_ID, USER, admin=True)
    admins = await bot.get_chat_administrators(GROUP_ID)
    assert {(a.user.id, a.status) for a in admins} == {
        (USER, "creator"),
        (OTHER_USER, "administrator"),
        (fake.bot_id, "administrator"),
    }
    fake.user_sends(USER, "hi")
    with pytest.raises(TelegramBadRequest, match="no administrators in the private chat"):
        await bot.get_chat_administrators(USER)


async def test_a_group_takes_20_messages_a_minute_and_a_removed_bot_cannot_post(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.add_group(GROUP_ID, "G", kind="supergroup", creator=USER)
    with pytest.raises(TelegramForbiddenError, match="not a member of the supergroup chat"):
        await bot.send_message(GROUP_ID, "before I was added")
    fake.add_bot_to_group(GROUP_ID, USER)
    for n in range(20):
        await bot.send_message(GROUP_ID, f"notice {n}")
    with pytest.raises(TelegramRetryAfter) as error:
        await bot.send_message(GROUP_ID, "the 21st within a minute")
    assert 55 <= error.value.retry_after <= 60
    fake.user_sends(USER, "hi")
    await bot.send_message(USER, "a private chat is not held by the group's limit")
    removed = fake.remove_bot_from_group(GROUP_ID, USER)
    assert removed["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    with pytest.raises(TelegramForbiddenError, match="kicked from the supergroup chat"):
        await bot.send_message(GROUP_ID, "after")


async def test_an_upgraded_group_answers_with_its_new_id(bot: Bot, fake: FakeTelegram) -> None:
    fake.add_group(GROUP_ID, "G", creator=USER)
    fake.add_bot_to_group(GROUP_ID, USER)
    service = fake.upgrade_to_supergroup(GROUP_ID, -1005550001)
    assert service is not None and service["message"]["migrate_to_chat_id"] == -1005550001
    with pytest.raises(TelegramMigrateToChat) as error:
        await bot.send_message(GROUP_ID, "old id")
    assert error.value.migrate_to_chat_id == -1005550001
    await bot.send_message(-1005550001, "new id")
    assert fake.last_bot_message(-1005550001)["text"] == "new id"  # type: ignore[index]


async def test_a_button_in_a_group_is_clicked_by_a_member(bot: Bot, fake: FakeTelegram) -> None:
    fake.add_group(GROUP_ID, "G", creator=USER, members=[OTHER_USER])
    fake.add_bot_to_group(GROUP_ID, USER)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Pick", callback_data="pick")]]
    )
    sent = await bot.send_message(GROUP_ID, "choose", reply_markup=markup)
    fake.user_clicks(OTHER_USER, sent.message_id, "Pick", chat_id=GROUP_ID)
    query = Update.model_validate(fake.pending_updates[-1], context={"bot": bot}).callback_query
    assert query is not None and query.from_user.id == OTHER_USER
    assert query.message is not None and query.message.chat.id == GROUP_ID
