"""A worker assigns a need to a suggested volunteer through the real bot process and the fake
Bot API: the resident files on Telegram, the worker opens the suggestions (with reasons) and
assigns with one tap, the volunteer is told and finds it in /tasks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.domain.principal import Principal
from bot.domain.volunteers import Skill, check_character
from bot.services import volunteers
from bot.services.crypto import PersonalDataCipher
from bot.services.places import place_of
from bot.services.ports import RecordingNotifier
from storage.db import make_engine, make_session_factory
from storage.models import ChannelAccount, Person
from storage.uow import UnitOfWork
from tests.e2e.test_needs_e2e import RESIDENT, file_on_telegram, onboard, tap
from tests.e2e.test_volunteers_e2e import said
from tests.support.fake_telegram import FakeTelegram

WORKER, HELPER = 9401, 9402


async def make_volunteer(
    database_url: str,
    telegram_id: int,
    name: str,
    skill: Skill = Skill.ELDERLY_CARE,
    n: int = 12,
) -> None:
    """Registered and verified through the services, on the bot's own database."""
    engine = make_engine(database_url)
    try:
        uow = UnitOfWork(make_session_factory(engine))
        async with uow:
            query = (
                select(Person)
                .join(ChannelAccount, ChannelAccount.person_id == Person.id)
                .where(ChannelAccount.external_id == str(telegram_id))
            )
            person = (await uow.session.scalars(query)).one()
            person_id, community_id = person.id, person.community_id
            community = await uow.places.community(community_id or 0)
            assert community is not None
            home = place_of(community)
        first17 = f"500106198506{n:02d}123"  # n (a day, 1-30) makes the ID number unique
        view = await volunteers.register(
            uow,
            PersonalDataCipher(b"e2e-secret"),
            RecordingNotifier(),
            Principal(person_id, "zh", home=home),
            real_name=name,
            id_number=first17 + check_character(first17),
            phone="13800138000",
            skills=[skill],
            tags=[],
            availability=[],
            community_ids=[],
        )
        await volunteers.verify(
            uow,
            RecordingNotifier(),
            Principal(0, "zh", is_superadmin=True),
            volunteer_id=view.id,
            approve=True,
        )
    finally:
        await engine.dispose()


async def test_a_worker_assigns_a_suggested_volunteer_through_telegram(
    fake_telegram: FakeTelegram, start_bot: Any, e2e_database_url: str
) -> None:
    fake = fake_telegram
    bot = await start_bot(
        BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url, AUTO_OFFER_CATEGORIES=""
    )
    await onboard(fake, RESIDENT, "Rita", english=True)
    await onboard(fake, WORKER, "韩主任")
    await onboard(fake, HELPER, "王芳")
    bot.cli(
        "admin", "grant", "--telegram-id", str(WORKER), "--role", "community_worker",
        "--community", "1",
    )  # fmt: skip
    await make_volunteer(e2e_database_url, HELPER, "王芳")

    reference = await file_on_telegram(fake, "My mother needs someone to walk with her.")
    await tap(fake, WORKER, f"有新诉求 {reference}", "打开")
    await tap(fake, WORKER, reference, "匹配建议")
    suggestions = await said(fake, WORKER, f"{reference} 的匹配建议")
    assert "1. 王芳 — 服务本社区; 特长：养老服务" in suggestions["text"]
    fake.user_clicks(WORKER, suggestions["message_id"], "分派给王芳")
    await said(fake, HELPER, f"诉求 {reference} 已分派给您")
    await fake.wait_for_bot_message(RESIDENT, contains="Assigned", after=0)
    fake.user_sends(HELPER, "/tasks")
    await said(fake, HELPER, reference)
