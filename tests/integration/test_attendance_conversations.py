"""Check-in and check-out in chat, the organiser's site code and confirmation, /hours, the
certificate and /verify — through the real Dispatcher on the web chat channel."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.attendance import CheckMethod, RecordStatus
from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.principal import Grant, Place, Principal
from bot.domain.volunteers import Skill, check_character
from bot.services import shifts, volunteers
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import RecordingNotifier
from storage.models import ServiceRecord
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness, plain
from tests.support.factories import Map, make_map, make_person

VOLUNTEER, WORKER = 7001, 7002
HERE = (29.5630, 106.4650)
TWO_KM_NORTH = (29.5630 + 0.018, 106.4650)


@pytest.fixture
async def chat(engine: AsyncEngine) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def running_shift(uow: UnitOfWork, world: Map) -> tuple[Principal, int]:
    """A verified volunteer signed up for a shift that started two hours ago (created back then)."""
    worker_id = await make_person(
        uow,
        "李社工",
        community=world.community_a1,
        grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
        web_id=WORKER,
    )
    worker = Principal(
        worker_id,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    person = await make_person(uow, "王芳", community=world.community_a1, web_id=VOLUNTEER)
    volunteer = Principal(
        person, "zh", home=Place(world.community_a1, world.street_a, world.district)
    )
    first17 = "50010619850612123"
    view = await volunteers.register(
        uow,
        PersonalDataCipher(b"test-secret"),
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
    await volunteers.verify(uow, RecordingNotifier(), worker, volunteer_id=view.id, approve=True)
    start = utcnow() - timedelta(hours=2)
    shift = await shifts.create_shift(
        uow,
        worker,
        community_id=world.community_a1,
        title="助餐送餐",
        place="社区食堂",
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        capacity=3,
        latitude=HERE[0],
        longitude=HERE[1],
        now=start - timedelta(days=1),
    )
    await shifts.sign_up(uow, volunteer, shift_id=shift.id, now=start - timedelta(days=1))
    return volunteer, shift.id


async def test_a_volunteer_checks_in_and_out_in_chat_and_gets_a_certificate(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await make_map(uow)
    _, shift_id = await running_shift(uow, world)

    await chat.send(VOLUNTEER, "/checkin")
    assert "正在签到：“助餐送餐”" in chat.last_text(VOLUNTEER)
    await chat.share_location(VOLUNTEER, *TWO_KM_NORTH)
    assert "您距离集合地点 2.0 公里" in chat.last_text(VOLUNTEER)
    await chat.send(VOLUNTEER, "hello")
    assert "6 位现场签到码" in chat.last_text(VOLUNTEER)
    await chat.send(VOLUNTEER, "ABCDEF")
    assert chat.last_text(VOLUNTEER) == "现场签到码不正确。请与组织方核对。"
    await chat.share_location(VOLUNTEER, *HERE)
    assert chat.last_text(VOLUNTEER).startswith("✅ 已于")
    await chat.send(VOLUNTEER, "/checkin")
    assert chat.last_text(VOLUNTEER).startswith("您已签到“助餐送餐”")

    # Ninety minutes pass.
    async with uow:
        await uow.session.execute(
            update(ServiceRecord).values(checked_in_at=utcnow() - timedelta(minutes=90))
        )
        await uow.commit()

    await chat.send(WORKER, "/sitecode")
    await chat.tap(WORKER, "助餐送餐")
    shown = chat.hub.conversation(WORKER).events[-1]
    assert shown["type"] == "photo"  # the QR code to show at the place
    caption = plain(shown["caption_html"])
    code = re.search(r"现场签到码：([A-Z2-9]{6})", caption)
    assert code is not None, caption
    qr = zxingcpp.read_barcode(
        Image.open(io.BytesIO(chat.hub.files[shown["url"].rsplit("/", 1)[1]].content))
    )
    assert qr is not None and qr.text.endswith(f"/?start=ci_{shift_id}_{code.group(1)}")

    await chat.send(VOLUNTEER, "/checkout")
    await chat.send(VOLUNTEER, code.group(1).lower())
    assert chat.last_text(VOLUNTEER).startswith("✅ 已签退“助餐送餐”：1.5 小时")

    await chat.send(WORKER, "/records")
    assert "志愿者：王芳" in chat.last_text(WORKER)
    await chat.tap(WORKER, "确认")
    assert any("组织方已确认您“助餐送餐”的服务时长 1.5 小时" in s for s in chat.screens(VOLUNTEER))

    await chat.send(VOLUNTEER, "/hours")
    hours = chat.last_text(VOLUNTEER)
    assert "已确认服务：累计 1.5 小时" in hours and "时间银行余额：1.5 小时" in hours
    assert "积分：15" in hours

    await chat.send(VOLUNTEER, "/certificate")
    await chat.tap(VOLUNTEER, "今年")
    event = chat.hub.conversation(VOLUNTEER).events[-1]
    assert event["type"] == "document" and event["filename"].endswith(".pdf")
    pdf = chat.hub.files[event["url"].rsplit("/", 1)[1]].content
    text = "".join("".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "王芳" in text and "1.5" in text
    verification = re.search(r"/verify ([A-Z2-9]{12})", event["caption_html"])
    assert verification is not None

    await chat.send(WORKER, f"/verify {verification.group(1)}")
    assert "真实有效" in chat.last_text(WORKER) and "王*" in chat.last_text(WORKER)
    await chat.send(WORKER, "/verify AAAAAAAAAAAA")
    assert chat.last_text(WORKER).startswith("❌ 没有使用这个核验码的证明")


async def test_a_volunteer_gives_hours_to_a_family_member_through_a_link(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await make_map(uow)
    volunteer, shift_id = await running_shift(uow, world)
    # Two confirmed hours in the bank.
    async with uow:
        record = ServiceRecord(
            shift_id=shift_id,
            person_id=volunteer.person_id,
            volunteer_id=1,
            community_id=world.community_a1,
            content="助餐送餐",
            place="社区食堂",
            status=RecordStatus.CHECKED_OUT,
            checked_in_at=utcnow() - timedelta(hours=2),
            check_in_method=CheckMethod.LOCATION,
            checked_out_at=utcnow(),
            minutes=120,
        )
        await uow.records.add(record)
        await uow.commit()
    await chat.send(WORKER, "/records")
    await chat.tap(WORKER, "确认")
    mother = 7003
    await make_person(uow, "妈妈", community=world.community_a1, web_id=mother)

    await chat.send(VOLUNTEER, "/hours")
    await chat.tap(VOLUNTEER, "把时长赠给家人")
    await chat.send(VOLUNTEER, "三小时")
    assert chat.last_text(VOLUNTEER) == "请按 2.5 或 2:30 的格式填写小时数。"
    await chat.send(VOLUNTEER, "1.5")
    await chat.send(VOLUNTEER, "给妈妈")
    link = re.search(r"\?start=(tb_[A-Za-z0-9_-]+)", chat.last_text(VOLUNTEER))
    assert link is not None, chat.last_text(VOLUNTEER)

    await chat.send(VOLUNTEER, f"/start {link.group(1)}")
    await chat.tap(VOLUNTEER, "接受")
    assert "不能接受自己发起的请求" in chat.alerts(VOLUNTEER)[-1]
    await chat.send(mother, f"/start {link.group(1)}")
    assert "王芳 从自己的时间银行赠给您 1.5 小时" in chat.last_text(mother)
    await chat.tap(mother, "接受")
    assert "已接受：1.5 小时已转入" in chat.last_text(mother)
    assert any("1.5 小时（给妈妈）已被接受" in s for s in chat.screens(VOLUNTEER))
    await chat.send(VOLUNTEER, "/hours")
    assert "时间银行余额：0.5 小时" in chat.last_text(VOLUNTEER)
    assert "已确认服务：累计 2 小时" in chat.last_text(VOLUNTEER)  # the record is unchanged


async def test_a_volunteer_redeems_points_and_cancels_in_chat(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    from bot.services import rewards

    world = await make_map(uow)
    volunteer, shift_id = await running_shift(uow, world)
    async with uow:
        record = ServiceRecord(
            shift_id=shift_id,
            person_id=volunteer.person_id,
            volunteer_id=1,
            community_id=world.community_a1,
            content="助餐送餐",
            place="社区食堂",
            status=RecordStatus.CHECKED_OUT,
            checked_in_at=utcnow() - timedelta(hours=2),
            check_in_method=CheckMethod.LOCATION,
            checked_out_at=utcnow(),
            minutes=120,
        )
        await uow.records.add(record)
        await uow.commit()
    await chat.send(WORKER, "/records")
    await chat.tap(WORKER, "确认")  # 2 hours: 20 points
    async with uow:
        account = await uow.people.account(Channel.WEB, str(WORKER))
        assert account is not None
        worker_id = account.person_id
    worker = Principal(
        worker_id,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    await rewards.add_reward(
        uow,
        worker,
        community_id=world.community_a1,
        title="大米 5 斤",
        provider="社区超市",
        points=15,
        stock=1,
    )
    await chat.send(VOLUNTEER, "/rewards")
    assert "您有 20 积分" in chat.screens(VOLUNTEER)[-2]
    await chat.tap(VOLUNTEER, "兑换")
    assert "剩余 5 积分" in chat.last_text(VOLUNTEER)
    await chat.send(VOLUNTEER, "/rewards")
    await chat.tap(VOLUNTEER, "取消：大米 5 斤")
    assert chat.last_text(VOLUNTEER) == "已取消：大米 5 斤。15 积分已退回；您现有 20 积分。"
