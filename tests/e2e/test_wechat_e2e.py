"""WeChat through the real `python -m bot run` process: a fake WeChat signs and encrypts
(safe mode) the resident's posts to the bot's /wechat and records what the bot sends back
(passive replies, customer-service messages); a worker triages on Telegram."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from storage.db import make_engine
from storage.models import Need
from tests.e2e.test_needs_e2e import onboard, tap
from tests.integration.test_web_channel_conversations import jpeg
from tests.support import fake_wechat
from tests.support.fake_telegram import FakeTelegram
from tests.support.fake_wechat import FakeWeChat

RESIDENT = "oWushe_e2e_resident_01"
WORKER = 9300
SOCIAL = 9301
STATE_TEMPLATE = "tmpl-need-state"


def number_of(screen: str, label: str) -> str:
    """The number a menu shows for a choice ("3  磁器口社区" → "3")."""
    for line in screen.splitlines():
        number, _, text = line.strip().partition(" ")
        if number.isdigit() and label in text:
            return number
    raise AssertionError(f"{label!r} is not on the menu:\n{screen}")


async def reply(wechat: FakeWeChat, screen: str, label: str) -> str:
    return await wechat.user_sends(RESIDENT, number_of(screen, label))


async def count_records(database_url: str) -> int:
    from storage.models import ServiceRecord

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            query = select(func.count()).select_from(ServiceRecord)
            return int(await connection.scalar(query) or 0)
    finally:
        await engine.dispose()


async def checked_in_earlier(database_url: str, *, minutes: int) -> None:
    from sqlalchemy import update

    from storage.models import ServiceRecord

    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            when = datetime.now(UTC) - timedelta(minutes=minutes)
            await connection.execute(update(ServiceRecord).values(checked_in_at=when))
    finally:
        await engine.dispose()


async def count_needs(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(Need)) or 0)
    finally:
        await engine.dispose()


async def test_a_wechat_resident_files_a_request_and_hears_the_workers_steps(
    fake_telegram: FakeTelegram, start_bot: Any, e2e_database_url: str
) -> None:
    wechat = FakeWeChat()
    await wechat.start()
    try:
        bot = await start_bot(
            BOT_TOKEN=fake_telegram.token,
            TELEGRAM_API_URL=fake_telegram.base_url,
            WECHAT_TOKEN=fake_wechat.TOKEN,
            WECHAT_APP_ID=fake_wechat.APP_ID,
            WECHAT_APP_SECRET=fake_wechat.APP_SECRET,
            WECHAT_AES_KEY=fake_wechat.AES_KEY,
            WECHAT_API_URL=wechat.api_url,
            WECHAT_TEMPLATES=json.dumps({"need.state": STATE_TEMPLATE}),
        )
        wechat.bot_url = bot.url
        await onboard(fake_telegram, WORKER, "韩主任")
        await onboard(fake_telegram, SOCIAL, "Sam")
        bot.cli(
            "admin", "grant", "--telegram-id", str(WORKER), "--role", "community_worker",
            "--community", "1",
        )  # fmt: skip
        bot.cli(
            "admin", "grant", "--telegram-id", str(SOCIAL), "--role", "social_worker",
            "--community", "1",
        )  # fmt: skip

        # Following the account starts onboarding; the resident replies with numbers.
        screen = await wechat.user_event(RESIDENT, "subscribe")
        assert "请选择语言" in screen and "回复数字" in screen
        for label in ("中文", "沙坪坝区", "磁器口街道", "磁器口社区"):
            screen = await reply(wechat, screen, label)
        assert "请问怎么称呼您" in screen, screen
        screen = await wechat.user_sends(RESIDENT, "李阿姨")
        assert "您可以使用以下功能" in screen, screen

        screen = await wechat.user_sends(RESIDENT, "/need")
        screen = await reply(wechat, screen, "儿童关爱")
        assert "请用您自己的话描述" in screen, screen
        screen = await wechat.user_sends(RESIDENT, "孩子放学后没人照看，希望有课后托管")
        assert "跳过" in screen, screen  # the photo step
        # A handler that takes 6 s (fetching the photo from a slow WeChat media/get): the
        # callback is answered `success` within WeChat's 5 s — no retry — and the answer
        # comes later through the customer-service API.
        wechat.media_delay = 6.0
        posts = len(wechat.posts)
        assert await wechat.user_photo(RESIDENT, jpeg()) == ""
        assert wechat.posts[posts:] == [{"try": 1, "outcome": 200}]
        screen = await wechat.wait_for(RESIDENT, "已添加照片", timeout=20)
        assert wechat.seen[RESIDENT][-1].how == "custom"
        wechat.media_delay = 0.0
        for label in ("不急", "家人", "不用上门"):
            screen = await reply(wechat, screen, label)
        assert "请核对" in screen, screen
        # WeChat retries a post it got no answer to, with the same MsgId: one request filed.
        confirm = wechat._message(RESIDENT, "text", Content=number_of(screen, "确认"))
        filed = await wechat.deliver(confirm)
        retried = [await wechat.deliver(confirm) for _ in range(2)]
        assert "您的诉求已登记" in filed, filed
        assert retried == [filed, filed]  # a retry gets the first try's answer
        reference = filed.split("编号 ")[1].split("。")[0].strip()
        assert await count_needs(e2e_database_url) == 1

        # The worker accepts it on Telegram; the resident hears it through the
        # customer-service API (the 48-hour window is open: they wrote a moment ago).
        await tap(fake_telegram, WORKER, f"有新诉求 {reference}", "打开")
        await tap(fake_telegram, WORKER, reference, "受理")
        await fake_telegram.wait_for_bot_message(WORKER, contains="已受理")
        notice = await wechat.wait_for(RESIDENT, reference)
        assert [s.how for s in wechat.seen[RESIDENT] if s.text == notice] == ["custom"]
        assert "已受理" in notice, notice
        # Outside the window (WeChat answers 45015), the assignment comes as a template.
        wechat.window_closed.add(RESIDENT)
        await fake_telegram.wait_for_bot_message(WORKER, contains="已受理——正在安排承办人")
        fake_telegram.user_clicks(
            WORKER, fake_telegram.last_bot_message(WORKER)["message_id"], "分派"
        )
        await fake_telegram.wait_for_bot_message(
            WORKER, predicate=lambda m: "Sam" in str(m.get("reply_markup"))
        )
        fake_telegram.user_clicks(
            WORKER, fake_telegram.last_bot_message(WORKER)["message_id"], "👤 Sam"
        )
        assigned = await wechat.wait_for(RESIDENT, "已分派")
        assert wechat.seen[RESIDENT][-1].how == "template", assigned
        [template] = wechat.templates
        assert template["template_id"] == STATE_TEMPLATE and template["touser"] == RESIDENT
        assert reference in template["data"]["keyword1"]["value"]
    finally:
        await wechat.stop()


VOLUNTEER = "oWushe_e2e_volunteer_1"
MEETING_POINT = (29.5790, 106.4470)  # WGS-84, where the shift meets


async def a_running_shift_the_volunteer_signed_up_for(database_url: str, openid: str) -> int:
    """The volunteer registered and verified, a shift running now with its meeting point, the
    volunteer signed up — through the services, as the earlier steps' tests walk them."""
    from bot.channels.wechat import chat_id_of
    from bot.domain.enums import Channel, Role, ScopeLevel
    from bot.domain.principal import Grant, Place, Principal
    from bot.domain.volunteers import Skill, check_character
    from bot.services import shifts, volunteers
    from bot.services.crypto import PersonalDataCipher
    from bot.services.ports import RecordingNotifier
    from storage.db import make_session_factory
    from storage.models import ChannelAccount, Community, Street
    from storage.uow import UnitOfWork

    engine = make_engine(database_url)
    try:
        uow = UnitOfWork(make_session_factory(engine))
        async with uow:
            person = await uow.session.scalar(
                select(ChannelAccount.person_id).where(
                    ChannelAccount.channel == Channel.WECHAT,
                    ChannelAccount.external_id == str(chat_id_of(openid)),
                )
            )
            community = await uow.session.get(Community, 1)
            assert person is not None and community is not None
            street = await uow.session.get(Street, community.street_id)
            assert street is not None
            home = Place(community.id, street.id, street.district_id)
        volunteer = Principal(person, "zh", home=home)
        # The organiser's grant on the same person keeps the set-up short (a real row to cite).
        worker = Principal(
            person, "zh", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, 1),)
        )
        first17 = "50010619850612123"
        view = await volunteers.register(
            uow,
            PersonalDataCipher(b"e2e-secret"),
            RecordingNotifier(),
            volunteer,
            real_name="王芳",
            id_number=first17 + check_character(first17),
            phone="13800138000",
            skills=[Skill.COOKING],
            tags=[],
            availability=[],
            community_ids=[],
        )
        await volunteers.verify(
            uow, RecordingNotifier(), worker, volunteer_id=view.id, approve=True
        )
        now = datetime.now(UTC)
        shift = await shifts.create_shift(
            uow,
            worker,
            community_id=1,
            title="助餐送餐",
            place="社区食堂",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=2),
            capacity=5,
            latitude=MEETING_POINT[0],
            longitude=MEETING_POINT[1],
            now=now - timedelta(days=1),
        )
        await shifts.sign_up(uow, volunteer, shift_id=shift.id, now=now - timedelta(days=1))
        return shift.id
    finally:
        await engine.dispose()


async def test_a_wechat_volunteer_checks_in_by_a_gcj02_location_and_the_site_qr_finds_it(
    start_bot: Any, e2e_database_url: str
) -> None:
    from bot.domain.attendance import code_window
    from bot.domain.coordinates import wgs84_to_gcj02
    from bot.services.attendance import site_code
    from bot.services.crypto import PersonalDataCipher

    wechat = FakeWeChat()
    await wechat.start()
    try:
        bot = await start_bot(
            WECHAT_TOKEN=fake_wechat.TOKEN,
            WECHAT_APP_ID=fake_wechat.APP_ID,
            WECHAT_APP_SECRET=fake_wechat.APP_SECRET,
            WECHAT_AES_KEY=fake_wechat.AES_KEY,
            WECHAT_API_URL=wechat.api_url,
        )
        wechat.bot_url = bot.url
        screen = await wechat.user_event(VOLUNTEER, "subscribe")
        for label in ("中文", "沙坪坝区", "磁器口街道", "磁器口社区"):
            screen = await wechat.user_sends(VOLUNTEER, number_of(screen, label))
        shift_id = await a_running_shift_the_volunteer_signed_up_for(e2e_database_url, VOLUNTEER)

        screen = await wechat.user_sends(VOLUNTEER, "/checkin")
        assert "正在签到：“助餐送餐”" in screen, screen
        # WeChat sends the phone's position in GCJ-02 (here ~500 m off the WGS-84 point): the
        # bot converts it, so 20 m from the meeting point is inside the 300 m radius.
        near = wgs84_to_gcj02(MEETING_POINT[0] + 0.0002, MEETING_POINT[1])
        screen = await wechat.user_location(VOLUNTEER, *near)
        assert "✅ 已于" in screen and "签到“助餐送餐”" in screen, screen
        # Scanning the site's parameter QR code (SCAN, already following) is the same deep
        # link as Telegram's /start ci_…: it finds the check-in of this shift.
        now = datetime.now(UTC)
        code = site_code(PersonalDataCipher(b"e2e-secret"), shift_id, code_window(now))
        screen = await wechat.user_event(VOLUNTEER, "SCAN", f"ci_{shift_id}_{code}")
        assert "您已经签到了" in screen, screen
        assert await count_records(e2e_database_url) == 1
        # Scanned again after the shift's work (here: checked in ten minutes ago), as on
        # Telegram the same QR code checks out.
        await checked_in_earlier(e2e_database_url, minutes=10)
        await asyncio.sleep(1.1)  # WeChat tells events apart by sender and second
        screen = await wechat.user_event(VOLUNTEER, "SCAN", f"ci_{shift_id}_{code}")
        assert "✅ 已签退“助餐送餐”" in screen, screen
    finally:
        await wechat.stop()
