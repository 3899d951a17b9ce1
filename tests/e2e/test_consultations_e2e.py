"""A consultation end to end through the real bot process and the fake Bot API server, on
SQLite and PostgreSQL: opened by a worker, announced to residents, discussed, voted (one vote
on paper recorded by the worker), closed, decided by the party reviewer; the outcome reaches
every participant in their language and the minutes name no voter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from storage.db import make_engine
from storage.models import ChannelAccount, Consultation, ConsultationVote
from tests.e2e.test_needs_e2e import onboard, tap
from tests.e2e.test_volunteers_e2e import said
from tests.support.fake_telegram import FakeTelegram

WORKER, RITA, LI, ZHANG, PARTY = 9601, 9602, 9603, 9604, 9605


async def move_to(database_url: str, **ends: datetime) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(update(Consultation).values(**ends))
    finally:
        await engine.dispose()


async def person_number(database_url: str, telegram_id: int) -> int:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            query = select(ChannelAccount.person_id).where(
                ChannelAccount.external_id == str(telegram_id)
            )
            return int((await connection.scalars(query)).one())
    finally:
        await engine.dispose()


async def stored_ballots(database_url: str) -> list[tuple[int | None, bool]]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(ConsultationVote.person_id, ConsultationVote.assisted)
            )
            return [(p, bool(a)) for p, a in rows]
    finally:
        await engine.dispose()


async def page(fake: FakeTelegram, user: int, english: bool = False) -> dict[str, Any]:
    """/consult → the first consultation's page."""
    fake.user_sends(user, "/consult")
    listing = await said(fake, user, "Consultations" if english else "协商议事：")
    [label] = [
        b["text"]
        for row in listing["reply_markup"]["inline_keyboard"]
        for b in row
        if b["text"].startswith("C1 ")
    ]
    fake.user_clicks(user, listing["message_id"], label)
    return await said(fake, user, "C1")


async def test_a_consultation_runs_from_opening_to_the_party_decision(
    fake_telegram: FakeTelegram, start_bot: Any, e2e_database_url: str
) -> None:
    fake = fake_telegram
    bot = await start_bot(BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url)
    for user, name, english in (
        (WORKER, "韩主任", False),
        (RITA, "Rita", True),
        (LI, "老李", False),
        (ZHANG, "张大爷", False),
        (PARTY, "党委书记", False),
    ):
        await onboard(fake, user, name, english=english)
    for user, role in ((WORKER, "community_worker"), (PARTY, "party_reviewer")):
        bot.cli(
            "admin", "grant", "--telegram-id", str(user), "--role", role, "--community", "1"
        )  # fmt: skip

    # Opened by the worker.
    fake.user_sends(WORKER, "/consult")
    await tap(fake, WORKER, "协商议事", "发起新的协商议事")
    await said(fake, WORKER, "议题是什么")
    fake.user_sends(WORKER, "加装电梯费用分摊")
    await said(fake, WORKER, "背景情况")
    fake.user_sends(WORKER, "三号楼居民申请加装电梯，需要商议费用如何分摊。")
    await said(fake, WORKER, "投票选项")
    fake.user_sends(WORKER, "按楼层分摊\n平均分摊")
    await said(fake, WORKER, "讨论几天")
    fake.user_sends(WORKER, "1")
    await said(fake, WORKER, "投票几天")
    fake.user_sends(WORKER, "1")
    await tap(fake, WORKER, "匿名投票还是实名投票", "匿名")
    await tap(fake, WORKER, "重大事项", "是，重大事项")
    await tap(fake, WORKER, "线下会议", "不开会")
    await tap(fake, WORKER, "发起并通知居民吗", "发起")
    await said(fake, WORKER, "已发起，正在通知居民")

    # Announced (one message each, in their language) and discussed.
    notice = await said(fake, LI, "社区发起了协商议事：“加装电梯费用分摊”")
    fake.user_clicks(LI, notice["message_id"], "打开议事")
    await tap(fake, LI, "协商议事 C1", "发表意见")
    await said(fake, LI, "您的意见")
    fake.user_sends(LI, "高层住户用得多，应该多出一些。")
    await said(fake, LI, "您的意见已发表")
    english = await said(fake, RITA, "New consultation in your community")
    fake.user_clicks(RITA, english["message_id"], "Open the consultation")
    await tap(fake, RITA, "Consultation C1", "Opinions")
    opinion = await said(fake, RITA, "高层住户用得多")
    query = fake.user_clicks(RITA, opinion["message_id"], "Support (0)")
    assert (await answer_to(fake, query)).get("text") == "You support it."

    # Voting opens when the discussion ends.
    now = datetime.now(UTC)
    await move_to(e2e_database_url, discussion_ends_at=now - timedelta(minutes=1))
    shown = await page(fake, LI)
    assert "当前：投票中" in shown["text"]
    fake.user_clicks(LI, shown["message_id"], "投票")
    await tap(fake, LI, "您的投票", "按楼层分摊")
    await page(fake, RITA, english=True)
    await tap(fake, RITA, "Consultation C1", "Vote")
    await tap(fake, RITA, "Your vote", "按楼层分摊")
    # Mr Zhang voted on paper; the worker records it.
    await tap_page(fake, WORKER, "录入纸质投票")
    await said(fake, WORKER, "纸质投票人的编号")
    fake.user_sends(WORKER, str(await person_number(e2e_database_url, ZHANG)))
    choice = await said(fake, WORKER, "其纸质选票的选择")
    query = fake.user_clicks(WORKER, choice["message_id"], "平均分摊")
    assert "纸质投票已录入" in (await answer_to(fake, query)).get("text", "")
    ballots = await stored_ballots(e2e_database_url)
    # Anonymous: no person, and no ballot marked as the paper one (the count is kept apart).
    assert ballots == [(None, False)] * 3

    # Closed and counted after the vote; decided by the party reviewer.
    await move_to(e2e_database_url, voting_ends_at=now - timedelta(seconds=1))
    await tap_page(fake, WORKER, "结束并计票")
    result = await said(fake, WORKER, "C1 结果")
    assert "按楼层分摊: 2" in result["text"] and "平均分摊: 1" in result["text"]
    assert "其中纸质 1 票" in result["text"]
    await tap_page(fake, PARTY, "记录决定")
    await said(fake, PARTY, "请写下将公布的决定")
    fake.user_sends(PARTY, "按楼层分摊，低层住户适当减免。")
    await said(fake, PARTY, "社区党组织会议的日期")
    fake.user_sends(PARTY, now.date().isoformat())
    await said(fake, PARTY, "纪要")
    fake.user_sends(PARTY, "党委会议审议了居民投票结果，同意按楼层分摊。")
    await said(fake, PARTY, "决定已记录")

    # The outcome reaches every participant, each in their language.
    await said(fake, LI, "协商议事“加装电梯费用分摊”的结果：按楼层分摊")
    await said(fake, RITA, "Outcome of the consultation “加装电梯费用分摊”")
    await said(fake, ZHANG, "协商议事“加装电梯费用分摊”的结果")
    # The minutes: the count, the opinions and the decision, and no voter's name.
    await tap_page(fake, WORKER, "会议纪要")
    sent = await said(fake, WORKER, "C1 会议纪要")
    minutes = fake.file_bytes(sent["document"]["file_id"]).decode("utf-8")
    assert "按楼层分摊: 2" in minutes and "高层住户用得多" in minutes
    assert "社区党组织于" in minutes and "低层住户适当减免" in minutes
    assert "张大爷" not in minutes and "Rita" not in minutes


async def answer_to(fake: FakeTelegram, query_id: str) -> dict[str, Any]:
    for _ in range(100):
        if query_id in fake.callback_answers:
            return fake.callback_answers[query_id]
        await asyncio.sleep(0.05)
    raise AssertionError("the tap was never answered")


async def tap_page(fake: FakeTelegram, user: int, label: str) -> None:
    shown = await page(fake, user)
    fake.user_clicks(user, shown["message_id"], label)
