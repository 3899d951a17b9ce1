"""Every command of /help typed on WeChat, by a resident and by a worker with roles: each one
answers with a translated reply (never the error text, never nothing, no traceback in the
log); a command that needs a file says why in words."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from bot.app import Application
from bot.channels.wechat import chat_id_of
from bot.domain.enums import Channel, Role, ScopeLevel
from handlers.common.commands import COMMANDS
from storage.models import ChannelAccount
from storage.uow import UnitOfWork
from tests.integration.test_wechat_channel import onboard
from tests.support.factories import make_map, make_person
from tests.support.fake_wechat import FakeWeChat
from tests.support.wechat_app import serving, started

RESIDENT = "oWushe_cmd_resident_01"
WORKER = "oWushe_cmd_worker_0001"
ERROR = "系统出了点问题"
NO_FILE = "微信里无法发送这个文件"
# Commands whose answer is a file once a choice is made: the choice (a menu number) follows.
FILE_CHOICES = {"certificate": "3", "export": "1"}


async def give_worker_a_wechat_account(uow: UnitOfWork) -> None:
    w = await make_map(uow)
    person = await make_person(
        uow,
        "王社工",
        community=w.community_a1,
        grants=(
            (Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),
            (Role.VOLUNTEER, ScopeLevel.COMMUNITY, w.community_a1),
            (Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, w.district),
        ),
    )
    async with uow:
        chat = str(chat_id_of(WORKER))
        await uow.people.add_account(
            ChannelAccount(person_id=person, channel=Channel.WECHAT, external_id=chat, chat_id=chat)
        )
        await uow.commit()


@pytest.fixture
async def served(
    database_url: str,
    wechat: FakeWeChat,
    uow: UnitOfWork,
) -> AsyncIterator[Application]:
    await give_worker_a_wechat_account(uow)
    application = await started(database_url, wechat)
    async with serving(application, wechat):
        yield application


async def walk(wechat: FakeWeChat, application: Application, openid: str) -> dict[str, str]:
    """Type every command; what the person saw for each (the passive reply and anything the
    customer-service API brought after it)."""
    assert application.wechat is not None
    answers: dict[str, str] = {}
    for command in COMMANDS:
        before = len(wechat.screens(openid))
        await wechat.user_sends(openid, f"/{command.name}")
        await application.wechat.drain()
        if command.name in FILE_CHOICES and "回复数字" in wechat.last(openid):
            await wechat.user_sends(openid, FILE_CHOICES[command.name])
            await application.wechat.drain()
        answers[command.name] = "\n".join(wechat.screens(openid)[before:])
        if command.name not in ("cancel",):
            await wechat.user_sends(openid, "/cancel")
            await application.wechat.drain()
    return answers


def assert_all_answered(answers: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    empty = [name for name, text in answers.items() if not text.strip()]
    failed = [name for name, text in answers.items() if ERROR in text]
    assert not empty, f"no answer to {empty}"
    assert not failed, {name: answers[name] for name in failed}
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
    # Translated: a Chinese answer, no English text of the catalog leaking through.
    untranslated = [
        name for name, text in answers.items() if not any("\u4e00" <= c <= "\u9fff" for c in text)
    ]
    assert not untranslated, {name: answers[name] for name in untranslated}


async def test_a_resident_gets_a_translated_answer_to_every_command(
    served: Application,
    wechat: FakeWeChat,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await onboard(wechat, RESIDENT)
    caplog.clear()
    caplog.set_level(logging.WARNING)
    answers = await walk(wechat, served, RESIDENT)
    assert_all_answered(answers, caplog)
    assert len(answers) == len(COMMANDS)


async def test_a_worker_gets_a_translated_answer_to_every_command_and_files_are_explained(
    served: Application,
    wechat: FakeWeChat,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    answers = await walk(wechat, served, WORKER)
    assert_all_answered(answers, caplog)
    for name in ("export", "needlist", "mydata"):
        # The note links the web chat page, opened signed in through WeChat OAuth.
        assert NO_FILE in answers[name] and "/wechat/web?next=" in answers[name], answers[name]
    # Two files (the summary and the JSON), one explanation.
    assert answers["mydata"].count(NO_FILE) == 1, answers["mydata"]
    # "All my service" is a period the service accepts (it once asked from 2000, refused);
    # this worker is no registered volunteer, so the service says that instead.
    assert "时段无效" not in answers["certificate"], answers["certificate"]
    assert "实名认证的志愿者" in answers["certificate"], answers["certificate"]
