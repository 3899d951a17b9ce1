"""Organisations, the resource list and funds in chat, through the real Dispatcher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Channel, OrganisationType, RegistrationStatus, Role, ScopeLevel
from bot.domain.needs import NeedCategory
from bot.domain.principal import Grant, Place, Principal
from bot.domain.projects import ProjectAction, ProjectKind
from bot.services import organisations, projects
from bot.services.ports import RecordingNotifier
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person

WORKER, ORG_ADMIN, CHARITY_ADMIN, NEWCOMER = 7101, 7102, 7103, 7104


@pytest.fixture
async def chat(engine: AsyncEngine) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def organisation(
    uow: UnitOfWork, world: Map, worker: Principal, name: str, kind: OrganisationType, web_id: int
) -> Principal:
    """A verified organisation whose admin chats as `web_id`."""
    person = await make_person(uow, f"{name}负责人", community=world.community_a1, web_id=web_id)
    home = Place(world.community_a1, world.street_a, world.district)
    founder = Principal(person, "zh", home=home)
    view = await organisations.register(
        uow,
        RecordingNotifier(),
        founder,
        name=name,
        type=kind,
        registration=RegistrationStatus.FILED,
        registration_number="沙备字 1",
        contact="13900139000",
    )
    await organisations.verify(
        uow, RecordingNotifier(), worker, organisation_id=view.id, approve=True
    )
    grant = Grant(Role.ORG_ADMIN, ScopeLevel.COMMUNITY, world.community_a1, organisation_id=view.id)
    return Principal(person, "zh", home=home, grants=(grant,))


async def setting(uow: UnitOfWork) -> tuple[Map, int]:
    world = await make_map(uow)
    worker_id = await make_person(
        uow,
        "韩主任",
        community=world.community_a1,
        grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
        web_id=WORKER,
    )
    worker = Principal(
        worker_id,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    admin = await organisation(
        uow, world, worker, "甲一互助会", OrganisationType.COMMUNITY_SOCIAL_ORG, ORG_ADMIN
    )
    await organisation(
        uow, world, worker, "甲一社区基金会", OrganisationType.COMMUNITY_FOUNDATION, CHARITY_ADMIN
    )
    project = await projects.draft(
        uow,
        admin,
        organisation_id=admin.grants[0].organisation_id,
        title="老年助餐",
        purpose="午餐",
        kind=ProjectKind.SERVICE,
        categories=[NeedCategory.ELDERLY_CARE],
        community_ids=[world.community_a1],
        budget_fen=100_000,
        starts_on=date(2026, 12, 1),
        ends_on=date(2027, 2, 28),
        major=False,
    )
    for who, action in ((admin, ProjectAction.SUBMIT), (worker, ProjectAction.APPROVE)):
        await projects.act(uow, RecordingNotifier(), who, project_id=project.id, action=action)
    await make_person(uow, "新人", community=world.community_a1, web_id=NEWCOMER)
    return world, project.id


async def test_a_taken_name_is_told_in_chat_after_the_confirmation(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    await setting(uow)
    await chat.send(NEWCOMER, "/org")
    await chat.tap(NEWCOMER, "登记组织")
    await chat.send(NEWCOMER, "甲一互助会")
    await chat.tap(NEWCOMER, "社区社会组织")
    await chat.tap(NEWCOMER, "尚未登记或备案")
    await chat.send(NEWCOMER, "张三 13900000000")
    await chat.tap(NEWCOMER, "确认")
    assert chat.last_text(NEWCOMER) == "已有同名组织登记。"


async def test_the_last_units_of_a_resource_are_reserved_once(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    _, project = await setting(uow)
    await chat.send(WORKER, "/resources")
    assert "资源清单是空的" in chat.screens(WORKER)[-2]
    await chat.tap(WORKER, "提供资源")
    await chat.tap(WORKER, "甲一社区")
    await chat.tap(WORKER, "物资")
    await chat.send(WORKER, "大米")
    await chat.send(WORKER, "两袋")
    assert chat.last_text(WORKER) == "请发送一个整数。"
    await chat.send(WORKER, "2")
    await chat.send(WORKER, "袋")
    await chat.send(WORKER, "下个月")
    assert chat.last_text(WORKER).startswith("请写一个日期")
    await chat.send(WORKER, "2099-12-31")
    assert "共 2 袋，可用 2" in chat.last_text(WORKER) and "有效至 2099-12-31" in chat.last_text(
        WORKER
    )

    await chat.send(WORKER, "/resources")
    await chat.tap(WORKER, "预留")
    await chat.send(WORKER, "2")
    await chat.send(WORKER, f"P{project}")
    assert chat.last_text(WORKER).startswith(f"已为 P{project} 预留 2")
    await chat.send(WORKER, "/resources")
    await chat.tap(WORKER, "预留")
    await chat.send(WORKER, "1")
    await chat.send(WORKER, "CQK-2026-99999")
    assert chat.last_text(WORKER) == "您负责的范围内没有这个编号的诉求。"
    await chat.send(WORKER, "/resources")
    await chat.tap(WORKER, "预留")
    await chat.send(WORKER, "1")
    await chat.send(WORKER, f"P{project}")
    assert chat.last_text(WORKER) == "这项资源剩余数量不够。"
    await chat.send(NEWCOMER, "/resources")
    await chat.tap(NEWCOMER, "预留")
    await chat.send(NEWCOMER, "1")
    await chat.send(NEWCOMER, f"P{project}")
    assert chat.last_text(NEWCOMER) == "抱歉，您无权在此进行该操作。"


async def test_money_is_raised_by_one_organisation_and_spent_by_another(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    _, project = await setting(uow)
    await chat.send(CHARITY_ADMIN, "/funds")
    await chat.tap(CHARITY_ADMIN, "为甲一社区基金会设立基金")
    await chat.send(CHARITY_ADMIN, "甲一社区基金")
    assert chat.last_text(CHARITY_ADMIN).startswith("基金已设立")
    await chat.send(CHARITY_ADMIN, "/funds")
    await chat.tap(CHARITY_ADMIN, "记录捐赠")
    await chat.send(CHARITY_ADMIN, "一千")
    assert chat.last_text(CHARITY_ADMIN).startswith("请按元填写金额")
    await chat.send(CHARITY_ADMIN, "1,000")
    await chat.tap(CHARITY_ADMIN, "匿名")
    await chat.tap(CHARITY_ADMIN, "不限定用途")
    assert "累计捐赠 ¥1,000" in chat.last_text(CHARITY_ADMIN)
    await chat.send(CHARITY_ADMIN, "/funds")
    await chat.tap(CHARITY_ADMIN, "拨付给项目")
    await chat.send(CHARITY_ADMIN, f"P{project}")
    await chat.send(CHARITY_ADMIN, "1200")
    await chat.tap(CHARITY_ADMIN, "不限定用途")
    assert chat.alerts(CHARITY_ADMIN)[-1] == "基金中可用于这一用途的余额不足。"
    await chat.send(CHARITY_ADMIN, "/funds")
    await chat.tap(CHARITY_ADMIN, "拨付给项目")
    await chat.send(CHARITY_ADMIN, f"P{project}")
    await chat.send(CHARITY_ADMIN, "600.50")
    await chat.tap(CHARITY_ADMIN, "不限定用途")
    assert chat.last_text(CHARITY_ADMIN).startswith(f"已向 P{project} 拨付 ¥600.50")

    await chat.send(ORG_ADMIN, f"/spend P{project}")
    await chat.tap(ORG_ADMIN, "甲一社区基金")
    await chat.send(ORG_ADMIN, "700")
    await chat.send(ORG_ADMIN, "买米买菜")
    assert chat.last_text(ORG_ADMIN) == "超出了这笔拨款的剩余金额。"
    await chat.send(ORG_ADMIN, f"/spend P{project}")
    await chat.tap(ORG_ADMIN, "剩余 ¥600.50")
    await chat.send(ORG_ADMIN, "500")
    await chat.send(ORG_ADMIN, "买米买菜")
    assert "已记录支出 ¥500" in chat.last_text(ORG_ADMIN)
    assert "余额 ¥399.50（未拨付）· 已拨付未支出 ¥100.50" in chat.last_text(ORG_ADMIN)
    await chat.send(NEWCOMER, f"/start p_{project}")
    assert "来自" not in chat.last_text(NEWCOMER)  # an unpublished project stays with its owners
    await chat.send(ORG_ADMIN, f"/start p_{project}")
    assert "来自甲一社区基金：拨付 ¥600.50，已支出 ¥500" in chat.last_text(ORG_ADMIN)

    await chat.send(CHARITY_ADMIN, "/funds")
    await chat.tap(CHARITY_ADMIN, "收支明细")
    event = chat.hub.conversation(CHARITY_ADMIN).events[-1]
    assert event["type"] == "document"
    csv_text = chat.hub.files[event["url"].rsplit("/", 1)[1]].content.decode("utf-8-sig")
    assert '捐赠,"1,000"' in csv_text and "拨付,600.50,老年助餐" in csv_text
    assert "支出,500,老年助餐: 买米买菜" in csv_text


async def test_a_resource_shows_the_needs_it_could_serve_and_reserves_for_one(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    from bot.domain.needs import Beneficiary, Urgency
    from bot.domain.resources import ResourceKind
    from bot.services import needs, resources

    world, _ = await setting(uow)
    resident_id = await make_person(uow, "居民", community=world.community_a1)
    resident = Principal(
        resident_id, "zh", home=Place(world.community_a1, world.street_a, world.district)
    )
    filed = await needs.file_need(
        uow,
        RecordingNotifier(),
        resident,
        category=NeedCategory.ELDERLY_CARE,
        description="独居老人冬天缺棉被",
        urgency=Urgency.URGENT,
        beneficiary=Beneficiary.SELF,
    )
    async with uow:
        worker_id = (await uow.people.account(Channel.WEB, str(WORKER))).person_id  # type: ignore[union-attr]
    worker = Principal(
        worker_id,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    await resources.post(
        uow,
        worker,
        community_id=world.community_a1,
        kind=ResourceKind.GOODS,
        title="棉被",
        quantity=3,
        unit="床",
    )
    await chat.send(WORKER, "/resources")
    await chat.tap(WORKER, "可用于哪些诉求")
    assert filed.need.reference in chat.last_text(WORKER) and "缺棉被" in chat.last_text(WORKER)
    await chat.tap(WORKER, f"为 {filed.need.reference} 预留 1")
    assert "共 3 床，可用 2" in chat.last_text(WORKER)
