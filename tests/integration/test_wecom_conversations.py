"""/robot in the chat: a street admin sets, lists and clears the WeCom group robot of a place in
their street (the key shown by its last four characters only); a resident, a place outside the
admin's street and an address that is not a robot's are refused."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Role, ScopeLevel
from bot.services.crypto import PersonalDataCipher
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person

BASE = "http://127.0.0.1:9"
KEY = "robot-secret-key-4f2a"
URL = f"{BASE}/cgi-bin/webhook/send?key={KEY}"
ADMIN, RESIDENT = 7001, 7002


@pytest.fixture
async def world(uow: UnitOfWork) -> Map:
    return await make_map(uow)


@pytest.fixture
async def chat(engine: AsyncEngine, world: Map, uow: UnitOfWork) -> AsyncIterator[ChatHarness]:
    await make_person(
        uow,
        "街道管理员",
        community=world.community_a1,
        web_id=ADMIN,
        grants=((Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),),
    )
    await make_person(uow, "居民", community=world.community_a1, web_id=RESIDENT)
    harness = ChatHarness(engine, wecom_api_url=BASE)
    yield harness
    await harness.close()


def all_text(chat: ChatHarness, user: int) -> str:
    """Everything the chat shows now, the person's own messages included."""
    chat_log = chat.hub.conversation(user)
    events = [str(e.get("html", "")) + str(e.get("text", "")) for e in chat_log.events]
    return "\n".join([*events, *(str(m) for m in chat_log.messages.values())])


async def test_a_street_admin_sets_lists_and_clears_a_robot(
    chat: ChatHarness, uow: UnitOfWork, world: Map
) -> None:
    await chat.send(ADMIN, f"/robot 甲街道/甲一社区 {URL}")
    said = chat.last_text(ADMIN)
    assert "甲一社区的企业微信群机器人已设置" in said and "…4f2a" in said
    assert KEY not in all_text(chat, ADMIN)
    async with uow:
        robot = await uow.wecom.robot(ScopeLevel.COMMUNITY, world.community_a1)
        assert robot is not None and KEY not in robot.url_sealed
        assert PersonalDataCipher(b"test-secret").decrypt(robot.url_sealed) == URL
    await chat.send(ADMIN, "/robot")
    listed = chat.last_text(ADMIN)
    assert "企业微信群机器人：" in listed and "甲一社区：机器人密钥 …4f2a" in listed
    await chat.send(ADMIN, "/robot 甲街道/甲一社区 clear")
    assert chat.last_text(ADMIN) == "甲一社区的企业微信群机器人已删除。"
    async with uow:
        assert await uow.wecom.robot(ScopeLevel.COMMUNITY, world.community_a1) is None


async def test_an_admin_cannot_set_a_robot_outside_their_street(
    chat: ChatHarness, uow: UnitOfWork, world: Map
) -> None:
    await chat.send(ADMIN, f"/robot 乙街道 {URL}")
    assert chat.last_text(ADMIN) == "抱歉，您无权在此进行该操作。"
    async with uow:
        assert list(await uow.wecom.robots()) == []


async def test_a_resident_cannot_set_a_robot(chat: ChatHarness, uow: UnitOfWork) -> None:
    await chat.send(RESIDENT, f"/robot 甲街道 {URL}")
    assert chat.last_text(RESIDENT) == "只有街道和区县管理员可以设置企业微信群机器人。"
    async with uow:
        assert list(await uow.wecom.robots()) == []


async def test_an_address_that_is_not_a_robot_is_refused(chat: ChatHarness) -> None:
    await chat.send(ADMIN, "/robot 甲街道 https://example.com/hook?key=abcdefgh12")
    assert "这不是企业微信群机器人的地址。" in chat.last_text(ADMIN)
    await chat.send(ADMIN, f"/robot 无名街道 {URL}")
    assert chat.last_text(ADMIN) == "不认识地点“无名街道”：请写街道名，或 街道名/社区名。"
