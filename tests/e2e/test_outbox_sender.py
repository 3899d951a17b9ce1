"""The outbox sender against the fake Bot API server (the platform's limits and refusals), on
SQLite and PostgreSQL: 429 with retry_after, blocked users, opt-outs and two sender processes
over one PostgreSQL database."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.telegram.sender import OutboxSender
from bot.config import load_settings
from bot.domain.broadcasts import Audience, AudienceKind, ButtonKind, DeliveryState
from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.errors import InvalidInput
from bot.domain.principal import Grant, Principal
from bot.i18n import make_i18n
from bot.services import broadcasts, groups
from storage.db import make_session_factory
from storage.models import ChannelAccount, OutboxMessage, Person
from storage.uow import UnitOfWork
from tests.support.factories import Map, make_map
from tests.support.fake_telegram import FakeTelegram

FIRST_USER = 880_000


@pytest.fixture
async def telegram_bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake_telegram.base_url))
    bot = Bot(fake_telegram.token, session=session)
    yield bot
    await bot.session.close()


async def residents(uow: UnitOfWork, fake: FakeTelegram, w: Map, count: int) -> list[int]:
    """`count` residents of A1 on Telegram (user id = chat id), half reading English."""
    users = []
    async with uow:
        for n in range(count):
            user_id = FIRST_USER + n
            fake.add_user(user_id, f"R{n}")
            person = Person(
                display_name=f"R{n}", community_id=w.community_a1, locale="en" if n % 2 else "zh"
            )
            uow.session.add(person)
            await uow.session.flush()
            uow.session.add(
                ChannelAccount(
                    person_id=person.id,
                    channel=Channel.TELEGRAM,
                    external_id=str(user_id),
                    chat_id=str(user_id),
                )
            )
            users.append(user_id)
        await uow.commit()
    return users


WORKER_ID = 9_000_000


def worker(w: Map) -> Principal:
    return Principal(
        WORKER_ID,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),),
    )


async def broadcast(uow: UnitOfWork, w: Map, text: str = "通知") -> int:
    async with uow:
        uow.session.add(Person(id=WORKER_ID, display_name="韩主任", locale="zh"))
        await uow.commit()
    draft = broadcasts.Draft(
        audience=Audience(AudienceKind.RESIDENTS, (w.community_a1,)),
        text_zh=text,
        text_en=f"{text} (en)",
    )
    view = await broadcasts.create(uow, worker(w), draft)
    return view.id


def sender(engine: AsyncEngine, bot: Bot, rate: float = 30.0) -> OutboxSender:
    settings = load_settings(outbox_rate_telegram=rate)
    factory = make_session_factory(engine)
    return OutboxSender(
        lambda: UnitOfWork(factory), make_i18n("zh"), {Channel.TELEGRAM: bot}, settings
    )


async def states(uow: UnitOfWork) -> Counter[DeliveryState]:
    async with uow:
        rows = await uow.session.scalars(select(OutboxMessage.state))
        return Counter(DeliveryState(s) for s in rows)


def received(fake: FakeTelegram, users: list[int]) -> Counter[int]:
    return Counter(
        {u: len([m for m in fake.bot_messages(u) if "通知" in m.get("text", "")]) for u in users}
    )


async def test_each_recipient_gets_one_message_in_their_language(
    engine: AsyncEngine, uow: UnitOfWork, fake_telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    w = await make_map(uow)
    users = await residents(uow, fake_telegram, w, 6)
    await broadcast(uow, w)
    await sender(engine, telegram_bot).send_pending()
    assert set(received(fake_telegram, users).values()) == {1}
    assert fake_telegram.last_bot_message(users[0])["text"] == "通知"  # type: ignore[index]
    assert fake_telegram.last_bot_message(users[1])["text"] == "通知 (en)"  # type: ignore[index]
    assert await states(uow) == Counter({DeliveryState.SENT: 6})


async def test_a_429_holds_the_channel_for_retry_after_and_the_row_goes_later(
    engine: AsyncEngine, uow: UnitOfWork, fake_telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    w = await make_map(uow)
    users = await residents(uow, fake_telegram, w, 3)
    await broadcast(uow, w)
    fake_telegram.fail_next("sendMessage", 429, retry_after=1, chat_id=users[0])
    started = time.monotonic()
    await sender(engine, telegram_bot).send_pending()
    elapsed = time.monotonic() - started
    # Three sends at 30/s take 0.1 s; the 429 held the channel for its second, after which the
    # refused row went again: everyone got it once, and it was refused exactly once.
    assert elapsed >= 1.0
    assert [f.error_code for f in fake_telegram.errors] == [429]
    assert await states(uow) == Counter({DeliveryState.SENT: 3})
    assert set(received(fake_telegram, users).values()) == {1}
    sends = fake_telegram.calls_of("sendMessage")
    assert [c["chat_id"] for c in sends].count(users[0]) == 2  # refused once, then delivered


async def test_blocked_users_are_marked_and_skipped_next_time(
    engine: AsyncEngine, uow: UnitOfWork, fake_telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    w = await make_map(uow)
    users = await residents(uow, fake_telegram, w, 3)
    fake_telegram.block_user(users[2])
    await broadcast(uow, w)
    await sender(engine, telegram_bot).send_pending()
    assert await states(uow) == Counter({DeliveryState.SENT: 2, DeliveryState.BLOCKED: 1})
    async with uow:
        blocked = await uow.session.scalars(
            select(ChannelAccount.external_id).where(ChannelAccount.blocked_at.is_not(None))
        )
        assert list(blocked) == [str(users[2])]
    report = await broadcasts.report(uow, worker(w), broadcast_id=1)
    assert (report.sent, report.blocked) == (2, 1)
    # The next broadcast does not even try them.
    calls = len(fake_telegram.calls_of("sendMessage"))
    view = await broadcasts.create(
        uow,
        worker(w),
        broadcasts.Draft(Audience(AudienceKind.RESIDENTS, (w.community_a1,)), text_zh="通知二"),
    )
    await sender(engine, telegram_bot).send_pending()
    assert len(fake_telegram.calls_of("sendMessage")) == calls + 2
    report = await broadcasts.report(uow, worker(w), broadcast_id=view.id)
    assert (report.sent, report.blocked) == (2, 1)


async def test_a_row_left_sending_by_a_dead_process_is_never_sent_again(
    engine: AsyncEngine, uow: UnitOfWork, fake_telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    w = await make_map(uow)
    users = await residents(uow, fake_telegram, w, 2)
    await broadcast(uow, w)
    # A process claimed a row and marked it `sending`, then died before hearing back.
    rows = await broadcasts.claim(uow, channel=Channel.TELEGRAM, owner="dead", limit=1)
    assert await broadcasts.start_sending(uow, row_id=rows[0].row_id, owner="dead")
    assert await broadcasts.recover(uow) == 0  # not yet: its process may still be sending
    later = datetime.now(UTC) + broadcasts.LEASE * 2
    assert await broadcasts.recover(uow, now=later) == 1
    await sender(engine, telegram_bot).send_pending()
    assert await states(uow) == Counter({DeliveryState.SENT: 1, DeliveryState.UNCERTAIN: 1})
    assert sum(received(fake_telegram, users).values()) == 1


async def test_two_senders_never_send_one_row_twice(
    engine: AsyncEngine,
    uow: UnitOfWork,
    fake_telegram: FakeTelegram,
    telegram_bot: Bot,
) -> None:
    """Two senders over one database (on PostgreSQL the claims use SKIP LOCKED)."""
    w = await make_map(uow)
    users = await residents(uow, fake_telegram, w, 120)
    await broadcast(uow, w)
    # 30/s: each claims 60 rows at a time, so both get a share of the 120.
    first, second = sender(engine, telegram_bot), sender(engine, telegram_bot)
    await asyncio.gather(first.send_pending(), second.send_pending())
    counts = received(fake_telegram, users)
    assert set(counts.values()) == {1}, [u for u, n in counts.items() if n != 1]
    assert await states(uow) == Counter({DeliveryState.SENT: 120})
    async with uow:
        owners = set(await uow.session.scalars(select(OutboxMessage.claimed_by)))
    assert owners == {first.owner, second.owner}  # both did part of the work


async def test_a_row_in_flight_when_its_broadcast_is_cancelled_is_not_requeued(
    uow: UnitOfWork, fake_telegram: FakeTelegram
) -> None:
    w = await make_map(uow)
    await residents(uow, fake_telegram, w, 1)
    broadcast_id = await broadcast(uow, w)
    [row] = await broadcasts.claim(uow, channel=Channel.TELEGRAM, owner="me", limit=5)
    assert await broadcasts.start_sending(uow, row_id=row.row_id, owner="me")
    await broadcasts.control(uow, worker(w), broadcast_id=broadcast_id, action="cancel")
    await broadcasts.retry_later(uow, row_id=row.row_id, seconds=1)  # the platform said 429
    assert await states(uow) == Counter({DeliveryState.CANCELLED: 1})


async def test_a_claim_that_ran_out_is_not_sent_by_its_old_holder(
    uow: UnitOfWork, fake_telegram: FakeTelegram
) -> None:
    w = await make_map(uow)
    await residents(uow, fake_telegram, w, 1)
    await broadcast(uow, w)
    [row] = await broadcasts.claim(uow, channel=Channel.TELEGRAM, owner="slow", limit=5)
    # Long after: the claim ran out (another process may have taken the row over).
    assert not await broadcasts.start_sending(
        uow, row_id=row.row_id, owner="slow", lease=timedelta(seconds=-1)
    )
    assert await states(uow) == Counter({DeliveryState.QUEUED: 1})


async def test_with_a_photo_the_text_must_fit_a_caption(uow: UnitOfWork) -> None:
    w = await make_map(uow)
    async with uow:
        uow.session.add(Person(id=WORKER_ID, display_name="韩主任", locale="zh"))
        await uow.commit()
    audience = Audience(AudienceKind.RESIDENTS, (w.community_a1,))
    long = "很长的通知" * 200  # 1,000 characters
    with pytest.raises(InvalidInput):
        await broadcasts.create(
            uow, worker(w), broadcasts.Draft(audience, text_zh=long, photo=b"\x89PNG")
        )
    view = await broadcasts.create(uow, worker(w), broadcasts.Draft(audience, text_zh=long))
    assert view.id  # the same text without a photo goes


A1_GROUPS, B1_GROUP = (-6001, -6002), -6003


async def linked_groups(uow: UnitOfWork, fake: FakeTelegram, w: Map) -> None:
    """Two building groups of A1 and one of B1, each linked by a worker who is its admin."""
    async with uow:
        uow.session.add(Person(id=WORKER_ID, display_name="韩主任", locale="zh"))
        uow.session.add(Person(id=WORKER_ID + 1, display_name="乙村干部", locale="zh"))
        await uow.commit()
    b1_worker = Principal(
        WORKER_ID + 1,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_b1),),
    )
    for chat_id, principal, community in (
        (A1_GROUPS[0], worker(w), w.community_a1),
        (A1_GROUPS[1], worker(w), w.community_a1),
        (B1_GROUP, b1_worker, w.community_b1),
    ):
        fake.add_group(chat_id, f"楼栋群{chat_id}", creator=WORKER_ID)
        fake.add_bot_to_group(chat_id, WORKER_ID)
        await groups.link(
            uow,
            principal,
            channel=Channel.TELEGRAM,
            chat_id=str(chat_id),
            title=f"楼栋群{chat_id}",
            community_id=community,
            chat_admin=True,
        )


def to_groups(w: Map, text: str) -> broadcasts.Draft:
    return broadcasts.Draft(
        audience=Audience(AudienceKind.GROUPS, (w.community_a1,)), text_zh=text, text_en="en"
    )


async def test_a_broadcast_to_the_communitys_groups_is_posted_in_each_at_the_group_rate(
    engine: AsyncEngine, uow: UnitOfWork, fake_telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    w = await make_map(uow)
    users = await residents(uow, fake_telegram, w, 2)
    await linked_groups(uow, fake_telegram, w)
    assert await broadcasts.count(uow, worker(w), to_groups(w, "停水通知")) == 2
    first = await broadcasts.create(uow, worker(w), to_groups(w, "停水通知"))
    second = await broadcasts.create(uow, worker(w), to_groups(w, "停电通知"))
    people = broadcasts.Draft(Audience(AudienceKind.RESIDENTS, (w.community_a1,)), text_zh="通知")
    await broadcasts.create(uow, worker(w), people)
    outbox = sender(engine, telegram_bot)
    started = time.monotonic()
    await outbox.send_pending()
    # What may go now went at once: each group's first post and the residents' messages; the
    # groups' second posts wait in the queue (not holding the channel) for the group's rate.
    assert time.monotonic() - started < 2.5
    assert set(received(fake_telegram, users).values()) == {1}
    assert [len(fake_telegram.bot_messages(c)) for c in A1_GROUPS] == [1, 1]
    assert (await states(uow))[DeliveryState.QUEUED] == 2
    while (await states(uow))[DeliveryState.QUEUED] and time.monotonic() - started < 15:
        await asyncio.sleep(0.2)
        await outbox.send_pending()
    elapsed = time.monotonic() - started
    for chat_id in A1_GROUPS:
        posts = [m["text"] for m in fake_telegram.bot_messages(chat_id)]
        assert posts == ["停水通知", "停电通知"]  # in the group's language, the worker's
    assert fake_telegram.bot_messages(B1_GROUP) == []  # another community's group
    # Two posts into one group are 3 s apart (20 a minute); the platform refused none.
    assert elapsed >= 3.0
    assert fake_telegram.errors == []
    for view in (first, second):
        report = await broadcasts.report(uow, worker(w), broadcast_id=view.id)
        assert (report.sent, report.groups, report.progress.total) == (2, 2, 2)


async def test_a_group_that_removed_the_bot_is_unlinked_when_a_post_is_refused(
    engine: AsyncEngine, uow: UnitOfWork, fake_telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    w = await make_map(uow)
    await linked_groups(uow, fake_telegram, w)
    fake_telegram.remove_bot_from_group(A1_GROUPS[1], WORKER_ID)  # while the bot was offline
    view = await broadcasts.create(uow, worker(w), to_groups(w, "通知"))
    await sender(engine, telegram_bot).send_pending()
    report = await broadcasts.report(uow, worker(w), broadcast_id=view.id)
    assert (report.sent, report.blocked, report.groups) == (1, 1, 1)
    assert await broadcasts.count(uow, worker(w), to_groups(w, "下一条")) == 1
    # The people's accounts are untouched: nobody is marked as having blocked the bot.
    async with uow:
        blocked = await uow.session.scalars(
            select(ChannelAccount.id).where(ChannelAccount.blocked_at.is_not(None))
        )
        assert list(blocked) == []


async def test_a_group_post_carries_no_personal_button(uow: UnitOfWork) -> None:
    w = await make_map(uow)
    async with uow:
        uow.session.add(Person(id=WORKER_ID, display_name="韩主任", locale="zh"))
        await uow.commit()
    draft = broadcasts.Draft(
        audience=Audience(AudienceKind.GROUPS, (w.community_a1,)),
        text_zh="应急集合",
        button=ButtonKind.ROLL_CALL,
    )
    with pytest.raises(InvalidInput) as refused:
        await broadcasts.create(uow, worker(w), draft)
    assert (refused.value.field, refused.value.reason) == ("button", "group")


async def test_a_post_to_a_group_that_became_a_supergroup_follows_it(
    engine: AsyncEngine, uow: UnitOfWork, fake_telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    w = await make_map(uow)
    await linked_groups(uow, fake_telegram, w)
    fake_telegram.upgrade_to_supergroup(A1_GROUPS[0], -1006001)  # the bot missed the notice
    view = await broadcasts.create(uow, worker(w), to_groups(w, "通知"))
    await sender(engine, telegram_bot).send_pending()
    assert [m["text"] for m in fake_telegram.bot_messages(-1006001)] == ["通知"]
    report = await broadcasts.report(uow, worker(w), broadcast_id=view.id)
    assert (report.sent, report.groups, report.progress.failed) == (2, 2, 0)
    async with uow:
        moved = await uow.groups.by_chat(Channel.TELEGRAM, "-1006001")
        assert moved is not None and moved.unlinked_at is None
