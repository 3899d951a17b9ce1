"""What the bot makes on the WeChat account itself, against the fake WeChat on SQLite and
PostgreSQL: parameter QR codes where a flow shows a deep link, pictures sent as image
messages, per-role menus (user tags + conditional menus), the follower's language for the
channel's own hints, and broadcasts under the 48-hour rule with the author's report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import Application, outbox_tasks
from bot.channels.telegram.sender import OutboxSender
from bot.channels.wechat import chat_id_of
from bot.domain.broadcasts import Audience, AudienceKind
from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.principal import Grant, Principal
from bot.services import broadcasts, shifts
from bot.services.ports import BROADCAST_KIND
from handlers.common.deeplinks import qr_png
from storage.models import ChannelAccount
from storage.uow import UnitOfWork
from tests.integration.test_wechat_channel import number_of, onboard
from tests.support.factories import Map, make_map, make_person
from tests.support.fake_wechat import FakeWeChat
from tests.support.wechat_app import serving, started

WORKER = "oWushe_acc_worker_0001"
BROADCAST_TEMPLATE = "tmpl-broadcast"


async def a_worker_on_wechat(uow: UnitOfWork, w: Map) -> int:
    person = await make_person(
        uow,
        "王社工",
        community=w.community_a1,
        grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),),
    )
    async with uow:
        chat = str(chat_id_of(WORKER))
        await uow.people.add_account(
            ChannelAccount(person_id=person, channel=Channel.WECHAT, external_id=chat, chat_id=chat)
        )
        await uow.commit()
    return person


def worker(person: int, w: Map) -> Principal:
    return Principal(
        person, "zh", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    )


@pytest.fixture
async def world(uow: UnitOfWork) -> tuple[Map, int]:
    w = await make_map(uow)
    return w, await a_worker_on_wechat(uow, w)


@pytest.fixture
async def served(
    database_url: str, wechat: FakeWeChat, world: tuple[Map, int]
) -> AsyncIterator[Application]:
    application = await started(
        database_url, wechat, wechat_templates={BROADCAST_KIND: BROADCAST_TEMPLATE}
    )
    async with serving(application, wechat):
        yield application


async def test_the_site_code_is_a_parameter_qr_code_made_once_and_shown_as_an_image(
    served: Application, wechat: FakeWeChat, world: tuple[Map, int], uow: UnitOfWork
) -> None:
    w, person = world
    now = datetime.now(UTC)
    await shifts.create_shift(
        uow,
        worker(person, w),
        community_id=w.community_a1,
        title="助餐送餐",
        place="社区食堂",
        starts_at=now - timedelta(minutes=30),
        ends_at=now + timedelta(hours=2),
        capacity=5,
        now=now - timedelta(days=1),
    )
    menu = await wechat.user_sends(WORKER, "/sitecode")
    assert "助餐送餐" in menu, menu
    screen = await wechat.user_sends(WORKER, "1")
    assert "签到码" in screen and "换一个签到码" in screen, screen
    # One qrcode/create: a temporary code whose scene is the check-in deep link's payload.
    [made] = wechat.qrcodes
    scene = made["action_info"]["scene"]["scene_str"]
    assert made["action_name"] == "QR_STR_SCENE" and 0 < made["expire_seconds"] <= 2_592_000
    assert scene.startswith("ci_")
    # The picture is uploaded (media/upload) and sent as an image message; it draws the
    # parameter QR code's own content, so scanning it is the account's SCAN of the scene.
    [image] = [s for s in wechat.seen[WORKER] if s.how == "image"]
    assert wechat.uploads[image.text] == qr_png(f"http://weixin.qq.com/q/{scene}")
    # The same payload again (a new code within the same window): WeChat is not asked twice.
    await wechat.user_sends(WORKER, number_of(screen, "换一个签到码"))
    assert len(wechat.qrcodes) == 1
    assert len([s for s in wechat.seen[WORKER] if s.how == "image"]) == 2


async def test_an_invitation_link_on_wechat_opens_the_parameter_qr_code(
    served: Application, wechat: FakeWeChat
) -> None:
    from handlers.common.deeplinks import qr_image, start_link

    assert served.wechat is not None
    bot = served.wechat.bot
    link = await start_link(bot, Channel.WECHAT, served.settings, "o_invite42")
    assert link.startswith("https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=T-o_invite42")
    assert await start_link(bot, Channel.WECHAT, served.settings, "o_invite42") == link
    assert len(wechat.qrcodes) == 1  # cached in the shared state
    assert await qr_image(bot, link) == qr_png("http://weixin.qq.com/q/o_invite42")
    # A payload longer than a scene (64 characters) keeps the web chat page's link.
    long = "c_1_resident_" + "x" * 60
    assert (await start_link(bot, Channel.WECHAT, served.settings, long)).endswith(long)


async def test_a_picture_wechat_refuses_comes_as_its_caption_with_the_reason(
    served: Application, wechat: FakeWeChat
) -> None:
    from aiogram.types import BufferedInputFile

    assert served.wechat is not None
    await onboard(wechat)
    from tests.integration.test_wechat_channel import RESIDENT

    chat = chat_id_of(RESIDENT)
    wechat.window_closed.add(RESIDENT)  # 45015 for the image message
    picture = BufferedInputFile(qr_png("https://example.org"), "chart.png")
    with served.i18n.context(), served.i18n.use_locale("zh"):  # as in any handler
        await served.wechat.bot.send_photo(chat, picture, caption="本月服务时长")
    assert not [s for s in wechat.seen[RESIDENT] if s.how == "image"]
    wechat.window_closed.clear()
    screen = await wechat.user_sends(RESIDENT, "/help")
    assert "本月服务时长" in screen and "图片无法在微信里显示" in screen, screen


async def test_each_role_gets_its_own_menu_through_a_user_tag(
    served: Application, wechat: FakeWeChat
) -> None:
    from tests.integration.test_wechat_channel import RESIDENT

    await onboard(wechat)  # onboarding sets the resident's menu
    screen = await wechat.user_sends(WORKER, "/language")
    await wechat.user_sends(WORKER, number_of(screen, "中文"))  # sets the worker's menu
    resident_keys = keys(wechat.menu_of(RESIDENT))
    worker_menu = wechat.menu_of(WORKER)
    assert "/need" in resident_keys and "/queue" not in resident_keys
    assert "/queue" in keys(worker_menu) and "/sitecode" in keys(worker_menu)
    assert worker_menu[2]["name"] == "工作"
    assert len(wechat.conditional_menus) == len(wechat.tags) == len(wechat.user_tags)
    # The worker's CLICK runs the command as typing it does.
    clicked = await wechat.user_event(WORKER, "CLICK", "/queue")
    assert clicked and clicked == await wechat.user_sends(WORKER, "/queue")
    # In English: a menu in English, the tag moved (one menu tag per person).
    screen = await wechat.user_sends(WORKER, "/language")
    await wechat.user_sends(WORKER, number_of(screen, "English"))
    assert wechat.menu_of(WORKER)[2]["name"] == "Work"
    assert len(wechat.user_tags[WORKER]) == 1


def keys(menu: list[dict[str, object]]) -> set[str]:
    found: set[str] = set()
    for button in menu:
        subs = button.get("sub_button") or [button]
        assert isinstance(subs, list)
        found |= {str(sub["key"]) for sub in subs}
    return found


async def test_the_channels_own_hints_are_in_the_followers_language(
    served: Application, wechat: FakeWeChat
) -> None:
    openid = "oWushe_acc_english_01"
    first = await wechat.user_event(openid, "subscribe")
    screen = await wechat.user_sends(openid, number_of(first, "English"))
    assert "Reply with a number" in screen, screen
    video = wechat._message(openid, "video", MediaId="v1", ThumbMediaId="t1")
    said = await wechat.deliver(video)
    assert said.startswith("Sorry, I can only read text"), said
    lost = await wechat.user_photo(openid, None)  # its media id expired
    assert lost == "Sorry, the photo could not be received. Please send it again.", lost


async def test_a_broadcast_on_wechat_follows_the_48_hour_rule_and_the_report_counts_each(
    served: Application, wechat: FakeWeChat, world: tuple[Map, int], uow: UnitOfWork
) -> None:
    w, person = world
    inside, templated, waiting = "oWushe_bc_inside_01", "oWushe_bc_tmpl_001", "oWushe_bc_wait_001"
    for openid in (inside, templated, waiting):
        await onboard(wechat, openid)
    assert served.wechat is not None
    for openid in (templated, waiting):  # 48 hours passed since they wrote
        await served.wechat.state.put(f"seen:{chat_id_of(openid)}", "", -1)
    wechat.not_following.add(waiting)  # its template message is refused: 43004
    view = await broadcasts.create(
        uow,
        worker(person, w),
        broadcasts.Draft(
            Audience(AudienceKind.RESIDENTS, (w.community_a1,)), text_zh="周六上午清扫楼道"
        ),
    )
    sender = outbox_tasks(served)[0]
    assert isinstance(sender, OutboxSender)
    await sender.send_pending()
    assert "周六上午清扫楼道" in wechat.screens(inside)[-1]
    # The worker lives in the community too and never wrote: a template message as well.
    assert {t["touser"] for t in wechat.templates} == {templated, WORKER}
    [template] = [t for t in wechat.templates if t["touser"] == templated]
    assert template["template_id"] == BROADCAST_TEMPLATE
    assert "周六上午清扫楼道" in template["data"]["keyword1"]["value"]
    report = await broadcasts.report(uow, None, broadcast_id=view.id)
    assert (report.sent, report.template, report.waiting) == (1, 2, 1)
    assert report.progress.failed == 0 and report.progress.left == 0
    from handlers.broadcasts.texts import report_text

    with served.i18n.context(), served.i18n.use_locale("zh"):
        text = report_text(report)
    assert "已送达：1" in text and "以微信模板消息送达（48小时内未回复）：2" in text, text
    assert "等对方下次发微信时送达：1" in text, text
    # The waiting one arrives with the person's next message.
    assert "周六上午清扫楼道" in await wechat.user_sends(waiting, "/help")
