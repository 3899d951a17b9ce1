"""The first hour of a resident, in chat (issue 14, slice A): emergencies answered in any
message, free text where a button was expected, the repair and housekeeping categories, any
first message starting onboarding, /help grouped by role, choices marked in words."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Role, ScopeLevel
from bot.domain.needs import NeedCategory, Urgency
from bot.services import places
from storage.db import make_session_factory
from storage.models import Need
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person

RESIDENT, ENGLISH, WORKER, NEWCOMER, VOLUNTEER = 8101, 8102, 8103, 8104, 8105
NOT_UNDERSTOOD = "抱歉，我没有理解"
PATH_ZH = ("渝北区", "甲街道", "甲一社区")
PATH_EN = ("Yubei", "Street A", "A-One")


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
        "Anna",
        community=world.community_a1,
        web_id=ENGLISH,
        locale="en",
        grants=((Role.RESIDENT, c, world.community_a1),),
    )
    await make_person(
        uow,
        "李社工",
        community=world.community_a1,
        web_id=WORKER,
        grants=(
            (Role.RESIDENT, c, world.community_a1),
            (Role.COMMUNITY_WORKER, c, world.community_a1),
        ),
    )
    await make_person(
        uow,
        "张志愿",
        community=world.community_a1,
        web_id=VOLUNTEER,
        grants=((Role.RESIDENT, c, world.community_a1), (Role.VOLUNTEER, c, world.community_a1)),
    )
    return world


@pytest.fixture
async def chat(engine: AsyncEngine, world: Map) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def stored_needs(engine: AsyncEngine) -> list[Need]:
    async with make_session_factory(engine)() as session:
        return list((await session.scalars(select(Need).order_by(Need.id))).all())


def said(chat: ChatHarness, user: int) -> str:
    return "\n".join(chat.screens(user))


# ---------------------------------------------------------------- 1. emergencies in any message


async def test_an_emergency_typed_outside_need_gets_the_numbers_and_the_duty_phone(
    chat: ChatHarness, engine: AsyncEngine, world: Map, uow: UnitOfWork
) -> None:
    await places.set_duty_phone(uow, community_id=world.community_a1, phone="023-68123456")
    answer = await chat.send(RESIDENT, "救命！厨房着火了")
    alert = chat.last_text(RESIDENT)
    assert len([e for e in answer if e["type"] == "message" and e["from"] == "bot"]) == 1
    assert "听起来情况紧急，请马上打电话" in alert
    for line in ("急救 120", "火警 119", "报警 110", "社区值班电话：023-68123456"):
        assert line in alert
    assert "先离开，随手关上门；不要坐电梯。" in alert
    assert NOT_UNDERSTOOD not in said(chat, RESIDENT)
    # Still filed, as urgent, when the person wants: the typed text is the description.
    await chat.tap(RESIDENT, "登记为紧急求助")
    assert chat.last_text(RESIDENT) == "为谁求助？"
    await chat.tap(RESIDENT, "本人")
    await chat.tap(RESIDENT, "不用上门")
    check = chat.last_text(RESIDENT)
    assert "紧急程度：紧急" in check and "救命！厨房着火了" in check
    await chat.tap(RESIDENT, "确认")
    assert "您的诉求已登记" in said(chat, RESIDENT)
    [need] = await stored_needs(engine)
    assert need.urgency is Urgency.URGENT
    assert need.description == "救命！厨房着火了"


async def test_a_fall_described_inside_need_gets_120_at_once_and_can_be_marked_urgent(
    chat: ChatHarness, engine: AsyncEngine
) -> None:
    await chat.send(RESIDENT, "/need")
    await chat.tap(RESIDENT, "其他")
    await chat.send(RESIDENT, "老伴在家摔倒了，起不来，胸口疼")
    screens = chat.screens(RESIDENT)
    alert = next(i for i, s in enumerate(screens) if "急救 120" in s)
    step = next(i for i, s in enumerate(screens) if "您可以现在添加照片或位置" in s)
    assert alert < step, "the numbers come before the next step"
    assert "火警 119" not in screens[alert]
    assert "不要急着把人扶起来" in screens[alert]
    await chat.tap(RESIDENT, "把我的诉求标为紧急")
    assert chat.last_text(RESIDENT) == "已把您的诉求标为紧急。"
    await chat.tap(RESIDENT, "跳过")
    # Marked urgent already: not asked again.
    assert chat.last_text(RESIDENT) == "为谁求助？"
    await chat.tap(RESIDENT, "家人")
    await chat.tap(RESIDENT, "不用上门")
    await chat.tap(RESIDENT, "确认")
    [need] = await stored_needs(engine)
    assert need.urgency is Urgency.URGENT
    assert need.description == "老伴在家摔倒了，起不来，胸口疼"


async def test_an_emergency_in_english_gets_the_numbers_in_english(chat: ChatHarness) -> None:
    await chat.send(ENGLISH, "There is a fire in the kitchen!", language="en")
    alert = chat.last_text(ENGLISH)
    assert "This sounds like an emergency. Please call now:" in alert
    assert "Fire (火警): 119" in alert
    assert "duty phone" not in alert  # none set for this community
    assert "Sorry, I didn't understand" not in said(chat, ENGLISH)
    assert chat.find_button(ENGLISH, "File it as an urgent request")


async def test_a_hotpot_invitation_is_not_an_emergency(chat: ChatHarness) -> None:
    await chat.send(RESIDENT, "周末一起吃火锅吗")
    assert chat.last_text(RESIDENT).startswith(NOT_UNDERSTOOD)
    assert "120" not in said(chat, RESIDENT)


async def test_an_emergency_at_another_step_is_answered_and_the_step_goes_on(
    chat: ChatHarness,
) -> None:
    await chat.send(RESIDENT, "/need")
    await chat.tap(RESIDENT, "养老服务")
    await chat.send(RESIDENT, "老人需要有人陪同看病")
    await chat.tap(RESIDENT, "跳过")
    await chat.send(RESIDENT, "他现在喘不过气了")
    screens = chat.screens(RESIDENT)
    assert any("急救 120" in s for s in screens[-2:])
    assert "有多紧急？" in screens[-1]  # the question of the step, asked again


# ---------------------------------------------------------------- 2. free text at a button step


async def test_a_description_typed_at_the_category_step_becomes_the_request(
    chat: ChatHarness, engine: AsyncEngine
) -> None:
    await chat.send(RESIDENT, "/need")
    await chat.send(RESIDENT, "家里水管坏了，一直漏水")
    screen = chat.last_text(RESIDENT)
    assert "已记下您的诉求" in screen and "家里水管坏了，一直漏水" in screen
    assert "类别：维修，对吗？" in screen
    assert NOT_UNDERSTOOD not in said(chat, RESIDENT)
    await chat.tap(RESIDENT, "是：维修")
    assert "类别：维修。" in chat.screens(RESIDENT)
    # Not asked to describe it again: straight on to the photo / location step.
    await chat.tap(RESIDENT, "跳过")
    await chat.tap(RESIDENT, "一般")
    await chat.tap(RESIDENT, "本人")
    await chat.tap(RESIDENT, "不用上门")
    assert "类别：维修" in chat.last_text(RESIDENT)
    await chat.tap(RESIDENT, "确认")
    [need] = await stored_needs(engine)
    assert need.category is NeedCategory.HOME_REPAIR
    assert need.description == "家里水管坏了，一直漏水"


async def test_the_guessed_category_can_be_changed(chat: ChatHarness, engine: AsyncEngine) -> None:
    await chat.send(RESIDENT, "/need")
    await chat.send(RESIDENT, "请问这个怎么弄")
    assert "类别：其他，对吗？" in chat.last_text(RESIDENT)
    await chat.tap(RESIDENT, "家政")
    assert "类别：家政。" in chat.screens(RESIDENT)
    await chat.tap(RESIDENT, "跳过")
    await chat.tap(RESIDENT, "一般")
    await chat.tap(RESIDENT, "本人")
    await chat.tap(RESIDENT, "不用上门")
    await chat.tap(RESIDENT, "确认")
    [need] = await stored_needs(engine)
    assert need.category is NeedCategory.HOUSEKEEPING


async def test_text_at_a_button_step_repeats_the_question_with_its_buttons(
    chat: ChatHarness,
) -> None:
    await chat.send(RESIDENT, "/need")
    await chat.tap(RESIDENT, "养老服务")
    await chat.send(RESIDENT, "想找人陪我去医院复查")
    await chat.tap(RESIDENT, "跳过")
    asked_before, _ = chat.find_button(RESIDENT, "一般")
    await chat.send(RESIDENT, "不知道")
    repeated = chat.last_text(RESIDENT)
    assert repeated.startswith("请点下面的按钮回答")
    assert "有多紧急？" in repeated
    assert NOT_UNDERSTOOD not in said(chat, RESIDENT)
    asked_again, _ = chat.find_button(RESIDENT, "一般")
    assert asked_again > asked_before, "the buttons come again, on the new message"
    await chat.tap(RESIDENT, "一般")
    assert chat.last_text(RESIDENT) == "为谁求助？"
    await chat.send(RESIDENT, "嗯")
    assert "为谁求助？" in chat.last_text(RESIDENT)
    assert chat.find_button(RESIDENT, "本人")


async def test_text_at_a_button_step_repeats_the_question_in_english(chat: ChatHarness) -> None:
    await chat.send(ENGLISH, "/need", language="en")
    await chat.tap(ENGLISH, "Elderly care", language="en")
    await chat.send(ENGLISH, "A lift to the clinic", language="en")
    await chat.tap(ENGLISH, "Skip", language="en")
    await chat.tap(ENGLISH, "Normal", language="en")
    await chat.send(ENGLISH, "my mother", language="en")
    repeated = chat.last_text(ENGLISH)
    assert repeated.startswith("Please answer with the buttons below")
    assert "Who is it for?" in repeated
    assert chat.find_button(ENGLISH, "A family member")


async def test_a_multiple_choice_is_repeated_with_what_is_chosen(chat: ChatHarness) -> None:
    await chat.send(WORKER, "/newsurvey")
    await chat.send(WORKER, "老年需求\n?* 需要什么？\n- 助餐\n- 陪伴")
    await chat.tap(WORKER, "甲一社区")
    assert chat.find_button(WORKER, "✅ 已选 甲一社区")
    await chat.send(WORKER, "好了")
    assert chat.last_text(WORKER).startswith("请点下面的按钮回答")
    assert chat.find_button(WORKER, "✅ 已选 甲一社区")


async def test_a_text_description_in_english_at_the_category_step(
    chat: ChatHarness, engine: AsyncEngine
) -> None:
    await chat.send(ENGLISH, "/need", language="en")
    await chat.send(ENGLISH, "I need help with cleaning my flat", language="en")
    screen = chat.last_text(ENGLISH)
    assert "Kind of request: Housekeeping. Is that right?" in screen
    await chat.tap(ENGLISH, "Yes: Housekeeping", language="en")
    await chat.tap(ENGLISH, "Skip", language="en")
    await chat.tap(ENGLISH, "Normal", language="en")
    await chat.tap(ENGLISH, "Myself", language="en")
    await chat.tap(ENGLISH, "No visit needed", language="en")
    await chat.tap(ENGLISH, "Confirm", language="en")
    [need] = await stored_needs(engine)
    assert need.category is NeedCategory.HOUSEKEEPING


# ---------------------------------------------------------------- 3. categories


async def test_repair_and_housekeeping_are_offered_and_reach_the_needs_list(
    chat: ChatHarness,
) -> None:
    await chat.send(RESIDENT, "/need")
    assert chat.find_button(RESIDENT, "维修")
    await chat.tap(RESIDENT, "家政")
    await chat.send(RESIDENT, "每周需要人来打扫一次")
    await chat.tap(RESIDENT, "跳过")
    await chat.tap(RESIDENT, "一般")
    await chat.tap(RESIDENT, "本人")
    await chat.tap(RESIDENT, "不用上门")
    await chat.tap(RESIDENT, "确认")
    await chat.send(WORKER, "/needlist")
    assert "家政" in chat.last_text(WORKER) or any("家政" in s for s in chat.screens(WORKER))
    document = [e for e in chat.hub.conversation(WORKER).events if e["type"] == "document"][-1]
    text = chat.hub.files[document["url"].rsplit("/", 1)[1]].content.decode("utf-8-sig")
    assert ",家政," in text


# ---------------------------------------------------------------- 4. any first message


async def test_a_greeting_starts_onboarding_and_offers_nothing_to_file(chat: ChatHarness) -> None:
    await chat.send(NEWCOMER, "你好")
    assert chat.last_text(NEWCOMER) == "请选择语言 / Please choose your language"
    await chat.tap(NEWCOMER, "中文")
    for label in PATH_ZH:
        await chat.tap(NEWCOMER, label)
    await chat.tap(NEWCOMER, "跳过")  # the name (称呼) step
    screens = chat.screens(NEWCOMER)
    assert "完成！您已登记为甲一社区的居民。" in screens
    assert screens[-1].startswith("您可以使用以下功能：")
    assert not any("您刚才写的是" in s for s in screens)


async def test_a_problem_typed_first_is_kept_and_offered_as_a_request(
    chat: ChatHarness, engine: AsyncEngine
) -> None:
    await chat.send(NEWCOMER, "我家水管坏了，一直漏水")
    assert chat.last_text(NEWCOMER) == "请选择语言 / Please choose your language"
    await chat.tap(NEWCOMER, "中文")
    await chat.send(NEWCOMER, "怎么选？")  # text at a button step: the question again
    assert "您住在哪个社区？" in chat.last_text(NEWCOMER)
    for label in PATH_ZH:
        await chat.tap(NEWCOMER, label)
    await chat.tap(NEWCOMER, "跳过")  # the name (称呼) step
    offer = chat.last_text(NEWCOMER)
    assert "您刚才写的是：" in offer and "我家水管坏了，一直漏水" in offer
    await chat.tap(NEWCOMER, "是，登记为求助")
    assert "类别：维修，对吗？" in chat.last_text(NEWCOMER)
    await chat.tap(NEWCOMER, "是：维修")
    await chat.tap(NEWCOMER, "跳过")
    await chat.tap(NEWCOMER, "一般")
    await chat.tap(NEWCOMER, "本人")
    await chat.tap(NEWCOMER, "不用上门")
    await chat.tap(NEWCOMER, "确认")
    [need] = await stored_needs(engine)
    assert need.description == "我家水管坏了，一直漏水"
    assert need.category is NeedCategory.HOME_REPAIR


async def test_need_before_onboarding_continues_to_need_after_it(chat: ChatHarness) -> None:
    await chat.send(NEWCOMER, "/need")
    assert chat.last_text(NEWCOMER) == "请选择语言 / Please choose your language"
    await chat.tap(NEWCOMER, "中文")
    for label in PATH_ZH:
        await chat.tap(NEWCOMER, label)
    await chat.tap(NEWCOMER, "跳过")  # the name (称呼) step
    assert chat.last_text(NEWCOMER).startswith("您的诉求属于哪一类？")
    assert chat.find_button(NEWCOMER, "维修")


async def test_the_web_pages_start_need_button_works_before_onboarding(chat: ChatHarness) -> None:
    await chat.send(NEWCOMER, "/start need")
    await chat.tap(NEWCOMER, "中文")
    for label in PATH_ZH:
        await chat.tap(NEWCOMER, label)
    await chat.tap(NEWCOMER, "跳过")  # the name (称呼) step
    assert chat.last_text(NEWCOMER).startswith("您的诉求属于哪一类？")


async def test_an_emergency_typed_first_is_answered_then_kept_as_an_urgent_request(
    chat: ChatHarness, engine: AsyncEngine
) -> None:
    await chat.send(NEWCOMER, "老伴摔倒了，胸口疼")
    screens = chat.screens(NEWCOMER)
    assert "急救 120" in screens[0]
    assert screens[-1] == "请选择语言 / Please choose your language"
    await chat.tap(NEWCOMER, "中文")
    for label in PATH_ZH:
        await chat.tap(NEWCOMER, label)
    await chat.tap(NEWCOMER, "跳过")  # the name (称呼) step
    await chat.tap(NEWCOMER, "是，登记为求助")
    await chat.tap(NEWCOMER, "是：养老服务")
    await chat.tap(NEWCOMER, "跳过")
    assert chat.last_text(NEWCOMER) == "为谁求助？"  # urgent already
    await chat.tap(NEWCOMER, "家人")
    await chat.tap(NEWCOMER, "不用上门")
    await chat.tap(NEWCOMER, "确认")
    [need] = await stored_needs(engine)
    assert need.urgency is Urgency.URGENT


async def test_a_first_message_in_english_is_offered_in_english(chat: ChatHarness) -> None:
    await chat.send(NEWCOMER, "Hi, my kitchen tap is leaking", language="en")
    await chat.tap(NEWCOMER, "English", language="en")
    for label in PATH_EN:
        await chat.tap(NEWCOMER, label, language="en")
    await chat.tap(NEWCOMER, "Skip", language="en")  # the name (称呼) step
    offer = chat.last_text(NEWCOMER)
    assert "Earlier you wrote:" in offer and "my kitchen tap is leaking" in offer
    await chat.tap(NEWCOMER, "No, thank you", language="en")
    assert chat.last_text(NEWCOMER).startswith("All right.")


async def test_link_before_onboarding_is_still_the_link_command(chat: ChatHarness) -> None:
    await chat.send(NEWCOMER, "/link")
    assert chat.last_text(NEWCOMER) != "请选择语言 / Please choose your language"


# ---------------------------------------------------------------- 5. /help and marks


async def test_help_for_a_resident_puts_asking_for_help_first_in_chinese(
    chat: ChatHarness,
) -> None:
    await chat.send(RESIDENT, "/help")
    lines = chat.last_text(RESIDENT).splitlines()
    assert lines[0] == "您可以使用以下功能："
    assert lines[2] == "求助与参与"
    assert lines[3] == "求助：提交诉求 — /need"
    assert lines[4] == "我的诉求及进展 — /mine"
    assert "我的设置" in lines
    assert not any("/queue" in line for line in lines)
    assert not any("/shifts" in line for line in lines)


async def test_help_for_a_worker_adds_their_group_after_the_resident_basics(
    chat: ChatHarness,
) -> None:
    await chat.send(WORKER, "/help")
    lines = chat.last_text(WORKER).splitlines()
    resident, work, settings = (
        lines.index("求助与参与"),
        lines.index("社区工作"),
        lines.index("我的设置"),
    )
    assert resident < work < settings
    queue = next(i for i, line in enumerate(lines) if line.endswith("— /queue"))
    assert work < queue < settings


async def test_help_for_a_volunteer_in_english(chat: ChatHarness) -> None:
    await chat.send(VOLUNTEER, "/language")
    await chat.tap(VOLUNTEER, "English")
    await chat.send(VOLUNTEER, "/help", language="en")
    lines = chat.last_text(VOLUNTEER).splitlines()
    assert lines[2] == "Ask for help and take part"
    assert lines[3] == "/need — Ask for help: file a request"
    assert lines.index("Volunteering and your tasks") > lines.index("Ask for help and take part")
    assert "/shifts — Shifts you can sign up for" in lines


async def test_a_chosen_answer_is_marked_in_words(chat: ChatHarness) -> None:
    await chat.send(WORKER, "/newsurvey")
    await chat.send(WORKER, "老年需求\n?* 需要什么？\n- 助餐\n- 陪伴")
    await chat.tap(WORKER, "甲一社区")
    await chat.tap(WORKER, "发布问卷")
    await chat.send(RESIDENT, "/survey")
    await chat.tap(RESIDENT, "老年需求")
    await chat.tap(RESIDENT, "助餐")
    assert chat.find_button(RESIDENT, "✅ 已选 助餐")
    assert not any(
        b["text"].startswith("✅") and "陪伴" in b["text"]
        for row in chat.hub.conversation(RESIDENT).messages[chat.find_button(RESIDENT, "陪伴")[0]][
            "reply_markup"
        ]["inline_keyboard"]
        for b in row
    )


async def test_a_worker_describing_emergency_mode_gets_no_alert_of_their_own(
    chat: ChatHarness,
) -> None:
    await chat.send(WORKER, "/emergency")
    await chat.tap(WORKER, "甲一社区")
    await chat.send(WORKER, "暴雨，小区起火点已扑灭，请志愿者集合")
    assert "120" not in said(chat, WORKER)
    assert chat.find_button(WORKER, "是的，开启")  # the emergency form goes on to its confirmation


async def test_chest_pain_described_inside_need_in_english_gets_120_and_marks_urgent(
    chat: ChatHarness, engine: AsyncEngine
) -> None:
    await chat.send(ENGLISH, "/need", language="en")
    await chat.send(ENGLISH, "My husband has chest pain and can't get up", language="en")
    screens = chat.screens(ENGLISH)
    alert = next(s for s in screens if "Ambulance (急救): 120" in s)
    assert "Police" not in alert
    assert "Kind of request:" in screens[-1]  # the typed text became the description
    await chat.tap(ENGLISH, "Mark my request as urgent", language="en")
    await chat.tap(ENGLISH, "Yes:", language="en")
    await chat.tap(ENGLISH, "Skip", language="en")
    assert chat.last_text(ENGLISH) == "Who is it for?"
    await chat.tap(ENGLISH, "A family member", language="en")
    await chat.tap(ENGLISH, "No visit needed", language="en")
    assert "Urgency: Urgent" in chat.last_text(ENGLISH)
    await chat.tap(ENGLISH, "Confirm", language="en")
    [need] = await stored_needs(engine)
    assert need.urgency is Urgency.URGENT
    assert need.description == "My husband has chest pain and can't get up"
