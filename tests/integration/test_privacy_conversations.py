"""The person's rights in chat, in Chinese and in English: consent before /volunteer, /privacy
(see and withdraw), /mydata (two files), /deleteme (after a confirmation), /guardian for a
child under 14, and /accesslog for district admins."""

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Role, ScopeLevel
from bot.domain.local_time import local_today
from bot.domain.principal import Place, Principal
from bot.domain.privacy import CONSENT_VERSION
from bot.domain.volunteers import Skill, check_character
from bot.services import privacy, volunteers
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import RecordingNotifier
from storage.models import ChannelAccount, Person, PrivacyConsent, Volunteer
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person, make_volunteer

RESIDENT, ENGLISH, WORKER, ADMIN, CHILD = 7101, 7102, 7103, 7104, 7105


@pytest.fixture
async def world(uow: UnitOfWork) -> Map:
    world = await make_map(uow)
    c = ScopeLevel.COMMUNITY
    await make_person(uow, "王阿姨", community=world.community_a1, web_id=RESIDENT)
    await make_person(uow, "Anna", community=world.community_a1, web_id=ENGLISH, locale="en")
    await make_person(
        uow,
        "李社工",
        community=world.community_a1,
        web_id=WORKER,
        grants=((Role.COMMUNITY_WORKER, c, world.community_a1),),
    )
    await make_person(
        uow,
        "区管理员",
        community=world.community_a1,
        web_id=ADMIN,
        grants=((Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, world.district),),
    )
    return world


@pytest.fixture
async def chat(engine: AsyncEngine, world: Map) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def count(uow: UnitOfWork, model: Any) -> int:
    async with uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


def documents(chat: ChatHarness, user: int) -> dict[str, str]:
    found = {}
    for event in chat.hub.conversation(user).events:
        if event["type"] == "document":
            stored = chat.hub.files[event["url"].rsplit("/", 1)[1]]
            found[event["filename"]] = stored.content.decode("utf-8")
    return found


async def test_volunteer_registration_starts_with_two_consents_and_a_refusal_saves_nothing(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    await chat.send(RESIDENT, "/volunteer")
    notice = chat.last_text(RESIDENT)
    for part in ("收集哪些", "为什么", "保存多久", "谁能看到", f"告知书版本 {CONSENT_VERSION}"):
        assert part in notice
    await chat.send(RESIDENT, "好的")
    assert chat.last_text(RESIDENT) == "请点击“我同意”或“我不同意”（或发送 /cancel 取消）。"
    await chat.tap(RESIDENT, "我同意")
    assert "身份证号属于敏感个人信息" in chat.last_text(RESIDENT)
    await chat.tap(RESIDENT, "我不同意")
    assert chat.last_text(RESIDENT).startswith("没有您的同意，我们无法为您登记志愿者")
    assert await count(uow, PrivacyConsent) == 0
    # Typing a name now is not taken as a registration.
    await chat.send(RESIDENT, "王芳")
    assert await count(uow, Volunteer) == 0
    await chat.send(RESIDENT, "/volunteer")
    await chat.tap(RESIDENT, "我同意")
    await chat.tap(RESIDENT, "我同意")
    screens = chat.screens(RESIDENT)
    assert f"谢谢，您的同意已记录（告知书版本 {CONSENT_VERSION}）。" in screens
    assert "真实姓名" in screens[-1]
    await chat.send(RESIDENT, "/privacy")
    text = chat.last_text(RESIDENT)
    assert "志愿者登记（姓名、手机号、特长、时间）：版本 " + CONSENT_VERSION in text
    assert "您的居民身份证号（敏感信息）" in text
    # A second /volunteer does not ask again for the same notice.
    await chat.send(RESIDENT, "/volunteer")
    assert "真实姓名" in chat.last_text(RESIDENT)


async def test_in_english_the_notice_and_privacy_screens_are_english(chat: ChatHarness) -> None:
    await chat.send(ENGLISH, "/volunteer", language="en")
    assert "Before you register: your personal information" in chat.last_text(ENGLISH)
    await chat.tap(ENGLISH, "I agree", language="en")
    await chat.tap(ENGLISH, "I agree", language="en")
    await chat.send(ENGLISH, "/privacy", language="en")
    text = chat.last_text(ENGLISH)
    assert "Your consents" in text and f"version {CONSENT_VERSION}" in text
    await chat.tap(ENGLISH, "Withdraw my consent", language="en")
    await chat.tap(ENGLISH, "No, keep it", language="en")
    assert chat.last_text(ENGLISH) == "Nothing was changed."
    await chat.tap(ENGLISH, "Withdraw my consent", language="en")
    await chat.tap(ENGLISH, "Yes, withdraw", language="en")
    assert chat.last_text(ENGLISH) == "Your consent is withdrawn."
    await chat.send(ENGLISH, "/privacy", language="en")
    assert "withdrawn" in chat.last_text(ENGLISH)


async def test_a_verified_volunteer_withdraws_and_the_worker_is_told(
    chat: ChatHarness, uow: UnitOfWork, world: Map
) -> None:
    person = await make_volunteer(uow, world, 7110, "赵志愿", 7, Skill.COOKING)
    await privacy.give_registration_consent(
        uow,
        Principal(person, "zh", home=Place(world.community_a1, world.street_a, world.district)),
        locale="zh",
        id_number=True,
    )
    await chat.send(7110, "/privacy")
    await chat.tap(7110, "撤回我的同意")
    await chat.tap(7110, "是的，撤回")
    assert chat.last_text(7110) == (
        "您的同意已撤回。 您的志愿者登记已停止，并已告知您所在社区的工作人员。"
    )
    assert any("志愿者 赵志愿（A1-V-" in s and "撤回了同意" in s for s in chat.screens(WORKER))
    await chat.send(7110, "/shifts")
    assert chat.last_text(7110).startswith("只有通过实名认证的志愿者才能这样做")


@pytest.mark.parametrize(
    ("user", "language", "summary_title", "intro"),
    [
        (RESIDENT, "zh", "== 个人资料 (1) ==", "这是我们保存的您的全部信息"),
        (ENGLISH, "en", "== Profile (1) ==", "Here is everything stored about you"),
    ],
)
async def test_mydata_sends_a_readable_summary_and_the_full_json(
    chat: ChatHarness, user: int, language: str, summary_title: str, intro: str
) -> None:
    await chat.send(user, "/need", language=language)  # /mydata works in the middle of a flow
    await chat.send(user, "/mydata", language=language)
    assert any(s.startswith(intro) for s in chat.screens(user))
    files = documents(chat, user)
    assert set(files) == {"mydata.txt", "mydata.json"}
    assert summary_title in files["mydata.txt"]
    data = json.loads(files["mydata.json"])
    [profile] = data["sections"]["profile"]
    assert profile["display_name"] in ("王阿姨", "Anna")
    assert data["sections"]["accounts"][0]["external_id"] == str(user)
    assert [e["kind"] for e in data["sections"]["access_log"]] == []  # this export is logged next


async def test_deleteme_asks_first_then_erases_and_the_chat_starts_afresh(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    await chat.send(RESIDENT, "/deleteme")
    assert "删除后无法恢复" in chat.last_text(RESIDENT)
    await chat.tap(RESIDENT, "不，保留")
    assert chat.last_text(RESIDENT) == "没有做任何更改。"
    assert await count(uow, ChannelAccount) == 4
    await chat.send(RESIDENT, "/deleteme")
    await chat.tap(RESIDENT, "是的，删除我的信息")
    assert chat.last_text(RESIDENT).startswith("您的信息已删除。")
    async with uow:
        erased = (
            await uow.session.scalars(select(Person).where(Person.erased_at.is_not(None)))
        ).all()
        assert [(p.display_name, p.locale) for p in erased] == [("", None)]
    assert await count(uow, ChannelAccount) == 3
    # The same browser now is a new person, asked for a language as on a first visit.
    await chat.send(RESIDENT, "/start")
    assert await count(uow, ChannelAccount) == 4


async def test_deleteme_in_english(chat: ChatHarness, uow: UnitOfWork) -> None:
    await chat.send(ENGLISH, "/deleteme", language="en")
    assert "Erase your data?" in chat.last_text(ENGLISH)
    await chat.tap(ENGLISH, "Yes, erase my data", language="en")
    assert chat.last_text(ENGLISH).startswith("Your data is erased.")
    assert "Goodbye" in chat.last_text(ENGLISH)


async def test_a_worker_records_a_guardian_for_a_child_and_then_verifies(
    chat: ChatHarness, uow: UnitOfWork, world: Map
) -> None:
    child = await make_person(uow, "小明", community=world.community_a1, web_id=CHILD)
    principal = Principal(
        child, "zh", home=Place(world.community_a1, world.street_a, world.district)
    )
    first17 = f"500106{local_today().year - 9}0101123"
    await privacy.give_registration_consent(uow, principal, locale="zh", id_number=True)
    await volunteers.register(
        uow,
        PersonalDataCipher(b"test-secret"),
        RecordingNotifier(),
        principal,
        real_name="王小明",
        id_number=first17 + check_character(first17),
        phone="13800138000",
        skills=[],
        tags=[],
        availability=[],
        community_ids=[],
    )
    await chat.send(WORKER, "/volunteers")
    await chat.tap(WORKER, "王小明")
    await chat.tap(WORKER, "已核验证件")
    assert "未满 14 周岁：请先用 /guardian 登记监护人同意" in chat.alerts(WORKER)[-1]
    await chat.send(RESIDENT, "/guardian")
    assert chat.last_text(RESIDENT) == "抱歉，您无权在此进行该操作。"
    await chat.send(WORKER, "/guardian")
    assert "等待监护人同意的未满 14 周岁儿童：1 名" in chat.last_text(WORKER)
    await chat.tap(WORKER, "王小明")
    await chat.send(WORKER, "x")
    assert chat.last_text(WORKER) == "请发送监护人的姓名和与孩子的关系（2 到 100 个字）。"
    await chat.send(WORKER, "/guardian")
    await chat.tap(WORKER, "王小明")
    await chat.send(WORKER, "王丽 母亲")
    assert chat.last_text(WORKER).startswith("已登记：王小明 的监护人同意。")
    assert any("您的监护人同意已登记" in s for s in chat.screens(CHILD))
    await chat.send(WORKER, "/volunteers")
    await chat.tap(WORKER, "王小明")
    await chat.tap(WORKER, "已核验证件")
    assert chat.last_text(WORKER).startswith("已认证：王小明")
    # The action on the child's behalf is in the access log the district admin reads.
    await chat.send(ADMIN, "/accesslog")
    log = chat.last_text(ADMIN)
    assert "代他人办理 · 操作人 李社工" in log and "涉及 小明" in log
    assert "原因：guardian consent for a child under 14" in log


async def test_the_access_log_is_paged_and_only_for_district_admins(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    for _ in range(11):
        await chat.send(RESIDENT, "/mydata")
    await chat.send(WORKER, "/accesslog")
    assert chat.last_text(WORKER) == "抱歉，您无权在此进行该操作。"
    await chat.send(ADMIN, "/accesslog")
    assert "（第 1 页，共 2 页，11 条）" in chat.last_text(ADMIN)
    assert chat.last_text(ADMIN).count("导出了个人信息") == 10
    await chat.tap(ADMIN, "更早")
    assert "（第 2 页，共 2 页，11 条）" in chat.last_text(ADMIN)
    await chat.send(ADMIN, "/accesslog", language="en")
    await chat.send(ADMIN, "/help")
    assert "/accesslog" in chat.last_text(ADMIN)
    await chat.send(RESIDENT, "/help")
    help_text = chat.last_text(RESIDENT)
    assert "/privacy" in help_text and "/mydata" in help_text and "/deleteme" in help_text
    assert "/accesslog" not in help_text


async def test_a_child_registering_in_chat_is_told_a_guardian_must_agree(
    chat: ChatHarness, uow: UnitOfWork, world: Map
) -> None:
    await make_person(uow, "小红", community=world.community_a1, web_id=CHILD)
    first17 = f"500106{local_today().year - 12}0101123"
    await chat.send(CHILD, "/volunteer")
    await chat.tap(CHILD, "我同意")
    await chat.tap(CHILD, "我同意")
    await chat.send(CHILD, "李小红")
    await chat.send(CHILD, first17 + check_character(first17))
    await chat.send(CHILD, "13800138000")
    await chat.tap(CHILD, "下一步")
    await chat.tap(CHILD, "跳过")
    await chat.tap(CHILD, "下一步")
    await chat.tap(CHILD, "下一步")
    await chat.tap(CHILD, "确认")
    assert chat.last_text(CHILD).startswith("您未满 14 周岁：还需要父母或监护人同意。")
    await chat.send(WORKER, "/guardian")
    assert "等待监护人同意的未满 14 周岁儿童：1 名" in chat.last_text(WORKER)
