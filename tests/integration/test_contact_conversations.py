"""People with names and contacts, in chat: the name asked at onboarding and changed later,
the visit / phone / address step of /need, what workers see of it (card, /queue, the needs
list), that no channel id ("web-85245") is ever shown, "me too" across languages, the
supporters' wording, the /mine header and the certificate's signatory."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.attendance import CheckMethod, RecordStatus
from bot.domain.enums import Role, ScopeLevel
from bot.domain.principal import Grant, Place, Principal
from bot.domain.volunteers import Skill, check_character
from bot.services import shifts, volunteers
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import RecordingNotifier
from storage.models import Need, Person, RoleGrant, ServiceRecord
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person

RESIDENT, WORKER, NEIGHBOUR, OTHER = 8101, 8102, 8103, 8104
A1 = ("渝北区", "甲街道", "甲一社区")


@pytest.fixture
async def world(uow: UnitOfWork) -> Map:
    world = await make_map(uow)
    await make_person(
        uow,
        "李社工",
        community=world.community_a1,
        web_id=WORKER,
        grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    return world


@pytest.fixture
async def chat(engine: AsyncEngine, world: Map) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def start_need(chat: ChatHarness, user: int, text: str, category: str = "养老服务") -> None:
    await chat.send(user, "/need")
    await chat.tap(user, category)
    await chat.send(user, text)
    await chat.tap(user, "跳过")
    await chat.tap(user, "一般")
    await chat.tap(user, "本人")


async def confirm(chat: ChatHarness, user: int) -> str:
    assert "请核对您的诉求" in chat.last_text(user)
    await chat.tap(user, "确认")
    return chat.last_text(user).split("编号 ")[1].split("。")[0]


def worker_views(chat: ChatHarness) -> str:
    return "\n".join(chat.screens(WORKER))


def csv_of(chat: ChatHarness, user: int) -> str:
    events = chat.hub.conversation(user).events
    document = [e for e in events if e["type"] == "document"][-1]
    stored = chat.hub.files[document["url"].rsplit("/", 1)[1]]
    return str(stored.content.decode("utf-8-sig"))


async def test_workers_see_the_residents_name_phone_and_address_never_a_chat_id(
    chat: ChatHarness, engine: AsyncEngine
) -> None:
    await chat.onboard(RESIDENT, path=A1, name="王阿姨")
    assert chat.last_text(RESIDENT).startswith("您可以使用以下功能")
    assert "谢谢您，王阿姨！" in chat.screens(RESIDENT)
    await start_need(chat, RESIDENT, "楼道灯坏了，老人晚上看不见")
    assert "需要有人上门吗" in chat.last_text(RESIDENT)
    await chat.tap(RESIDENT, "需要，请上门")
    assert "打哪个电话" in chat.last_text(RESIDENT)
    # A bad number gets a clear message and nothing typed so far is lost.
    await chat.send(RESIDENT, "12345")
    assert "这不像是电话号码" in chat.last_text(RESIDENT)
    await chat.send(RESIDENT, "023-6812 3456")
    assert "门牌" in chat.last_text(RESIDENT)
    await chat.send(RESIDENT, "5栋2单元301")
    check = chat.last_text(RESIDENT)
    assert "联系电话：023-68123456" in check and "地址：5栋2单元301" in check
    assert "楼道灯坏了" in check
    reference = await confirm(chat, RESIDENT)

    await chat.send(WORKER, "/queue")
    assert "王阿姨" in chat.last_text(WORKER)
    await chat.tap(WORKER, reference)
    card = chat.last_text(WORKER)
    assert "居民：王阿姨" in card
    assert "需要上门：是" in card
    assert "联系电话：023-68123456" in card and "地址：5栋2单元301" in card
    await chat.send(WORKER, "/needlist")
    table = csv_of(chat, WORKER)
    assert "王阿姨" in table and "023-68123456" in table and "5栋2单元301" in table
    assert table.splitlines()[0].endswith("居民,上门,联系电话,地址")
    assert "web-" not in worker_views(chat) and "web-" not in table
    async with engine.connect() as connection:
        names = (await connection.execute(select(Person.display_name))).scalars().all()
    assert not any(name.startswith("web-") for name in names)


async def test_a_resident_who_skips_the_name_is_shown_by_number_and_can_name_themselves_later(
    chat: ChatHarness, engine: AsyncEngine
) -> None:
    await chat.onboard(RESIDENT, path=A1)  # skips the name
    await start_need(chat, RESIDENT, "需要有人帮忙买菜")
    await chat.tap(RESIDENT, "不用上门")
    await confirm(chat, RESIDENT)
    async with engine.connect() as connection:
        person_id = (await connection.execute(select(Need.resident_id))).scalar_one()
    await chat.send(WORKER, "/queue")
    assert f"#{person_id}" in chat.last_text(WORKER)
    assert "web-" not in worker_views(chat)

    await chat.send(RESIDENT, "/me")
    assert "称呼：还没有填写" in chat.last_text(RESIDENT)
    await chat.tap(RESIDENT, "修改我的称呼")
    await chat.send(RESIDENT, "你好")  # a greeting is not a name
    assert chat.last_text(RESIDENT).startswith("请输入您希望的称呼")
    await chat.send(RESIDENT, "李大爷")
    assert chat.last_text(RESIDENT) == "谢谢您，李大爷！"
    await chat.send(RESIDENT, "/name")
    assert "现在的称呼：李大爷" in chat.last_text(RESIDENT)
    await chat.tap(RESIDENT, "就用“李大爷”")
    await chat.send(RESIDENT, "/me")
    assert "姓名：李大爷" in chat.last_text(RESIDENT)
    await chat.send(WORKER, "/queue")
    assert "李大爷" in chat.last_text(WORKER)


async def test_the_contact_step_is_prefilled_and_remembered(chat: ChatHarness) -> None:
    await chat.onboard(RESIDENT, path=A1, name="王阿姨")
    await start_need(chat, RESIDENT, "水管漏水了")
    await chat.tap(RESIDENT, "需要，请上门")
    await chat.send(RESIDENT, "+86 138-0013-8000")
    await chat.send(RESIDENT, "3栋1单元202")
    await confirm(chat, RESIDENT)
    # The next request offers what was given last time.
    await start_need(chat, RESIDENT, "想请人陪我去医院复查")
    await chat.tap(RESIDENT, "需要，请上门")
    await chat.tap(RESIDENT, "用这个号码：13800138000")
    await chat.tap(RESIDENT, "用这个地址：“3栋1单元202”")
    check = chat.last_text(RESIDENT)
    assert "联系电话：13800138000" in check and "地址：3栋1单元202" in check
    await confirm(chat, RESIDENT)
    # Skipped phone and address: the request is filed all the same.
    await start_need(chat, RESIDENT, "请帮忙修一下门锁")
    await chat.tap(RESIDENT, "需要，请上门")
    await chat.tap(RESIDENT, "跳过")
    await chat.tap(RESIDENT, "跳过")
    assert "联系电话：—" in chat.last_text(RESIDENT)
    await confirm(chat, RESIDENT)


async def test_a_volunteers_registered_phone_is_offered_first(
    chat: ChatHarness, uow: UnitOfWork, world: Map
) -> None:
    person = await make_person(uow, "王芳", community=world.community_a1, web_id=RESIDENT)
    async with uow:
        await uow.grants.add(
            RoleGrant(
                person_id=person,
                role=Role.RESIDENT,
                scope_level=ScopeLevel.COMMUNITY,
                community_id=world.community_a1,
            )
        )
        await uow.commit()
    first17 = "50010619850612123"
    await volunteers.register(
        uow,
        PersonalDataCipher(b"test-secret"),
        RecordingNotifier(),
        Principal(person, "zh", home=Place(world.community_a1, world.street_a, world.district)),
        real_name="王芳",
        id_number=first17 + check_character(first17),
        phone="13912345678",
        skills=[Skill.COOKING],
        tags=[],
        availability=[],
        community_ids=[],
    )
    await start_need(chat, RESIDENT, "需要有人帮忙搬东西")
    await chat.tap(RESIDENT, "需要，请上门")
    chat.find_button(RESIDENT, "用这个号码：13912345678")


async def test_me_too_works_across_languages_and_supporters_hear_of_the_request_they_support(
    chat: ChatHarness, world: Map
) -> None:
    await chat.onboard(RESIDENT, path=A1, name="王阿姨")
    await start_need(chat, RESIDENT, "楼道灯坏了，晚上看不见")
    await chat.tap(RESIDENT, "需要，请上门")
    await chat.send(RESIDENT, "13800138000")
    await chat.send(RESIDENT, "5栋2单元301")
    reference = await confirm(chat, RESIDENT)

    await chat.onboard(NEIGHBOUR, language="English", path=("Yubei", "Street A", "A-One"))
    await chat.send(NEIGHBOUR, "/need")
    await chat.tap(NEIGHBOUR, "Other")
    await chat.send(NEIGHBOUR, "The light in our stairwell is broken")
    await chat.tap(NEIGHBOUR, "Skip")
    await chat.tap(NEIGHBOUR, "Normal")
    await chat.tap(NEIGHBOUR, "Myself")
    await chat.tap(NEIGHBOUR, "No visit needed")
    assert "Someone in your community asked this already" in chat.last_text(NEIGHBOUR)
    await chat.tap(NEIGHBOUR, f"Me too: {reference}")
    assert f"you support {reference}" in chat.last_text(NEIGHBOUR)

    # The supporter follows it, without the resident's phone or address.
    await chat.send(NEIGHBOUR, "/mine")
    await chat.tap(NEIGHBOUR, reference)
    seen = chat.last_text(NEIGHBOUR)
    assert "13800138000" not in seen and "5栋2单元301" not in seen and "王阿姨" not in seen

    await chat.send(WORKER, "/queue")
    await chat.tap(WORKER, reference)
    assert "（“我也是”）：1 人" in chat.last_text(WORKER)
    await chat.tap(WORKER, "受理")
    heard = "\n".join(chat.screens(NEIGHBOUR))
    assert f"The request {reference} that you support is now" in heard
    assert f"Your request {reference}" not in heard
    assert any(f"您的诉求 {reference} 当前状态" in s for s in chat.screens(RESIDENT))


async def test_a_different_request_in_another_language_is_not_taken_for_the_same(
    chat: ChatHarness,
) -> None:
    await chat.onboard(RESIDENT, path=A1, name="王阿姨")
    await start_need(chat, RESIDENT, "楼道灯坏了，晚上看不见")
    await chat.tap(RESIDENT, "不用上门")
    await confirm(chat, RESIDENT)
    await chat.onboard(NEIGHBOUR, language="English", path=("Yubei", "Street A", "A-One"))
    await chat.send(NEIGHBOUR, "/need")
    await chat.tap(NEIGHBOUR, "Elderly care")
    await chat.send(NEIGHBOUR, "My mother needs meals delivered at lunch")
    await chat.tap(NEIGHBOUR, "Skip")
    await chat.tap(NEIGHBOUR, "Normal")
    await chat.tap(NEIGHBOUR, "A family member")
    await chat.tap(NEIGHBOUR, "No visit needed")
    assert "Please check your request" in chat.last_text(NEIGHBOUR)


async def test_mine_counts_the_requests_not_the_pages(chat: ChatHarness) -> None:
    await chat.onboard(RESIDENT, path=A1, name="王阿姨")
    for text in ("水管漏水了", "想请人陪我去医院复查"):
        await start_need(chat, RESIDENT, text)
        await chat.tap(RESIDENT, "不用上门")
        await confirm(chat, RESIDENT)
    await chat.send(RESIDENT, "/mine")
    screen = chat.last_text(RESIDENT)
    assert screen.startswith("我的诉求（共 2 条）")
    assert "1/1" not in screen and "页" not in screen


async def test_the_certificate_is_signed_by_a_name_never_by_a_chat_id(
    chat: ChatHarness, uow: UnitOfWork, world: Map, engine: AsyncEngine
) -> None:
    # A worker who first wrote on the web page (so the bot made their person) and named
    # themselves, then was granted the role.
    signer = 8110
    await chat.onboard(signer, path=A1, name="韩主任")
    async with engine.connect() as connection:
        signer_id = (
            await connection.execute(select(Person.id).where(Person.display_name == "韩主任"))
        ).scalar_one()
    async with uow:
        await uow.grants.add(
            RoleGrant(
                person_id=signer_id,
                role=Role.COMMUNITY_WORKER,
                scope_level=ScopeLevel.COMMUNITY,
                community_id=world.community_a1,
            )
        )
        await uow.commit()
    worker = Principal(
        signer_id,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    await chat.onboard(RESIDENT, path=A1)  # the volunteer skipped the name
    async with engine.connect() as connection:
        person = (
            await connection.execute(select(Person.id).order_by(Person.id.desc()).limit(1))
        ).scalar_one()
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
    start = utcnow() - timedelta(hours=3)
    shift = await shifts.create_shift(
        uow,
        worker,
        community_id=world.community_a1,
        title="助餐送餐",
        place="社区食堂",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        capacity=3,
        now=start - timedelta(days=1),
    )
    async with uow:
        await uow.records.add(
            ServiceRecord(
                shift_id=shift.id,
                person_id=person,
                volunteer_id=view.id,
                community_id=world.community_a1,
                content="助餐送餐",
                place="社区食堂",
                status=RecordStatus.CONFIRMED,
                checked_in_at=start,
                check_in_method=CheckMethod.LOCATION,
                checked_out_at=start + timedelta(hours=2),
                minutes=120,
            )
        )
        await uow.commit()
    await chat.send(RESIDENT, "/certificate")
    await chat.tap(RESIDENT, "今年")
    event = chat.hub.conversation(RESIDENT).events[-1]
    assert event["type"] == "document", chat.last_text(RESIDENT)
    pdf = chat.hub.files[event["url"].rsplit("/", 1)[1]].content
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join("".join(p.extract_text().split()) for p in reader.pages)
    assert "王芳" in text  # the registered real name
    assert "负责人（签字）：韩主任" in text
    assert "web-" not in text and "web" not in str(reader.metadata)
