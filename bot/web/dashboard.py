"""`/dashboard`: the indicators page for street and district admins.

`GET /dashboard?t=<token>` (the one-time link from the chat, valid ten minutes) only shows a
button; the button POSTs the token, which is used then — so a link preview or a scanner that
fetches the link does not use it up. The POST turns it into a signed, HttpOnly session cookie
scoped to the admin's area and redirects to `/dashboard`. The page itself is rendered by
bot/web/dashboard_page.py, with the admin's grants checked again on every request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict

from aiohttp import web

from bot.domain.enums import ScopeLevel
from bot.services.dashboards import Session

COOKIE = "wushe_dashboard"
SESSION_SECONDS = 3600

# token -> the session it opens, or None when refused (unknown, expired or used)
OpenLink = Callable[[str], Awaitable[Session | None]]
# (session, locale or "", token to confirm or None) -> (HTTP status, HTML); with a token, the
# page that asks to open the dashboard (a form posting it back).
RenderPage = Callable[[Session | None, str, str | None], Awaitable[tuple[int, str]]]

open_link_key: web.AppKey[OpenLink] = web.AppKey("dashboard_open_link")
render_key: web.AppKey[RenderPage] = web.AppKey("dashboard_render")
secret_key: web.AppKey[bytes] = web.AppKey("dashboard_secret", bytes)


def _sign(secret: bytes, payload: str) -> str:
    key = hashlib.sha256(b"wushe-dashboard:" + secret).digest()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def cookie_value(secret: bytes, session: Session, now: float) -> str:
    data = {**asdict(session), "level": session.level.value, "expires": int(now) + SESSION_SECONDS}
    payload = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    return f"{payload}.{_sign(secret, payload)}"


def session_from(secret: bytes, value: str | None, now: float) -> Session | None:
    """The cookie's session if its signature is ours and it has not expired."""
    if not value or "." not in value:
        return None
    payload, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(signature, _sign(secret, payload)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
        if int(data.pop("expires")) < now:
            return None
        data["level"] = ScopeLevel(data["level"])
        return Session(**data)
    except (ValueError, KeyError, TypeError):
        return None


async def dashboard(request: web.Request) -> web.StreamResponse:
    secret = request.app[secret_key]
    lang = request.query.get("lang")
    token = request.query.get("t")
    if token:
        return await _page(request, None, lang, token[:100])
    session = session_from(secret, request.cookies.get(COOKIE), time.time())
    return await _page(request, session, lang)


async def open_dashboard(request: web.Request) -> web.StreamResponse:
    """The button's POST: use the link once, then the session cookie takes over."""
    secret = request.app[secret_key]
    form = await request.post()
    token = str(form.get("t", ""))[:100]
    session = await request.app[open_link_key](token) if token else None
    if session is None:
        return await _page(request, None, request.query.get("lang"))
    response = web.HTTPSeeOther("/dashboard")
    response.set_cookie(
        COOKIE,
        cookie_value(secret, session, time.time()),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="Strict",
        path="/dashboard",
    )
    raise response


async def _page(
    request: web.Request, session: Session | None, lang: str | None, token: str | None = None
) -> web.Response:
    status, page = await request.app[render_key](session, lang or "", token)
    response = web.Response(text=page, status=status, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/dashboard", dashboard)
    app.router.add_post("/dashboard", open_dashboard)
