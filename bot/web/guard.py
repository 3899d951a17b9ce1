"""One aiohttp middleware in front of every web route: cross-site requests refused (CSRF),
rate limits (per browser session and per address), and failures answered in the reader's
language — a 429 "wait N seconds", a 503 while the database is unreachable, never a bare 500
or a silent drop. JSON for the chat API, a small page for everything else."""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.limits import Limit, RateLimiter
from bot.web import chat

log = logging.getLogger(__name__)

API = "/chat/api/"
# The page's photo upload is multipart; every other chat API body is JSON.
MULTIPART = frozenset({"/chat/api/photo"})
# The HTTP API (/api/) answers for itself (bot/web/api/): bearer tokens, not cookies, so
# no cross-site check; its own per-app limits; problem+json, never a page.
UNGUARDED = ("/static/", "/healthz", "/livez", "/webhook/", "/api/")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OUTAGE_RETRY_SECONDS = 30


@dataclass(frozen=True)
class GuardConfig:
    limits: dict[str, Limit]
    # Origins (scheme://host[:port]) a browser may post from; the request's own host is
    # allowed too when `public_url_set` is False (the bot reached by its listening address).
    origins: frozenset[str] = frozenset()
    public_url_set: bool = False
    trust_forwarded_for: bool = False
    is_outage: Callable[[BaseException], bool] = field(default=lambda error: False)


config_key = web.AppKey("guard_config", GuardConfig)
limiter_key = web.AppKey("guard_limiter", RateLimiter)
i18n_key = web.AppKey("guard_i18n", I18n)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def client_address(request: web.Request, trust_forwarded_for: bool) -> str:
    if trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    return request.remote or "unknown"


def session_token(request: web.Request) -> str | None:
    """The web chat cookie's token when its signature is ours."""
    raw = request.cookies.get(chat.COOKIE, "")
    token, _sep, signature = raw.partition(".")
    if token and hmac.compare_digest(signature, chat.sign(request.app[chat.secret_key], token)):
        return token
    return None


def reader_locale(request: web.Request) -> str:
    lang = request.query.get("lang")
    if lang in ("zh", "en"):
        return lang
    i18n = request.app.get(i18n_key)
    return chat.browser_language(request, i18n.default_locale if i18n else "zh")


PAGE = """<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
{refresh}<title>{title}</title>
<style>body{{font:18px/1.6 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}}
</style></head>
<body><h1>{title}</h1><p>{message}</p></body></html>
"""


def answer(
    request: web.Request, status: int, error: str, message: str, retry_after: int | None = None
) -> web.Response:
    """The refusal in the reader's language: JSON for the chat API, a page otherwise."""
    headers = {"Cache-Control": "no-store"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if request.path.startswith(API):
        body: dict[str, object] = {"ok": False, "error": error, "message": message}
        if retry_after is not None:
            body["retry_after"] = retry_after
        return web.json_response(body, status=status, headers=headers)
    locale = reader_locale(request)
    page = PAGE.format(
        lang="zh-CN" if locale == "zh" else "en",
        refresh=f'<meta http-equiv="refresh" content="{retry_after}">\n'
        if retry_after and request.method == "GET"
        else "",
        title=html.escape(_title(request)),
        message=html.escape(message),
    )
    headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return web.Response(
        text=page, status=status, content_type="text/html", charset="utf-8", headers=headers
    )


def _title(request: web.Request) -> str:
    return _("Community services")


def _refuse(
    request: web.Request, status: int, error: str, text: Callable[[], str], retry: int | None
) -> web.Response:
    i18n = request.app.get(i18n_key)
    if i18n is None:
        return answer(request, status, error, text(), retry)
    with i18n.context(), i18n.use_locale(reader_locale(request)):
        return answer(request, status, error, text(), retry)


def _too_fast(seconds: int) -> Callable[[], str]:
    return lambda: _("Too many requests. Please wait {seconds} seconds and try again.").format(
        seconds=seconds
    )


def _cross_site() -> str:
    return _("This request came from another website and was refused.")


def _not_json() -> str:
    return _("This request must be sent as JSON.")


def _unavailable() -> str:
    return _("The service is temporarily unavailable. Please try again in a few minutes.")


def _failed() -> str:
    return _("Sorry, something went wrong on our side. Please try again later.")


def _bad_json() -> str:
    return _("The request could not be read.")


def _origin_refused(request: web.Request, config: GuardConfig) -> bool:
    """A browser names the page a request comes from: only ours may post. Requests without
    Origin are not from a cross-site page (browsers always send it on cross-site POSTs). A
    page with `Referrer-Policy: no-referrer` (the dashboard) posts `Origin: null`: then the
    browser's `Sec-Fetch-Site` must say same-origin."""
    fetch_site = request.headers.get("Sec-Fetch-Site", "").lower()
    if fetch_site == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    origin = origin.strip().lower()
    if origin == "null":
        return fetch_site != "same-origin"
    if origin in config.origins:
        return False
    own = f"{request.scheme}://{request.host}".lower()
    return config.public_url_set or origin != own


def _limits_for(request: web.Request) -> list[tuple[str, str]]:
    """(limit name, key) pairs this request counts against."""
    path = request.path
    if path.startswith(API):
        token = session_token(request)
        session = hashlib.sha256(token.encode()).hexdigest()[:24] if token else None
        if request.method in UNSAFE:
            pairs = [("chat_address", "")]
            if session:
                pairs.append(("chat_session", session))
            return pairs
        return [("poll_session", session)] if session else []
    if path == "/" and request.method == "GET" and session_token(request) is None:
        return [("new_sessions_address", "")]
    if path.startswith("/verify"):
        return [("verify_address", "")]
    if path.startswith("/dashboard"):
        return [("dashboard_address", "")]
    return []


@web.middleware
async def guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path.startswith(UNGUARDED):
        return await handler(request)
    config = request.app[config_key]
    if request.method in UNSAFE:
        if _origin_refused(request, config):
            return _refuse(request, 403, "cross_site", _cross_site, None)
        wanted = "multipart/form-data" if request.path in MULTIPART else "application/json"
        if request.path.startswith(API) and request.content_type != wanted:
            return _refuse(request, 400, "bad_json", _not_json, None)
    limiter = request.app[limiter_key]
    address = client_address(request, config.trust_forwarded_for)
    for name, key in _limits_for(request):
        limit = config.limits.get(name)
        if limit is None:
            continue
        wait = await limiter.check(f"{name}:{key or address}", limit)
        if wait is not None:
            return _refuse(request, 429, "too_fast", _too_fast(wait), wait)
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except RecursionError:
        return _refuse(request, 400, "bad_json", _bad_json, None)
    except Exception as error:
        if config.is_outage(error):
            log.warning("%s %s: the database is unavailable", request.method, _route(request))
            return _refuse(request, 503, "unavailable", _unavailable, OUTAGE_RETRY_SECONDS)
        log.exception("%s %s failed", request.method, _route(request))
        return _refuse(request, 500, "failed", _failed, None)


def _route(request: web.Request) -> str:
    """The route's pattern (/verify/{code}), not the path: codes and tokens stay out of logs."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "?"


def install(
    app: web.Application, config: GuardConfig, limiter: RateLimiter, i18n: I18n | None
) -> None:
    app[config_key] = config
    app[limiter_key] = limiter
    if i18n is not None:
        app[i18n_key] = i18n
    app.middlewares.append(guard)
