"""The needs loop in chat: resident files, worker triages and assigns, assignee resolves,
resident rates — each screen seen by the right people only."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.principal import Grant, Place, Principal
from storage.db import make_session_factory
from storage.models import AuditEntry
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person

RESIDENT, WORKER, SOCIAL, OUTSIDER, OTHER_WORKER = 7001, 7002, 7003, 7004, 7005


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
    await make_person(
        uow,
        "刘社工",
        community=world.community_a1,
        web_id=SOCIAL,
        grants=((Role.SOCIAL_WORKER, c, world.community_a1),),
    )
    await make_person(
        uow,
        "外村人",
        community=world.community_b1,
        web_id=OUTSIDER,
        grants=((Role.RESIDENT, c, world.community_b1),),
    )
    await make_person(
        uow,
        "乙村干部",
        community=world.community_b1,
        web_id=OTHER_WORKER,
        grants=((Role.COMMUNITY_WORKER, c, world.community_b1),),
    )
    return world


@pytest.fixture
async def chat(engine: AsyncEngine, world: Map) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def file_need(chat: ChatHarness, text: str = "楼道灯坏了，老人晚上看不见") -> str:
    await chat.send(RESIDENT, "/need")
    await chat.tap(RESIDENT, "养老服务")
    await chat.send(RESIDENT, text)
    await chat.tap(RESIDENT, "跳过")
    await chat.tap(RESIDENT, "一般")
    await chat.tap(RESIDENT, "本人")
    await chat.tap(RESIDENT, "不用上门")
    assert "请核对您的诉求" in chat.last_text(RESIDENT)
    await chat.tap(RESIDENT, "确认")
    done = chat.last_text(RESIDENT)
    assert "您的诉求已登记，编号 A1-" in done
    return done.split("编号 ")[1].split("。")[0]


async def test_the_whole_loop_in_chat(chat: ChatHarness, engine: AsyncEngine) -> None:
    reference = await file_need(chat)
    assert reference == "A1-2026-00001" or reference.startswith("A1-")
    # The worker was told, and triages from the notice.
    assert any("有新诉求" in s for s in chat.screens(WORKER))
    await chat.send(WORKER, "/queue")
    assert reference in chat.last_text(WORKER)
    await chat.tap(WORKER, reference)
    assert "楼道灯坏了" in chat.last_text(WORKER)
    await chat.tap(WORKER, "受理")
    await chat.tap(WORKER, "分派")
    await chat.tap(WORKER, "刘社工")
    assert "承办：刘社工" in chat.last_text(WORKER)
    # The assignee gets it, starts, resolves.
    assert any(f"诉求 {reference} 已分派给您" in s for s in chat.screens(SOCIAL))
    await chat.tap(SOCIAL, "开始办理")
    await chat.tap(SOCIAL, "办结")
    await chat.send(SOCIAL, "已联系物业更换灯泡")
    assert "已请居民确认" in chat.last_text(SOCIAL)
    # The resident heard every step, in Chinese, and rates.
    resident_screens = "\n".join(chat.screens(RESIDENT))
    for state in ("已受理", "已分派", "办理中", "已办理：已联系物业更换灯泡"):
        assert state in resident_screens
    await chat.tap(RESIDENT, "已解决")
    await chat.tap(RESIDENT, "★★★★★")
    assert chat.last_text(RESIDENT) == f"谢谢！{reference} 已确认解决并办结。"
    async with make_session_factory(engine)() as session:
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.entity == "need").order_by(AuditEntry.id)
            )
        ).all()
    assert actions == [
        "need.filed",
        "need.accepted",
        "need.assigned",
        "need.in_progress",
        "need.resolved",
        "need.confirmed",
    ]


async def test_me_too_instead_of_a_duplicate(
    chat: ChatHarness, world: Map, uow: UnitOfWork
) -> None:
    await file_need(chat)
    neighbour = 7010
    await make_person(
        uow,
        "邻居",
        community=world.community_a1,
        web_id=neighbour,
        grants=((Role.RESIDENT, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    await chat.send(neighbour, "/need")
    await chat.tap(neighbour, "养老服务")
    await chat.send(neighbour, "我们楼道的灯坏了")
    await chat.tap(neighbour, "跳过")
    await chat.tap(neighbour, "紧急")
    await chat.tap(neighbour, "邻居")
    await chat.tap(neighbour, "不用上门")
    assert "社区里已有人提出过类似诉求" in chat.last_text(neighbour)
    await chat.tap(neighbour, "我也是")
    assert "已添加：您附议了" in chat.last_text(neighbour)
    await chat.send(neighbour, "/mine")
    assert "A1-" in chat.last_text(neighbour)


async def test_an_emergency_gets_the_numbers_to_call_at_once(chat: ChatHarness) -> None:
    await chat.send(RESIDENT, "/need")
    await chat.tap(RESIDENT, "其他")
    await chat.send(RESIDENT, "楼下着火了")
    assert any("火警 119" in s for s in chat.screens(RESIDENT))


async def test_other_community_people_cannot_see_or_act(chat: ChatHarness) -> None:
    reference = await file_need(chat)
    await chat.send(OTHER_WORKER, "/queue")
    assert reference not in chat.last_text(OTHER_WORKER)
    assert "暂无内容" in chat.last_text(OTHER_WORKER)
    # A forged "open" and "accept" on someone else's need, as if tapped in B's chat.
    need_id = 1
    for data in (f"nd:open:{need_id}:", f"nd:accept:{need_id}:"):
        chat.hub.conversation(OTHER_WORKER).messages[999] = {
            "message_id": 999,
            "date": 0,
            "chat": {"id": OTHER_WORKER, "type": "private"},
            "text": "x",
            "_html": "x",
            "reply_markup": {"inline_keyboard": [[{"text": "x", "callback_data": data}]]},
        }
        await chat.tap_data(OTHER_WORKER, 999, data)
        assert chat.alerts(OTHER_WORKER)[-1] == "抱歉，您无权在此进行该操作。"
    await chat.send(OUTSIDER, "/mine")
    assert chat.last_text(OUTSIDER) == "您还没有诉求。发送 /need 提交。"


async def test_residents_cannot_triage(chat: ChatHarness) -> None:
    await file_need(chat)
    await chat.send(RESIDENT, "/queue")
    assert chat.last_text(RESIDENT) == "抱歉，您无权在此进行该操作。"


async def test_the_needs_list_exports_csv(chat: ChatHarness) -> None:
    await file_need(chat)
    await chat.send(WORKER, "/needlist")
    events = chat.hub.conversation(WORKER).events
    document = [e for e in events if e["type"] == "document"][-1]
    assert document["filename"] == "needs-list.csv"
    stored = chat.hub.files[document["url"].rsplit("/", 1)[1]]
    text = stored.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("编号,社区,类别")
    assert "楼道灯坏了" in text
    assert any("需求清单" in s for s in chat.screens(WORKER))


async def test_a_survey_is_opened_answered_and_counted_in_chat(chat: ChatHarness) -> None:
    await chat.send(WORKER, "/newsurvey")
    await chat.send(
        WORKER, "老年需求\n? 是否独居？\n- 是\n- 否\n?* 需要什么？\n- 助餐\n- 陪伴\n?? 其他"
    )
    await chat.tap(WORKER, "甲一社区")
    await chat.tap(WORKER, "发布问卷")
    assert "问卷“老年需求”已发布" in chat.last_text(WORKER)
    await chat.send(OUTSIDER, "/survey")
    assert chat.last_text(OUTSIDER) == "目前没有需要您填写的问卷。"
    await chat.send(RESIDENT, "/survey")
    await chat.tap(RESIDENT, "老年需求")
    await chat.tap(RESIDENT, "是")
    await chat.tap(RESIDENT, "助餐")
    await chat.tap(RESIDENT, "陪伴")
    await chat.tap(RESIDENT, "完成")
    await chat.send(RESIDENT, "希望有理发")
    await chat.tap(RESIDENT, "提交我的答案")
    assert chat.last_text(RESIDENT) == "谢谢！您的答案已记录。"
    await chat.send(RESIDENT, "/survey")
    assert chat.last_text(RESIDENT) == "目前没有需要您填写的问卷。"
    await chat.send(WORKER, "/surveys")
    await chat.tap(WORKER, "老年需求")
    results = chat.last_text(WORKER)
    assert "答卷：1 份" in results
    assert "• 是: 1 (100%)" in results and "• 陪伴: 1 (100%)" in results
    assert "— 希望有理发" in results


async def test_many_notices_at_once_all_arrive(chat: ChatHarness, engine: AsyncEngine) -> None:
    from bot.services.ports import Notice

    async with make_session_factory(engine)() as session:
        from storage.models import ChannelAccount

        people = (await session.scalars(select(ChannelAccount.person_id))).all()
    notices = [
        Notice(p, "need.new_in_queue", {"reference": f"X-{n}"}) for n, p in enumerate(people)
    ]
    import asyncio

    await asyncio.gather(*(chat.notifier.send([n]) for n in notices * 4))
    received = sum(
        1
        for user in (RESIDENT, WORKER, SOCIAL, OUTSIDER, OTHER_WORKER)
        for screen in chat.screens(user)
        if "有新诉求 X-" in screen
    )
    assert received == len(notices) * 4


async def test_supporters_hear_how_it_ends_but_not_the_private_exchange(
    chat: ChatHarness, world: Map, uow: UnitOfWork
) -> None:
    reference = await file_need(chat)
    neighbour = 7011
    await make_person(
        uow,
        "邻居",
        community=world.community_a1,
        web_id=neighbour,
        grants=((Role.RESIDENT, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    await chat.send(neighbour, "/need")
    await chat.tap(neighbour, "养老服务")
    await chat.send(neighbour, "楼道灯坏了很久")
    await chat.tap(neighbour, "跳过")
    await chat.tap(neighbour, "一般")
    await chat.tap(neighbour, "本人")
    await chat.tap(neighbour, "不用上门")
    await chat.tap(neighbour, "我也是")
    await chat.send(WORKER, "/queue")
    await chat.tap(WORKER, reference)
    await chat.tap(WORKER, "受理")
    # A supporter hears of "the request you support", never of "your request".
    assert any(f"您附议的诉求 {reference} 当前状态" in s for s in chat.screens(neighbour))
    assert not any(f"您的诉求 {reference}" in s for s in chat.screens(neighbour))
    await chat.tap(WORKER, "办结")
    await chat.send(WORKER, "已更换灯泡")
    assert any(f"您附议的诉求 {reference} 已办理：已更换灯泡" in s for s in chat.screens(neighbour))


async def test_a_forged_me_too_for_a_need_not_offered_is_refused(
    chat: ChatHarness, world: Map, uow: UnitOfWork
) -> None:
    await file_need(chat, "楼道灯坏了，晚上看不见")
    await file_need(chat, "需要助餐服务，老人做饭不方便")
    neighbour = 7012
    await make_person(
        uow,
        "邻居",
        community=world.community_a1,
        web_id=neighbour,
        grants=((Role.RESIDENT, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    await chat.send(neighbour, "/need")
    await chat.tap(neighbour, "养老服务")
    await chat.send(neighbour, "楼道灯坏了好久")
    await chat.tap(neighbour, "跳过")
    await chat.tap(neighbour, "一般")
    await chat.tap(neighbour, "本人")
    await chat.tap(neighbour, "不用上门")
    message_id, offered = chat.find_button(neighbour, "我也是")
    assert offered == "nn:me_too:1"
    forged = "nn:me_too:2"  # the meal service need, never offered to this neighbour
    chat.hub.conversation(neighbour).messages[message_id]["reply_markup"]["inline_keyboard"].append(
        [{"text": "forged", "callback_data": forged}]
    )
    await chat.tap_data(neighbour, message_id, forged)
    assert chat.last_text(neighbour) == "此按钮已失效，请发送 /start 重新开始。"
    await chat.send(neighbour, "/mine")
    assert chat.last_text(neighbour) == "您还没有诉求。发送 /need 提交。"


def test_spreadsheet_formulas_in_residents_text_are_made_inert() -> None:
    from handlers.common.exports import safe_cell as _cell

    assert _cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert _cell("+1") == "'+1" and _cell("普通文字") == "普通文字" and _cell(3) == 3


async def test_a_resident_registers_as_a_volunteer_and_a_worker_verifies(
    chat: ChatHarness,
) -> None:
    from bot.domain.volunteers import check_character

    number = "50010619850612123" + check_character("50010619850612123")
    await chat.send(RESIDENT, "/volunteer")
    assert "登记前请了解：您的个人信息" in chat.last_text(RESIDENT)
    await chat.tap(RESIDENT, "我同意")
    assert "身份证号属于敏感个人信息" in chat.last_text(RESIDENT)
    await chat.tap(RESIDENT, "我同意")
    await chat.send(RESIDENT, "王 芳")
    await chat.send(RESIDENT, "50010619850612123" + ("0" if number[-1] != "0" else "1"))
    assert chat.last_text(RESIDENT) == "最后一位校验码不符，请检查号码。"
    await chat.send(RESIDENT, number)
    await chat.send(RESIDENT, "12345")
    assert "不是有效的大陆手机号" in chat.last_text(RESIDENT)
    await chat.send(RESIDENT, "138 0013 8000")
    await chat.tap(RESIDENT, "烹饪")
    await chat.tap(RESIDENT, "下一步")
    await chat.tap(RESIDENT, "跳过")
    await chat.tap(RESIDENT, "周六 上午")
    await chat.tap(RESIDENT, "下一步")
    await chat.tap(RESIDENT, "下一步")
    assert "身份证号：5001**********" in chat.last_text(RESIDENT)
    await chat.tap(RESIDENT, "确认")
    assert "登记成功" in chat.last_text(RESIDENT)
    assert number not in "\n".join(chat.screens(RESIDENT)[-3:])
    assert any("登记为志愿者" in s for s in chat.screens(WORKER))
    await chat.send(WORKER, "/volunteers")
    await chat.tap(WORKER, "王 芳")
    await chat.tap(WORKER, "已核验证件")
    assert chat.last_text(WORKER).startswith("已认证：王 芳，志愿者编号 A1-V-")
    assert any("您已通过实名认证" in s for s in chat.screens(RESIDENT))
    await chat.send(OTHER_WORKER, "/volunteers")
    assert chat.last_text(OTHER_WORKER) == "目前没有待认证的志愿者登记。"


async def test_a_worker_posts_a_shift_and_a_verified_volunteer_signs_up_and_cancels(
    chat: ChatHarness, world: Map, uow: UnitOfWork
) -> None:
    from bot.domain.volunteers import Skill, check_character
    from bot.services import volunteers
    from bot.services.crypto import PersonalDataCipher
    from bot.services.ports import RecordingNotifier

    resident = Principal(1, "zh", home=Place(world.community_a1, world.street_a, world.district))
    async with uow:
        account = await uow.people.account(Channel.WEB, str(RESIDENT))
        assert account is not None
        resident = Principal(account.person_id, "zh", home=resident.home)
        worker_account = await uow.people.account(Channel.WEB, str(WORKER))
        assert worker_account is not None
        worker_id = worker_account.person_id
    first17 = "50010619850612123"
    view = await volunteers.register(
        uow,
        PersonalDataCipher(b"test-secret"),
        RecordingNotifier(),
        resident,
        real_name="王芳",
        id_number=first17 + check_character(first17),
        phone="13800138000",
        skills=[Skill.COOKING],
        tags=[],
        availability=[],
        community_ids=[],
    )
    async with uow:
        worker_account = await uow.people.account(Channel.WEB, str(WORKER))
        assert worker_account is not None
        worker_id = worker_account.person_id
    worker = Principal(
        worker_id,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )
    await volunteers.verify(uow, RecordingNotifier(), worker, volunteer_id=view.id, approve=True)

    await chat.send(WORKER, "/newshift")
    await chat.tap(WORKER, "甲一社区")
    await chat.send(WORKER, "助餐送餐")
    await chat.send(WORKER, "社区食堂")
    assert "300 米" in chat.last_text(WORKER)
    await chat.send(WORKER, "就在食堂")  # neither a location nor the "no location" button
    assert "请发送位置" in chat.last_text(WORKER)
    await chat.share_location(WORKER, 29.58, 106.45)
    await chat.send(WORKER, "明天早上")  # a start without an end
    assert "2026-12-05 09:00-11:30" in chat.last_text(WORKER)
    await chat.send(WORKER, "2030-12-05 09:00-11:30")
    assert "2030-12-05 09:00–11:30" in chat.last_text(WORKER)
    await chat.tap(WORKER, "确认")
    await chat.send(WORKER, "1")
    await chat.tap(WORKER, "烹饪")
    await chat.tap(WORKER, "下一步")
    await chat.tap(WORKER, "确认")
    assert any("班次已发布" in screen for screen in chat.screens(WORKER))
    assert "已通知 1 位" in chat.last_text(WORKER)  # the volunteer whom it fits
    async with uow:
        shift = await uow.shifts.get(1)
        assert shift is not None and (shift.latitude, shift.longitude) == (29.58, 106.45)
    await chat.send(RESIDENT, "/shifts")
    assert "助餐送餐" in chat.last_text(RESIDENT) and "名额：已报 0/1" in chat.last_text(RESIDENT)
    await chat.tap(RESIDENT, "报名")
    assert "✅ 您已报名" in chat.last_text(RESIDENT)
    await chat.send(RESIDENT, "/myshifts")
    await chat.tap(RESIDENT, "取消报名")
    assert chat.last_text(RESIDENT).startswith("您的报名已取消。")
    await chat.send(OUTSIDER, "/shifts")
    assert chat.last_text(OUTSIDER).startswith("只有通过实名认证的志愿者")
