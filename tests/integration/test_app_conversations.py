"""/apps in the chat: a street admin registers a city app for their street (name, scopes as
buttons), sees the secret once, lists and revokes it after confirming; a community worker is
refused, and an admin cannot revoke an app of another street (the service checks, not the
button). In Chinese and in English."""

from collections.abc import AsyncIterator

import pytest
from aiogram.types import Update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Channel, Role, ScopeLevel
from bot.services import api_clients
from handlers.api_clients.callbacks import AppAction, AppCb
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person

ADMIN, WORKER, OTHER_ADMIN, ENGLISH_ADMIN = 7201, 7202, 7203, 7204


DENIED = "抱歉，您无权在此进行该操作。"


async def forge(chat: ChatHarness, user: int, data: str) -> None:
    """Callback data no button carried, fed to the Dispatcher as any channel could."""
    message_id = max(chat.hub.conversation(user).messages)
    message = chat.hub.conversation(user).messages[message_id]
    update = {
        "update_id": 1,
        "callback_query": {
            "id": f"forged-{user}",
            "from": chat.webchat.user(user, "zh"),
            "chat_instance": "1",
            "message": {k: v for k, v in message.items() if not k.startswith("_")},
            "data": data,
        },
    }
    chat.hub.remember_query(f"forged-{user}", user)
    await chat.dispatcher.feed_update(chat.bot, Update.model_validate(update), channel=Channel.WEB)


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
    await make_person(
        uow,
        "李社工",
        community=world.community_a1,
        web_id=WORKER,
        grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    await make_person(
        uow,
        "乙街道管理员",
        community=world.community_b1,
        web_id=OTHER_ADMIN,
        grants=((Role.STREET_ADMIN, ScopeLevel.STREET, world.street_b),),
    )
    await make_person(
        uow,
        "Street admin",
        community=world.community_a1,
        web_id=ENGLISH_ADMIN,
        locale="en",
        grants=((Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),),
    )
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def test_a_street_admin_registers_an_app_sees_the_secret_once_and_revokes_it(
    chat: ChatHarness, uow: UnitOfWork, world: Map
) -> None:
    await chat.send(ADMIN, "/apps")
    assert chat.last_text(ADMIN) == "还没有登记任何应用。"
    await chat.tap(ADMIN, "登记应用")
    assert "应用叫什么名字" in chat.last_text(ADMIN)
    await chat.send(ADMIN, "渝快社区")
    await chat.tap(ADMIN, "下一步 »")
    assert chat.last_text(ADMIN) == "请至少选择一项。"
    await chat.tap(ADMIN, "为居民提交诉求")
    await chat.tap(ADMIN, "接收事件推送（webhooks）")
    await chat.tap(ADMIN, "下一步 »")
    said = chat.last_text(ADMIN)
    assert "渝快社区 已登记" in said and "密钥只显示这一次" in said
    (app,) = await api_clients.all_clients(uow)
    assert app.scopes == {"needs:write", "webhooks"}
    assert (app.area_level, app.area_id) == (ScopeLevel.STREET, world.street_a)
    secret = said.split("client_secret：")[1].split()[0]
    assert await api_clients.authenticate(uow, client_id=app.client_id, secret=secret)
    # The list shows it without the secret; revoking asks first.
    await chat.send(ADMIN, "/apps")
    listed = chat.last_text(ADMIN)
    assert app.client_id in listed and secret not in listed
    await chat.tap(ADMIN, "注销 渝快社区")
    assert "确定注销这个应用吗" in chat.last_text(ADMIN)
    await chat.tap(ADMIN, "否")
    assert (await api_clients.all_clients(uow))[0].revoked_at is None
    await chat.tap(ADMIN, "是，注销")
    assert chat.last_text(ADMIN) == "渝快社区 已注销：它的令牌即刻失效。"
    assert (await api_clients.all_clients(uow))[0].revoked_at is not None
    assert await api_clients.authenticate(uow, client_id=app.client_id, secret=secret) is None


async def test_the_same_in_english(chat: ChatHarness, uow: UnitOfWork) -> None:
    await chat.send(ENGLISH_ADMIN, "/apps", language="en")
    assert chat.last_text(ENGLISH_ADMIN) == "No apps are registered yet."
    await chat.tap(ENGLISH_ADMIN, "Register an app", language="en")
    assert "What is the app called?" in chat.last_text(ENGLISH_ADMIN)
    await chat.send(ENGLISH_ADMIN, "Smart Community", language="en")
    await chat.tap(ENGLISH_ADMIN, "Read residents' requests", language="en")
    await chat.tap(ENGLISH_ADMIN, "Next »", language="en")
    said = chat.last_text(ENGLISH_ADMIN)
    assert "Smart Community is registered for street/township" in said
    assert "The secret is shown only now" in said
    (app,) = await api_clients.all_clients(uow)
    assert app.scopes == {"needs:read"}


async def test_a_community_worker_cannot_manage_apps(chat: ChatHarness, uow: UnitOfWork) -> None:
    await chat.send(WORKER, "/apps")
    assert chat.last_text(WORKER) == "只有街道和区县管理员可以管理应用。"
    # A forged "register" button does not get past the service either.
    await forge(chat, WORKER, AppCb(action=AppAction.NEW).pack())
    assert chat.alerts(WORKER)[-1] == DENIED
    assert await api_clients.all_clients(uow) == []


async def test_an_admin_cannot_revoke_an_app_of_another_street(
    chat: ChatHarness, uow: UnitOfWork, world: Map
) -> None:
    theirs = await api_clients.register(
        uow,
        name="乙街道应用",
        scopes=["needs:read"],
        area_level=ScopeLevel.STREET,
        area_id=world.street_b,
    )
    await chat.send(ADMIN, "/apps")
    assert "乙街道应用" not in chat.last_text(ADMIN)
    await forge(chat, ADMIN, AppCb(action=AppAction.YES, item=theirs.client.id).pack())
    assert chat.alerts(ADMIN)[-1] == DENIED
    assert (await api_clients.all_clients(uow))[0].revoked_at is None
    await chat.send(OTHER_ADMIN, "/apps")
    assert "乙街道应用" in chat.last_text(OTHER_ADMIN)
