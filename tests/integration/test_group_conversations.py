"""Group chats (楼栋群) through the real Dispatcher: the bot answers only its commands there,
with a button that continues in a private chat (the intent kept), ignores the rest silently,
refuses private flows' buttons, never makes the group a person's chat; workers who are admins
of the group link it to their community, and removing the bot unlinks it.

Updates come from the fake Bot API server (tests/support/fake_telegram.py), which also answers
getChatAdministrators and keeps what the bot posted, as Telegram would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardMarkup, Update
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.telegram.sender import OutboxSender
from bot.domain.broadcasts import Audience, AudienceKind, ButtonKind
from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.principal import Grant, Principal
from bot.domain.surveys import parse_survey
from bot.services import broadcasts, groups, surveys
from handlers.common.callbacks import NeedNewCb
from handlers.common.keyboards import button
from handlers.groups.router import set_group_commands
from storage.models import AuditEntry, ChannelAccount, CommunityGroup, OutboxMessage
from storage.uow import UnitOfWork
from tests.support.chat import ChatHarness
from tests.support.factories import Map, make_map, make_person
from tests.support.fake_telegram import FakeTelegram

GROUP, OTHER_GROUP = -4001, -4002
WORKER, MEMBER, ADMIN_RESIDENT, STREET_ADMIN = 8101, 8102, 8103, 8104


class GroupChats:
    """The project's Dispatcher fed with what the fake Telegram queues for it."""

    def __init__(self, harness: ChatHarness, fake: FakeTelegram, bot: Bot) -> None:
        self.harness, self.fake, self.bot = harness, fake, bot

    async def feed(self, raw: dict[str, Any] | None) -> None:
        if raw is None:
            return
        update = Update.model_validate(raw, context={"bot": self.bot})
        await self.harness.dispatcher.feed_update(self.bot, update, channel=Channel.TELEGRAM)

    async def say(self, chat_id: int, user_id: int, text: str, **kwargs: Any) -> None:
        await self.feed(self.fake.user_sends_in_group(chat_id, user_id, text, **kwargs))

    async def say_privately(self, user_id: int, text: str) -> None:
        await self.feed(self.fake.user_sends(user_id, text))

    async def tap(self, chat_id: int, user_id: int, message_id: int, label: str) -> str:
        query = self.fake.user_clicks(user_id, message_id, label, chat_id=chat_id)
        await self.feed(self.fake.pending_updates[-1])
        return str(self.fake.callback_answers.get(query, {}).get("text", ""))

    def posts(self, chat_id: int) -> list[str]:
        return [str(m.get("text", "")) for m in self.fake.bot_messages(chat_id)]

    def last_post(self, chat_id: int) -> dict[str, Any]:
        message = self.fake.last_bot_message(chat_id)
        assert message is not None, f"the bot posted nothing in {chat_id}"
        return message


@pytest.fixture
async def chats(engine: AsyncEngine) -> AsyncIterator[GroupChats]:
    harness = ChatHarness(engine, channel=Channel.TELEGRAM)
    async with FakeTelegram() as fake:
        session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
        bot = Bot(fake.token, session=session, default=None)
        try:
            yield GroupChats(harness, fake, bot)
        finally:
            await bot.session.close()
            await harness.close()


async def telegram_person(
    uow: UnitOfWork,
    fake: FakeTelegram,
    user_id: int,
    name: str,
    *,
    community: int | None,
    grants: tuple[tuple[Role, ScopeLevel, int], ...] = (),
) -> int:
    """An onboarded person (English) with a Telegram account whose chat is their own."""
    fake.add_user(user_id, name, "en")
    person = await make_person(uow, name, community=community, grants=grants, locale="en")
    async with uow:
        await uow.people.add_account(
            ChannelAccount(
                person_id=person,
                channel=Channel.TELEGRAM,
                external_id=str(user_id),
                chat_id=str(user_id),
            )
        )
        await uow.commit()
    return person


async def building_group(uow: UnitOfWork, chats: GroupChats) -> Map:
    """Community A1 with a worker and residents, and a building group the bot was added to."""
    w = await make_map(uow)
    fake = chats.fake
    grant = ((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    await telegram_person(uow, fake, WORKER, "Han", community=w.community_a1, grants=grant)
    await telegram_person(uow, fake, MEMBER, "Li", community=w.community_a1)
    await telegram_person(uow, fake, ADMIN_RESIDENT, "Zhao", community=w.community_a1)
    fake.add_group(
        GROUP,
        "3栋业主群",
        creator=ADMIN_RESIDENT,
        admins=[WORKER],
        members=[MEMBER],
    )
    await chats.feed(fake.add_bot_to_group(GROUP, ADMIN_RESIDENT))
    return w


async def linked_groups(uow: UnitOfWork) -> dict[str, int | None]:
    """chat id -> linked community (None: unlinked)."""
    async with uow:
        rows = (await uow.session.scalars(select(CommunityGroup))).all()
        return {r.chat_id: (r.community_id if r.unlinked_at is None else None) for r in rows}


async def test_a_command_in_a_group_continues_in_a_private_chat_and_talk_is_ignored(
    chats: GroupChats, uow: UnitOfWork
) -> None:
    await building_group(uow, chats)
    assert "only answer my commands" in chats.posts(GROUP)[-1]  # the bot introduced itself

    await chats.say(GROUP, MEMBER, "/need")
    post = chats.last_post(GROUP)
    assert "continue in a private chat" in post["text"]
    [[link]] = post["reply_markup"]["inline_keyboard"]
    assert link["url"] == "https://t.me/wushe_test_bot?start=cmd_need"
    assert "callback_data" not in link
    # Nothing of the request flow (its category buttons) ran in public.
    assert not any("What is your request about" in text for text in chats.posts(GROUP))
    assert await chats.harness.dispatcher.storage.get_state(key=_key(chats, GROUP, MEMBER)) is None

    before = len(chats.posts(GROUP))
    chats.fake.privacy_mode = False  # an admin bot reads everything: it must still keep quiet
    await chats.say(GROUP, MEMBER, "楼下的灯坏了，谁知道找谁？")
    await chats.say(GROUP, MEMBER, "/need@another_bot")
    await chats.say(GROUP, MEMBER, "/nosuchcommand")
    assert len(chats.posts(GROUP)) == before

    # The member's private chat stays theirs: notices never go to the group.
    async with uow:
        account = await uow.people.account(Channel.TELEGRAM, str(MEMBER))
        assert account is not None and account.chat_id == str(MEMBER)


def _key(chats: GroupChats, chat_id: int, user_id: int) -> Any:
    from aiogram.fsm.storage.base import StorageKey

    return StorageKey(bot_id=chats.bot.id, chat_id=chat_id, user_id=user_id)


async def test_the_private_link_opens_the_command_the_person_typed_in_the_group(
    chats: GroupChats, uow: UnitOfWork
) -> None:
    await building_group(uow, chats)
    await chats.say(GROUP, MEMBER, "/need")
    payload = chats.last_post(GROUP)["reply_markup"]["inline_keyboard"][0][0]["url"]
    await chats.say_privately(MEMBER, "/start " + payload.split("start=")[1])
    private = chats.fake.last_bot_message(MEMBER)
    assert private is not None and "What is your request about" in private["text"]
    assert chats.fake.reply_keyboard(MEMBER) is None  # the flow's inline buttons, as from /need
    labels = [b["text"] for row in private["reply_markup"]["inline_keyboard"] for b in row]
    assert len(labels) > 3


async def test_a_private_flows_button_pressed_in_a_group_is_refused(
    chats: GroupChats, uow: UnitOfWork
) -> None:
    await building_group(uow, chats)
    # An old message with a private flow's button (say, forwarded into the group).
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[button("Repairs", NeedNewCb(step="cat", value="repair"))]]
    )
    sent = await chats.bot.send_message(GROUP, "What is your request about?", reply_markup=markup)
    answer = await chats.tap(GROUP, MEMBER, sent.message_id, "Repairs")
    assert "only in a private chat" in answer and "@wushe_test_bot" in answer
    assert chats.posts(GROUP)[-1] == "What is your request about?"  # nothing else happened


async def test_only_an_admin_of_the_group_with_a_worker_role_links_it(
    chats: GroupChats, uow: UnitOfWork
) -> None:
    w = await building_group(uow, chats)
    fake = chats.fake

    await chats.say(GROUP, MEMBER, "/linkgroup")  # neither admin nor worker
    assert "Only community workers and grid workers" in chats.posts(GROUP)[-1]
    await chats.say(GROUP, ADMIN_RESIDENT, "/linkgroup")  # the group's owner, not a worker
    assert "Only community workers and grid workers" in chats.posts(GROUP)[-1]
    fake.set_member(GROUP, WORKER, "member")  # a worker, but not an admin of this group
    await chats.say(GROUP, WORKER, "/linkgroup")
    assert "Only an admin of this group" in chats.posts(GROUP)[-1]
    await chats.say(GROUP, WORKER, "/linkgroup", anonymous=True)
    # Unknown sender (GroupAnonymousBot): asked, in the default language, to write as themselves.
    assert "以群的身份匿名发言" in chats.posts(GROUP)[-1]
    assert await linked_groups(uow) == {}

    fake.set_member(GROUP, WORKER, "administrator")
    await chats.say(GROUP, WORKER, "/linkgroup")
    assert "now linked to A-One" in chats.posts(GROUP)[-1]
    assert await linked_groups(uow) == {str(GROUP): w.community_a1}
    async with uow:
        actions = (await uow.session.scalars(select(AuditEntry.action))).all()
        assert "group.link" in actions

    await chats.say(GROUP, MEMBER, "/unlinkgroup")  # a plain member may not
    assert "Only an admin of this group or a worker" in chats.posts(GROUP)[-1]
    assert await linked_groups(uow) == {str(GROUP): w.community_a1}
    await chats.say(GROUP, ADMIN_RESIDENT, "/unlinkgroup")  # the owner may: it is their group
    assert "no longer linked" in chats.posts(GROUP)[-1]
    assert await linked_groups(uow) == {str(GROUP): None}


async def test_a_worker_of_several_communities_chooses_and_only_they_can_tap(
    chats: GroupChats, uow: UnitOfWork
) -> None:
    w = await building_group(uow, chats)
    grant = ((Role.STREET_ADMIN, ScopeLevel.STREET, w.street_a),)
    await telegram_person(uow, chats.fake, STREET_ADMIN, "Qian", community=None, grants=grant)
    chats.fake.add_group(OTHER_GROUP, "甲二社区志愿群", creator=STREET_ADMIN, members=[MEMBER])
    await chats.feed(chats.fake.add_bot_to_group(OTHER_GROUP, STREET_ADMIN))

    await chats.say(OTHER_GROUP, STREET_ADMIN, "/linkgroup")
    question = chats.last_post(OTHER_GROUP)
    assert "Which community" in question["text"]
    labels = [b["text"] for row in question["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["A-One", "A-Two"]
    refused = await chats.tap(OTHER_GROUP, MEMBER, question["message_id"], "A-Two")
    assert "Only a community worker or grid worker who is an admin" in refused
    assert await linked_groups(uow) == {}
    await chats.tap(OTHER_GROUP, STREET_ADMIN, question["message_id"], "A-Two")
    assert await linked_groups(uow) == {str(OTHER_GROUP): w.community_a2}

    # Typed with a code of a community they do not serve: refused, nothing changes.
    await chats.say(OTHER_GROUP, STREET_ADMIN, "/linkgroup B1")
    assert "not one of your communities" in chats.posts(OTHER_GROUP)[-1]
    assert await linked_groups(uow) == {str(OTHER_GROUP): w.community_a2}


async def test_removing_the_bot_from_the_group_unlinks_it(
    chats: GroupChats, uow: UnitOfWork
) -> None:
    w = await building_group(uow, chats)
    await chats.say(GROUP, WORKER, "/linkgroup")
    assert await linked_groups(uow) == {str(GROUP): w.community_a1}
    await chats.feed(chats.fake.remove_bot_from_group(GROUP, ADMIN_RESIDENT))
    assert await linked_groups(uow) == {str(GROUP): None}
    # The group's owner was not marked as having blocked the bot in their private chat.
    async with uow:
        account = await uow.people.account(Channel.TELEGRAM, str(ADMIN_RESIDENT))
        assert account is not None and account.blocked_at is None


async def test_a_group_upgraded_to_a_supergroup_keeps_its_link(
    chats: GroupChats, uow: UnitOfWork
) -> None:
    w = await building_group(uow, chats)
    await chats.say(GROUP, WORKER, "/linkgroup")
    await chats.feed(chats.fake.upgrade_to_supergroup(GROUP, -1001234500001))
    assert await linked_groups(uow) == {"-1001234500001": w.community_a1}


async def test_someone_new_follows_the_link_through_onboarding_to_the_command(
    chats: GroupChats, uow: UnitOfWork
) -> None:
    await building_group(uow, chats)
    newcomer = 8199
    chats.fake.set_member(GROUP, newcomer, "member")
    await chats.say(GROUP, newcomer, "/need")
    link = chats.last_post(GROUP)["reply_markup"]["inline_keyboard"][0][0]["url"]
    chats.fake.add_user(newcomer, "Sun", "en")
    await chats.say_privately(newcomer, "/start " + link.split("start=")[1])
    for label in ("English", "Yubei District", "Street A", "A-One"):
        message = chats.fake.last_bot_message(newcomer)
        assert message is not None
        await chats.tap(newcomer, newcomer, message["message_id"], label)
    message = chats.fake.last_bot_message(newcomer)  # how shall we call them: keep or skip
    assert message is not None
    await chats.tap(newcomer, newcomer, message["message_id"], "Skip")
    texts = [m["text"] for m in chats.fake.bot_messages(newcomer)]
    assert "What is your request about" in texts[-1]  # /need, right after onboarding


async def test_a_worker_broadcasts_to_the_communitys_groups_and_sees_them_counted(
    engine: AsyncEngine, uow: UnitOfWork
) -> None:
    w = await make_map(uow)
    grant = ((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    worker = await make_person(
        uow, "Han", community=w.community_a1, grants=grant, web_id=WORKER, locale="en"
    )
    principal = Principal(
        worker, "en", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    )
    for chat_id in (GROUP, OTHER_GROUP):
        await groups.link(
            uow,
            principal,
            channel=Channel.TELEGRAM,
            chat_id=str(chat_id),
            title="楼栋群",
            community_id=w.community_a1,
            chat_admin=True,
        )
    chat = ChatHarness(engine)
    try:
        await chat.send(WORKER, "/broadcast")
        await chat.tap(WORKER, "group chats")
        await chat.tap(WORKER, "Everyone")
        await chat.send(WORKER, "明天上午停水")
        await chat.tap(WORKER, "Skip")
        await chat.tap(WORKER, "Skip")
        await chat.tap(WORKER, "No button")
        assert "It will be posted in 2 group chats." in chat.last_text(WORKER)
        await chat.tap(WORKER, "Send now")
        assert "on its way to 2 group chats" in chat.last_text(WORKER)
    finally:
        await chat.close()
    async with uow:
        rows = (await uow.session.scalars(select(OutboxMessage))).all()
        assert sorted(r.chat_id for r in rows) == sorted([str(GROUP), str(OTHER_GROUP)])
        assert {(r.person_id, r.channel) for r in rows} == {(None, Channel.TELEGRAM)}


async def test_groups_get_their_own_short_command_menu(chats: GroupChats) -> None:
    await set_group_commands(chats.bot, chats.harness.i18n)
    members = chats.fake.my_commands({"type": "all_group_chats"})
    admins = chats.fake.my_commands({"type": "all_chat_administrators"})
    assert members is not None and admins is not None
    assert [c["command"] for c in members] == ["need", "volunteer", "help"]
    assert [c["command"] for c in admins] == [
        "need",
        "volunteer",
        "help",
        "linkgroup",
        "unlinkgroup",
    ]
    english = chats.fake.my_commands({"type": "all_group_chats"}, language_code="en")
    assert english is not None and "private chat" in english[0]["description"]


async def test_a_survey_posted_in_a_group_is_answered_in_a_private_chat(
    chats: GroupChats, uow: UnitOfWork
) -> None:
    w = await building_group(uow, chats)
    async with uow:
        account = await uow.people.account(Channel.TELEGRAM, str(WORKER))
        assert account is not None
        author = account.person_id
    worker = Principal(
        author, "en", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    )
    survey = await surveys.create_survey(
        uow,
        worker,
        spec=parse_survey("养老需求调查\n? 家里有独居老人吗？\n- 有\n- 没有"),
        community_ids=[w.community_a1],
    )
    await chats.say(GROUP, WORKER, "/linkgroup")
    draft = broadcasts.Draft(
        audience=Audience(AudienceKind.GROUPS, (w.community_a1,)),
        text_zh="请花一分钟填写养老需求调查。",
        button=ButtonKind.ANSWER,
        survey_id=survey.id,
    )
    await broadcasts.create(uow, worker, draft)
    outbox = OutboxSender(
        lambda: UnitOfWork(chats.harness.session_factory),
        chats.harness.i18n,
        {Channel.TELEGRAM: chats.bot},
        chats.harness.settings,
    )
    await outbox.send_pending()
    post = chats.last_post(GROUP)
    assert post["text"] == "请花一分钟填写养老需求调查。"
    [[answer]] = post["reply_markup"]["inline_keyboard"]
    assert answer["url"] == f"https://t.me/wushe_test_bot?start=sv_{survey.id}"
    await chats.say_privately(MEMBER, "/start " + answer["url"].split("start=")[1])
    private = chats.fake.last_bot_message(MEMBER)
    assert private is not None and "家里有独居老人吗？" in private["text"]
