"""The social-work talent pipeline and the three-level service system in chat (issue 20, parts
3 and 4), through the real Dispatcher on SQLite and PostgreSQL, in Chinese and English: a
training posted like a shift, signed up for and checked into with the site code, its hours in
/mytraining; a certificate recorded and verified by a worker (never by its holder); a station's
staff recording a service that the coverage in /stats counts; a district's baseline year."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Role, ScopeLevel
from bot.domain.principal import Principal
from bot.domain.social_work import CertificateState, ServiceLevel, ShiftKind
from bot.services import social_work
from storage.models import Shift, SocialWorkCertificate, TrainingAttendance
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness, plain
from tests.support.factories import Map, make_map, make_person

WORKER, TRAINEE, OTHER, VILLAGE, ADMIN, STAFF, DISTRICT = 7801, 7802, 7803, 7804, 7805, 7806, 7807
REFUSED = "抱歉，您无权在此进行该操作。"
OPERATOR = Principal(0, "en", is_superadmin=True)


@pytest.fixture
async def chat(engine: AsyncEngine) -> AsyncIterator[ChatHarness]:
    harness = ChatHarness(engine)
    yield harness
    await harness.close()


async def _worker(
    uow: UnitOfWork, community: int, web_id: int, name: str, locale: str = "zh"
) -> int:
    return await make_person(
        uow, name, community=community,
        grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, community),), web_id=web_id,
        locale=locale,
    )  # fmt: skip


def _said(chat: ChatHarness, user: int, text: str) -> bool:
    return any(text in screen for screen in chat.screens(user))


async def _site_code(chat: ChatHarness, title: str) -> str:
    await chat.send(WORKER, "/sitecode")
    await chat.tap(WORKER, title)
    caption = plain(chat.hub.conversation(WORKER).events[-1]["caption_html"])
    code = re.search(r"现场签到码：([A-Z2-9]{6})", caption)
    assert code is not None, caption
    return code.group(1)


async def test_a_training_is_posted_like_a_shift_and_its_check_in_counts_training_hours(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await make_map(uow)
    await _worker(uow, world.community_a1, WORKER, "李主任")
    await _worker(uow, world.community_a1, TRAINEE, "王芳")  # not a registered volunteer

    await chat.send(WORKER, "/newtraining")
    assert "培训面向哪个社区" in chat.last_text(WORKER)
    await chat.tap(WORKER, "甲一社区")
    assert "培训主题是什么" in chat.last_text(WORKER)
    await chat.send(WORKER, "个案工作方法培训")
    await chat.send(WORKER, "街道社工站")
    await chat.send(WORKER, "不设位置：仅用现场签到码")
    await chat.send(WORKER, "明天上午9点到11点")
    await chat.tap(WORKER, "确认")
    assert "培训共有多少个名额" in chat.last_text(WORKER)
    await chat.send(WORKER, "0")
    assert chat.last_text(WORKER) == "请发送 1 到 500 之间的数字。"
    await chat.send(WORKER, "2")  # no skills step: straight to the check
    assert "请核对培训场次" in chat.last_text(WORKER)
    await chat.tap(WORKER, "确认")
    assert _said(chat, WORKER, "培训已发布")

    await chat.send(TRAINEE, "/shifts")  # a training is not a volunteer shift
    assert "个案工作方法培训" not in chat.last_text(TRAINEE)
    await chat.send(TRAINEE, "/training")
    assert "📚 培训：个案工作方法培训" in chat.last_text(TRAINEE)
    await chat.tap(TRAINEE, "报名")
    assert "✅ 您已报名" in chat.last_text(TRAINEE)

    now = utcnow()
    async with uow:  # the morning comes (it started a while ago)
        await uow.session.execute(
            update(Shift).values(
                starts_at=now - timedelta(minutes=100), ends_at=now + timedelta(hours=2)
            )
        )
        await uow.commit()
    await chat.send(TRAINEE, "/checkin")
    assert "正在签到：“个案工作方法培训”" in chat.last_text(TRAINEE)
    code = await _site_code(chat, "个案工作方法培训")
    await chat.send(TRAINEE, code)
    assert chat.last_text(TRAINEE).startswith("✅ 已于")
    async with uow:  # ninety minutes pass
        await uow.session.execute(
            update(TrainingAttendance).values(checked_in_at=now - timedelta(minutes=90))
        )
        await uow.commit()
    await chat.send(TRAINEE, "/checkout")
    await chat.send(TRAINEE, await _site_code(chat, "个案工作方法培训"))
    assert chat.last_text(TRAINEE).startswith("✅ 已签退培训“个案工作方法培训”：1.5 培训学时")
    await chat.send(TRAINEE, "/mytraining")
    year = utcnow().astimezone(chat.settings.tz).year
    assert f"{year} 年培训学时：1.5" in chat.last_text(TRAINEE)
    await chat.send(TRAINEE, "/hours")  # training is not volunteer service: no time-bank credit
    assert "1.5" not in chat.last_text(TRAINEE)


async def test_a_certificate_is_verified_by_a_worker_of_the_community_never_by_its_holder(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await make_map(uow)
    await _worker(uow, world.community_a1, WORKER, "李主任")
    await _worker(uow, world.community_a1, TRAINEE, "王芳")
    await _worker(uow, world.community_b1, VILLAGE, "乙村干部")

    await chat.send(TRAINEE, "/swcert")
    await chat.send(TRAINEE, "社会工作师")  # typed instead of tapped
    assert "请点击上面三个等级之一" in chat.last_text(TRAINEE)
    await chat.tap(TRAINEE, "助理社会工作师")
    assert "哪一年通过考试" in chat.last_text(TRAINEE)
    await chat.send(TRAINEE, "1999")
    assert "请用四位数字发送年份，2008 至" in chat.last_text(TRAINEE)
    await chat.send(TRAINEE, "2021")
    await chat.send(TRAINEE, "Z2021-0042")
    assert "已登记：助理社会工作师，2021 年考试：等待工作人员核验" in chat.last_text(TRAINEE)
    await chat.send(TRAINEE, "/swcert")
    await chat.tap(TRAINEE, "助理社会工作师")
    await chat.send(TRAINEE, "2021")
    await chat.tap(TRAINEE, "跳过")
    assert chat.last_text(TRAINEE) == "您已登记过这个等级的证书，见 /mytraining。"

    # The holder is a community worker too: their own certificate is not theirs to verify.
    await chat.send(TRAINEE, "/swcerts")
    assert chat.last_text(TRAINEE) == "没有待核验的社工证。"
    async with uow:
        cert = await uow.session.scalar(select(SocialWorkCertificate.id))
    await chat.send(VILLAGE, "/swcerts")  # a worker of another community sees none
    assert chat.last_text(VILLAGE) == "没有待核验的社工证。"
    for user in (TRAINEE, VILLAGE):  # and a forged "verified" button is refused to both
        message = max(chat.hub.conversation(user).messages)
        forged = f"sw:verify:{cert}:"
        chat.hub.conversation(user).messages[message]["reply_markup"] = {
            "inline_keyboard": [[{"text": "x", "callback_data": forged}]]
        }
        await chat.tap_data(user, message, forged)
        assert chat.alerts(user)[-1] == REFUSED
    async with uow:
        row = await uow.social_work.certificate(cert or 0)
        assert row is not None and row.state is CertificateState.PENDING

    await chat.send(WORKER, "/swcerts")
    assert "王芳（甲一社区）：助理社会工作师" in chat.last_text(WORKER)
    assert "证书编号：Z2021-0042" in chat.last_text(WORKER)
    await chat.tap(WORKER, "核验通过")
    assert "2021 年考试：已认证" in chat.last_text(WORKER)
    assert _said(chat, TRAINEE, "您的社工证（2021 年考试）已核验")
    await chat.send(TRAINEE, "/mytraining")
    progress = chat.last_text(TRAINEE)
    assert "助理社会工作师，2021 年考试：已认证" in progress
    assert "甲一社区：2 名社区工作者中 1 名持社工证（目标 15%），还需 0 名。" in progress


async def test_a_rejected_certificate_tells_its_holder_why_and_can_be_recorded_again(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await make_map(uow)
    await _worker(uow, world.community_a1, WORKER, "李主任")
    await make_person(uow, "赵敏", community=world.community_a1, web_id=OTHER)
    await chat.send(OTHER, "/swcert")
    await chat.tap(OTHER, "高级社会工作师")
    await chat.send(OTHER, "2023")
    await chat.tap(OTHER, "跳过")
    await chat.send(WORKER, "/swcerts")
    await chat.tap(WORKER, "未通过")
    assert "为什么无法核验" in chat.last_text(WORKER)
    await chat.send(WORKER, "查无此证")
    assert "原因：查无此证" in chat.last_text(WORKER)
    assert _said(chat, OTHER, "未通过核验：查无此证")
    await chat.send(OTHER, "/swcert")
    await chat.tap(OTHER, "高级社会工作师")
    await chat.send(OTHER, "2024")
    await chat.tap(OTHER, "跳过")
    assert "等待工作人员核验" in chat.last_text(OTHER)


async def test_training_and_certificates_in_english(chat: ChatHarness, uow: UnitOfWork) -> None:
    world = await make_map(uow)
    await _worker(uow, world.community_a1, WORKER, "Li", locale="en")
    await _worker(uow, world.community_a1, TRAINEE, "Wang", locale="en")
    await chat.send(TRAINEE, "/training", language="en")
    assert chat.last_text(TRAINEE).startswith("No training sessions are coming up")
    await chat.send(TRAINEE, "/swcert", language="en")
    assert "Which social-work qualification" in chat.last_text(TRAINEE)
    await chat.tap(TRAINEE, "Social Worker (社会工作师)", language="en")
    await chat.send(TRAINEE, "2020", language="en")
    await chat.tap(TRAINEE, "Skip", language="en")
    assert "Recorded: Social Worker (社会工作师), exam year 2020" in chat.last_text(TRAINEE)
    await chat.send(WORKER, "/swcerts", language="en")
    await chat.tap(WORKER, "Verified", language="en")
    assert _said(chat, TRAINEE, "Your social-work certificate (exam year 2020) is verified.")
    await chat.send(TRAINEE, "/mytraining", language="en")
    text = chat.last_text(TRAINEE)
    assert "Training hours in" in text and "exam year 2020: verified" in text
    assert "A-One: 1 of 2 community workers hold the certificate (target 15%)" in text


async def _three_levels(uow: UnitOfWork, world: Map, tz: object) -> int:
    staff = await make_person(uow, "陈社工", community=world.community_a2, web_id=STAFF)
    await social_work.open_place(
        uow, OPERATOR, level=ServiceLevel.CENTRE, unit_id=world.district, name="渝北区社工指导中心",
        tz=tz,  # type: ignore[arg-type]
    )  # fmt: skip
    station = await social_work.open_place(
        uow, OPERATOR, level=ServiceLevel.STATION, unit_id=world.street_a, name="甲街道社工站",
        address="甲街道1号", opening_hours="周一至周五 9:00-17:00", tz=tz,  # type: ignore[arg-type]
    )  # fmt: skip
    await social_work.add_staff(uow, OPERATOR, place_id=station.id, person_id=staff, tz=tz)  # type: ignore[arg-type]
    return station.id


async def test_station_staff_record_a_service_and_the_coverage_counts_it(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await make_map(uow)
    await _three_levels(uow, world, chat.settings.tz)
    await make_person(
        uow, "街道管理员", community=world.community_a1,
        grants=((Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),), web_id=ADMIN,
    )  # fmt: skip
    await _worker(uow, world.community_a1, WORKER, "李主任")

    await chat.send(STAFF, "/swplaces")
    listing = chat.last_text(STAFF)
    assert listing.index("渝北区社工指导中心") < listing.index("甲街道社工站")
    assert "开放时间：周一至周五 9:00-17:00" in listing and "工作人员：陈社工" in listing

    await chat.send(ADMIN, "/stats")
    coverage = "由社工室或社工站提供服务的社区比例"
    assert _said(chat, ADMIN, f"{coverage}：0.0%（目标 100.0%）")

    await chat.send(WORKER, "/swserved")  # not on any place's staff
    assert chat.last_text(WORKER) == "只有社工站或社工室的工作人员可以登记服务。"
    await chat.send(STAFF, "/swserved")
    assert "为哪个社区提供了服务" in chat.last_text(STAFF)
    # A forged button for a village of another street: refused.
    message = max(chat.hub.conversation(STAFF).messages)
    forged = f"sw:community:{world.community_b1}:"
    chat.hub.conversation(STAFF).messages[message]["reply_markup"]["inline_keyboard"].append(
        [{"text": "乙一村", "callback_data": forged}]
    )
    await chat.tap_data(STAFF, message, forged)
    await chat.send(STAFF, "入户探访")
    assert chat.last_text(STAFF) == REFUSED
    await chat.send(STAFF, "/swserved")
    await chat.tap(STAFF, "甲二社区")
    await chat.send(STAFF, "独居老人个案探访，3 人")
    assert chat.last_text(STAFF).startswith("已登记：为甲二社区提供的一次社会工作服务")

    await chat.send(ADMIN, "/stats")
    assert _said(chat, ADMIN, f"{coverage}：50.0%（目标 100.0%）— 差 50.0 个百分点")
    await chat.send(STAFF, "/swplaces")
    assert "今年登记的服务：1 次" in chat.last_text(STAFF)


async def test_only_a_district_admin_sets_the_baseline_year(
    chat: ChatHarness, uow: UnitOfWork
) -> None:
    world = await make_map(uow)
    await _worker(uow, world.community_a1, WORKER, "李主任")
    await make_person(
        uow, "区管理员", community=world.community_a1,
        grants=((Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, world.district),), web_id=DISTRICT,
    )  # fmt: skip
    await chat.send(WORKER, "/baseline 2019")
    assert chat.last_text(WORKER) == "只有区县管理员可以设置本区的基准年。"
    await chat.send(DISTRICT, "/baseline")
    assert "增长目标以 2020 年末为基准" in chat.last_text(DISTRICT)
    await chat.send(DISTRICT, "/baseline 1990")
    assert chat.last_text(DISTRICT) == "请填写 2000 年至今年之间的基准年。"
    await chat.send(DISTRICT, "/baseline 二〇一九")
    assert chat.last_text(DISTRICT) == "请用四位数字写年份，例如 /baseline 2020。"
    await chat.send(DISTRICT, "/baseline 2019")
    assert chat.last_text(DISTRICT) == "渝北区：增长目标现以 2019 年末为基准。"
    assert await social_work.baseline_year(uow, district_id=world.district) == 2019
    await make_person(
        uow, "Admin", community=world.community_a1, locale="en",
        grants=((Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, world.district),), web_id=ADMIN,
    )  # fmt: skip
    await chat.send(ADMIN, "/baseline", language="en")
    assert "measured from the end of 2019" in chat.last_text(ADMIN)


def test_training_sessions_are_shifts_of_their_own_kind() -> None:
    assert {k.value for k in ShiftKind} == {"service", "training"}
