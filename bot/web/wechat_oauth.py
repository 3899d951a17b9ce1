"""WeChat OAuth (`snsapi_base`) for the web pages: a link in the WeChat chat opens the web chat
page — where consents, forms with an ID number, files and the dashboard link live — already
signed in as that person, with no consent screen (snsapi_base gives the openid only).

`GET /wechat/web?next=/` sends the browser to WeChat's authorize page with a fresh `state`
kept in a signed, HttpOnly cookie; WeChat sends it back to `/wechat/oauth` with a `code`,
exchanged once for the openid (`sns/oauth2/access_token`). The state must match (no CSRF:
nobody can make a browser sign in as someone else); an unknown openid gets a translated page."""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.web import chat
from bot.web.verify import PAGE

START_PATH = "/wechat/web"
CALLBACK_PATH = "/wechat/oauth"
STATE_COOKIE = "wushe_wx_oauth"
STATE_MAX_AGE = 600
# Where a signed-in link may lead: the chat page (with a deep link) and the dashboard link.
ALLOWED_NEXT = ("/", "/?start=", "/dashboard?t=")

# (openid, web chat id) -> the person's locale ("" none chosen), None: nobody has the openid
OpenWebAs = Callable[[str, str], Awaitable[str | None]]
Exchange = Callable[[str], Awaitable[str]]  # OAuth code -> openid (raises when refused)


@dataclass(frozen=True)
class WeChatOAuth:
    app_id: str
    authorize_url: str  # WeChat's open.weixin.qq.com (a fake in the tests)
    callback_url: str  # PUBLIC_URL + CALLBACK_PATH
    exchange: Exchange
    open_web_as: OpenWebAs
    i18n: I18n


oauth_key = web.AppKey("wechat_oauth", WeChatOAuth)


def web_link(site_url: str, next_path: str = "/") -> str:
    """The link to put in a WeChat message: opens `next_path` signed in."""
    return f"{site_url}{START_PATH}?{urlencode({'next': next_path})}"


def web_token(secret: bytes, openid: str) -> str:
    """The web chat identity of a WeChat person: stable (one web chat per openid), and
    unguessable without the secret key."""
    key = hashlib.sha256(b"wechat-web:" + secret).digest()
    return "wx" + hmac.new(key, openid.encode(), hashlib.sha256).hexdigest()[:30]


def _safe_next(value: str) -> str:
    if value == "/" or any(value.startswith(p) for p in ALLOWED_NEXT[1:]):
        return value
    return "/"


async def start(request: web.Request) -> web.Response:
    oauth = request.app[oauth_key]
    state = secrets.token_hex(16)
    next_path = _safe_next(request.query.get("next", "/"))
    query = urlencode(
        {
            "appid": oauth.app_id,
            "redirect_uri": oauth.callback_url,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        }
    )
    response = web.HTTPFound(
        f"{oauth.authorize_url}/connect/oauth2/authorize?{query}#wechat_redirect"
    )
    secret = request.app[chat.secret_key]
    response.set_cookie(
        STATE_COOKIE,
        f"{state}|{next_path}|{chat.sign(secret, state + next_path)}",
        max_age=STATE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )
    raise response


def _expected(request: web.Request) -> tuple[str, str] | None:
    """The state and next path this browser was sent off with, if the cookie is ours."""
    state, _sep, rest = request.cookies.get(STATE_COOKIE, "").partition("|")
    next_path, _sep, signature = rest.rpartition("|")
    secret = request.app[chat.secret_key]
    if state and hmac.compare_digest(signature, chat.sign(secret, state + next_path)):
        return state, _safe_next(next_path)
    return None


async def callback(request: web.Request) -> web.Response:
    oauth = request.app[oauth_key]
    locale = chat.browser_language(request, "zh")
    expected = _expected(request)
    given = request.query.get("state", "")
    code = request.query.get("code", "")
    if expected is None or not code or not hmac.compare_digest(given, expected[0]):
        return _page(oauth, locale, 403, "expired")
    try:
        openid = await oauth.exchange(code)
    except Exception:  # a used or forged code, WeChat unreachable: the same advice
        return _page(oauth, locale, 403, "expired")
    secret = request.app[chat.secret_key]
    token = web_token(secret, openid)
    found = await oauth.open_web_as(openid, str(chat.chat_id_of(token)))
    if found is None:
        return _page(oauth, locale, 403, "unknown")
    response = web.HTTPFound(expected[1])
    response.del_cookie(STATE_COOKIE)
    response.set_cookie(
        chat.COOKIE,
        f"{token}.{chat.sign(secret, token)}",
        max_age=chat.COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )
    raise response


def _page(oauth: WeChatOAuth, locale: str, status: int, kind: str) -> web.Response:
    with oauth.i18n.context(), oauth.i18n.use_locale(locale):
        title = _("Signing in with WeChat")
        if kind == "unknown":
            body = _(
                "This WeChat account has not used the community service yet. Follow the "
                "account in WeChat and send it a message, then open the link again."
            )
        else:
            body = _(
                "This sign-in link has expired or was not opened from WeChat. Open the "
                "link again from the chat with the account."
            )
    page = PAGE.format(
        lang="zh-CN" if locale == "zh" else "en", title=html.escape(title), body=html.escape(body)
    )
    response = web.Response(text=page, status=status, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get(START_PATH, start)
    app.router.add_get(CALLBACK_PATH, callback)
