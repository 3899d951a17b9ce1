"""WeChat OAuth (snsapi_base) for the web pages: a link from the WeChat chat opens the web chat
page signed in as that person, the state checked against CSRF, an unknown openid told in
words — against the fake WeChat's authorize page and sns/oauth2/access_token."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import aiohttp
from sqlalchemy import select

from bot.app import Application
from bot.channels.wechat import chat_id_of
from bot.domain.enums import Channel
from bot.web import wechat_oauth
from bot.web.chat import chat_id_of as web_chat_id
from storage.models import ChannelAccount
from storage.uow import UnitOfWork
from tests.integration.test_wechat_channel import RESIDENT, onboard
from tests.support.fake_wechat import FakeWeChat


async def signed_in_from_wechat(
    http: aiohttp.ClientSession, wechat: FakeWeChat, served: Application, openid: str
) -> aiohttp.ClientResponse:
    """The browser inside WeChat: the bot's link → WeChat's authorize page → the callback."""
    start = await http.get(
        f"{wechat.bot_url}{wechat_oauth.START_PATH}", params={"next": "/"}, allow_redirects=False
    )
    assert start.status == 302
    authorize = urlsplit(start.headers["Location"])
    query = parse_qs(authorize.query)
    assert authorize.path == "/connect/oauth2/authorize"
    assert start.headers["Location"].endswith("#wechat_redirect")
    assert query["scope"] == ["snsapi_base"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == [served.settings.site_url + wechat_oauth.CALLBACK_PATH]
    wechat.oauth_user = openid
    back = await http.get(start.headers["Location"].split("#")[0], allow_redirects=False)
    assert back.status == 302
    callback = urlsplit(back.headers["Location"])
    # The bot's public address is its listening one here: follow the callback's path.
    return await http.get(
        f"{wechat.bot_url}{callback.path}?{callback.query}", allow_redirects=False
    )


async def test_a_link_from_wechat_opens_the_web_chat_signed_in_as_that_person(
    served: Application, wechat: FakeWeChat, uow: UnitOfWork
) -> None:
    await onboard(wechat)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        signed_in = await signed_in_from_wechat(http, wechat, served, RESIDENT)
        assert signed_in.status == 302 and signed_in.headers["Location"] == "/"
        cookie = signed_in.cookies["wushe_chat"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        token = cookie.value.partition(".")[0]
        # The web chat is the same person as the WeChat account.
        async with uow:
            accounts = (await uow.session.scalars(select(ChannelAccount))).all()
            by = {(a.channel, a.external_id): a.person_id for a in accounts}
        wechat_person = by[(Channel.WECHAT, str(chat_id_of(RESIDENT)))]
        assert by[(Channel.WEB, str(web_chat_id(token)))] == wechat_person
        # On the page, the chat answers as that person: their community, no onboarding.
        sent = await http.post(
            f"{wechat.bot_url}/chat/api/send",
            json={"text": "/me"},
            headers={"Origin": wechat.bot_url},
        )
        assert sent.status == 200, await sent.text()
        texts = ""
        for _ in range(40):
            events = await (await http.get(f"{wechat.bot_url}/chat/api/events")).json()
            texts = " ".join(str(e.get("html", "")) for e in events["events"])
            if "甲一社区" in texts:
                break
            await asyncio.sleep(0.1)
        assert "甲一社区" in texts and "请选择语言" not in texts, texts
        # Opening it again is the same web chat (one per WeChat person).
        again = await signed_in_from_wechat(http, wechat, served, RESIDENT)
        assert again.cookies["wushe_chat"].value.partition(".")[0] == token


async def test_a_forged_or_replayed_callback_is_refused_and_an_unknown_openid_told(
    served: Application, wechat: FakeWeChat
) -> None:
    await onboard(wechat)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        # A stranger's page sends a browser straight to the callback: no state of its own.
        wechat.oauth_codes["stolen"] = RESIDENT
        forged = await http.get(
            f"{wechat.bot_url}{wechat_oauth.CALLBACK_PATH}",
            params={"code": "stolen", "state": "0" * 32},
            allow_redirects=False,
        )
        assert forged.status == 403 and "wushe_chat" not in forged.cookies
        assert "登录链接已失效" in await forged.text()
        # A state that is not the one this browser was sent off with.
        start = await http.get(f"{wechat.bot_url}{wechat_oauth.START_PATH}", allow_redirects=False)
        assert start.status == 302
        wrong = await http.get(
            f"{wechat.bot_url}{wechat_oauth.CALLBACK_PATH}",
            params={"code": "stolen", "state": "f" * 32},
            allow_redirects=False,
        )
        assert wrong.status == 403 and "wushe_chat" not in wrong.cookies
        # A code used once does not sign in twice.
        used = await signed_in_from_wechat(http, wechat, served, RESIDENT)
        assert used.status == 302
        replayed = await http.get(
            f"{wechat.bot_url}{wechat_oauth.CALLBACK_PATH}?{urlsplit(str(used.url)).query}",
            allow_redirects=False,
        )
        assert replayed.status == 403
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        unknown = await signed_in_from_wechat(http, wechat, served, "oWushe_never_wrote")
        assert unknown.status == 403 and "wushe_chat" not in unknown.cookies
        assert "还没有使用过社区服务" in await unknown.text()
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Accept-Language": "en"}
    ) as http:
        unknown = await signed_in_from_wechat(http, wechat, served, "oWushe_never_wrote")
        assert "has not used the community service yet" in await unknown.text()
