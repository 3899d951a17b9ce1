"""A volunteer's whole path through the real bot process and the fake Bot API server: registers
(in English), is verified, signs up for a shift, checks in by location and out by site code, the
organiser confirms, and /hours, the certificate and its verification page show the hours.

The clock cannot be moved inside the bot process, so "time passes" by moving the shift and the
check-in time in the database, as a deployment's data would look an hour or two later."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from pypdf import PdfReader
from sqlalchemy import func, select, update

from bot.domain.attendance import code_window
from bot.domain.volunteers import check_character
from bot.services.attendance import site_code
from bot.services.crypto import PersonalDataCipher
from storage.db import make_engine
from storage.models import AuditEntry, ServiceRecord, Shift
from tests.e2e.test_needs_e2e import onboard, tap
from tests.support.fake_telegram import FakeTelegram

VOLUNTEER, WORKER = 9200, 9201
HERE = (29.5790, 106.4470)
TWO_KM_NORTH = (HERE[0] + 0.018, HERE[1])
FIRST17 = "50010619850612123"


async def said(fake: FakeTelegram, user: int, text: str) -> dict[str, Any]:
    return await fake.wait_for_bot_message(user, contains=text)


async def tap_containing(fake: FakeTelegram, user: int, screen: str, label: str) -> str:
    """Tap the button whose text contains `label` (dates and numbers make up the rest)."""
    message = await said(fake, user, screen)
    [text] = [
        b["text"]
        for row in message["reply_markup"]["inline_keyboard"]
        for b in row
        if label in b["text"]
    ]
    fake.user_clicks(user, message["message_id"], text)
    return text


async def register_in_english(fake: FakeTelegram) -> None:
    fake.user_sends(VOLUNTEER, "/volunteer")
    await tap(fake, VOLUNTEER, "Before you register", "I agree")
    await tap(fake, VOLUNTEER, "Your ID number is sensitive", "I agree")
    await said(fake, VOLUNTEER, "Thank you for volunteering!")
    fake.user_sends(VOLUNTEER, "Wang Fang")
    await said(fake, VOLUNTEER, "Your resident ID number")
    wrong = "0" if check_character(FIRST17) != "0" else "1"
    mistyped = fake.user_sends(VOLUNTEER, FIRST17 + wrong)["message"]["message_id"]
    await said(fake, VOLUNTEER, "the message with the full number was removed")
    await said(fake, VOLUNTEER, "The last character does not match")
    typed = fake.user_sends(VOLUNTEER, FIRST17 + check_character(FIRST17))["message"]["message_id"]
    masked = await said(fake, VOLUNTEER, "ID number: 5001**********")
    assert "the message with the full number was removed" in masked["text"]
    await said(fake, VOLUNTEER, "Your mobile phone number?")
    # Both messages with the number were deleted from the Telegram chat (deleteMessage).
    assert {mistyped, typed} <= set(fake.chats[VOLUNTEER].deleted)
    assert mistyped not in fake.chats[VOLUNTEER].messages
    assert typed not in fake.chats[VOLUNTEER].messages
    fake.user_sends(VOLUNTEER, "13800138000")
    await tap(fake, VOLUNTEER, "What can you help with?", "Cooking")
    await fake.wait_for_call("editMessageReplyMarkup")
    fake.user_clicks(VOLUNTEER, fake.last_bot_message(VOLUNTEER)["message_id"], "Next »")
    await tap(fake, VOLUNTEER, "Any other skills?", "Skip")
    await tap(fake, VOLUNTEER, "When are you usually free?", "Next »")
    await tap(fake, VOLUNTEER, "Where do you want to serve?", "Next »")
    await tap(fake, VOLUNTEER, "Please check", "Confirm")
    await said(fake, VOLUNTEER, "Registered!")


async def post_shift_for_tomorrow(fake: FakeTelegram) -> None:
    tomorrow = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date()
    fake.user_sends(WORKER, "/newshift")
    await tap(fake, WORKER, "哪个社区需要志愿者", "磁器口社区")
    await said(fake, WORKER, "服务内容是什么")
    fake.user_sends(WORKER, "助餐送餐")
    await said(fake, WORKER, "在哪里")
    fake.user_sends(WORKER, "社区食堂")
    await said(fake, WORKER, "300 米")
    fake.user_shares_location(WORKER, *HERE)
    await said(fake, WORKER, "什么时间")
    fake.user_sends(WORKER, f"{tomorrow.isoformat()} 09:00-11:30")
    await tap(fake, WORKER, "我理解的时间是", "确认")  # the bot shows what it understood
    await said(fake, WORKER, "需要多少名志愿者")
    fake.user_sends(WORKER, "2")
    await tap(fake, WORKER, "需要哪些特长", "下一步 »")
    await tap(fake, WORKER, "请核对", "确认")
    await said(fake, WORKER, "班次已发布")


async def move_in_time(database_url: str, **changes: datetime) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            if "checked_in_at" in changes:
                await connection.execute(
                    update(ServiceRecord).values(checked_in_at=changes["checked_in_at"])
                )
            else:
                await connection.execute(update(Shift).values(**changes))
    finally:
        await engine.dispose()


async def only_shift_id(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return int((await connection.scalars(select(Shift.id))).one())
    finally:
        await engine.dispose()


async def count_records(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return int(
                await connection.scalar(select(func.count()).select_from(ServiceRecord)) or 0
            )
    finally:
        await engine.dispose()


async def audit_actions(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            query = select(AuditEntry.action).where(AuditEntry.entity == "service_record")
            return list((await connection.scalars(query.order_by(AuditEntry.id))).all())
    finally:
        await engine.dispose()


async def test_a_volunteer_serves_and_the_certificate_shows_the_confirmed_hours(
    fake_telegram: FakeTelegram, start_bot: Any, e2e_database_url: str
) -> None:
    fake = fake_telegram
    bot = await start_bot(BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)
    await onboard(fake, VOLUNTEER, "Wang", english=True)
    await onboard(fake, WORKER, "韩主任")
    bot.cli(
        "admin",
        "grant",
        "--telegram-id",
        str(WORKER),
        "--role",
        "community_worker",
        "--community",
        "1",
    )

    await register_in_english(fake)
    fake.user_sends(WORKER, "/volunteers")
    label = await tap_containing(fake, WORKER, "待认证", "Wang Fang")
    assert "5001**********" in label  # the ID number only masked, even to the worker
    await tap(fake, WORKER, "Wang Fang", "已核验证件：通过")
    await said(fake, WORKER, "已认证：Wang Fang")
    await said(fake, VOLUNTEER, "You are a verified volunteer now")

    await post_shift_for_tomorrow(fake)
    fake.user_sends(VOLUNTEER, "/shifts")
    await tap(fake, VOLUNTEER, "助餐送餐", "Sign up")
    await said(fake, VOLUNTEER, "You are signed up")

    # The shift has been running for two hours when the volunteer arrives.
    now = datetime.now(UTC)
    await move_in_time(
        e2e_database_url, starts_at=now - timedelta(hours=2), ends_at=now + timedelta(hours=1)
    )
    fake.user_sends(VOLUNTEER, "/checkin")
    await said(fake, VOLUNTEER, "Checking in to “助餐送餐”")
    fake.user_shares_location(VOLUNTEER, *TWO_KM_NORTH)
    await said(fake, VOLUNTEER, "You are 2.0 km from the meeting place")
    shift_id = await only_shift_id(e2e_database_url)
    expired = site_code(PersonalDataCipher(b"e2e-secret"), shift_id, code_window(now) - 3)
    fake.user_sends(VOLUNTEER, expired)
    await said(fake, VOLUNTEER, "That site code has expired")
    assert await count_records(e2e_database_url) == 0
    fake.user_shares_location(VOLUNTEER, *HERE)
    await said(fake, VOLUNTEER, "✅ Checked in")
    fake.user_sends(VOLUNTEER, "/checkin")
    await said(fake, VOLUNTEER, "You are already checked in")
    assert await count_records(e2e_database_url) == 1

    # Ninety minutes later the organiser shows the site code; the volunteer checks out with it.
    await move_in_time(e2e_database_url, checked_in_at=now - timedelta(minutes=90))
    fake.user_sends(WORKER, "/sitecode")
    await tap_containing(fake, WORKER, "哪一次服务", "助餐送餐")
    shown = await said(fake, WORKER, "现场签到码")
    assert "photo" in shown  # the QR code, for volunteers to scan
    code = re.search(r"现场签到码：([A-Z2-9]{6})", shown["caption"])
    assert code is not None, shown["caption"]
    assert code.group(1) != expired
    fake.user_sends(VOLUNTEER, "/checkout")
    await said(fake, VOLUNTEER, "Checking out of")
    fake.user_sends(VOLUNTEER, code.group(1))
    await said(fake, VOLUNTEER, "✅ Checked out of “助餐送餐”: 1.5 hours")

    fake.user_sends(WORKER, "/records")
    await tap(fake, WORKER, "志愿者：Wang Fang", "确认")
    await said(fake, VOLUNTEER, "The organiser confirmed 1.5 hours")

    fake.user_sends(VOLUNTEER, "/hours")
    hours = await said(fake, VOLUNTEER, "Your volunteer hours")
    assert "Confirmed service: 1.5 hours in all" in hours["text"]
    assert "Time bank balance: 1.5 hours" in hours["text"] and "Points: 15" in hours["text"]

    fake.user_sends(VOLUNTEER, "/certificate")
    await tap(fake, VOLUNTEER, "Which period?", "This year")
    sent = await said(fake, VOLUNTEER, "Anyone can check it with /verify")
    pdf = fake.file_bytes(sent["document"]["file_id"])
    text = "".join("".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "WangFang" in text and "1.5" in text and "5001**********" in text
    verification = re.search(r"/verify ([A-Z2-9]{12})", sent["caption"])
    assert verification is not None
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{bot.url}/verify/{verification.group(1)}", params={"lang": "en"}) as reply,
    ):
        page = await reply.text()
    assert (
        reply.status == 200 and "is genuine" in page and "Service: 1.5 hours in 1 sessions" in page
    )

    assert await audit_actions(e2e_database_url) == [
        "record.check_in.location",
        "record.check_out.site_code",
        "record.confirm",
    ]
