"""`GET /verify/<code>`: anyone holding a certificate (an employer, a school) checks that it is
genuine and what it says — the page the certificate's QR code opens. Read-only, no login."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.web.chat import browser_language

# (code, locale) -> (HTTP status, the verdict as HTML lines, the page title)
VerifyPage = Callable[[str, str], Awaitable[tuple[int, str, str]]]
verify_page_key: web.AppKey[VerifyPage] = web.AppKey("verify_page")

PAGE = """<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font:16px/1.6 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}}
</style></head>
<body><h1>{title}</h1><p>{body}</p></body></html>
"""


async def verify_page(request: web.Request) -> web.Response:
    locale = request.query.get("lang") or browser_language(request, "zh")
    locale = locale if locale in ("zh", "en") else "zh"
    status, body, title = await request.app[verify_page_key](request.match_info["code"], locale)
    page = PAGE.format(
        lang="zh-CN" if locale == "zh" else "en",
        title=html.escape(title),
        body=body.replace("\n", "<br>"),
    )
    response = web.Response(text=page, status=status, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/verify/{code}", verify_page)
