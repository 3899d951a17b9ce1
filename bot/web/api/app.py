"""The API's sub-application: the token route, every resource module's routes, and the
OpenAPI document made from those same modules (so a route and its documentation stay together)."""

from __future__ import annotations

import html
import json

from aiohttp import web

from bot.web.api import (
    consultations,
    kpis,
    link,
    lists,
    records,
    requests,
    shifts,
    webhooks,
)
from bot.web.api.core import MAX_BODY, PREFIX, ApiConfig, api_middleware, config_key, token
from bot.web.api.openapi import document

# The resources the OpenAPI document describes from their MODELS and PATHS (requests and
# webhooks are written into the document itself).
DOCUMENTED = (lists, shifts, records, kpis, consultations, link)


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(document(DOCUMENTED), headers={"Cache-Control": "no-cache"})


async def docs_page(request: web.Request) -> web.Response:
    """The document, readable without JavaScript: each operation with its summary."""
    doc = document(DOCUMENTED)
    rows = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            rows.append(
                f"<h2><code>{method.upper()} {html.escape(PREFIX + path)}</code></h2>"
                f"<p>{html.escape(operation.get('summary', ''))}</p>"
                f"<p>{html.escape(operation.get('description', ''))}</p>"
            )
    schemas = html.escape(json.dumps(doc["components"]["schemas"], indent=2, ensure_ascii=False))
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(doc['info']['title'])}</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;"
        "padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}</style></head><body>"
        f"<h1>{html.escape(doc['info']['title'])} {html.escape(doc['info']['version'])}</h1>"
        f'<p><a href="{PREFIX}/openapi.json">openapi.json</a></p>'
        + "".join(rows)
        + f"<h2>Schemas</h2><pre>{schemas}</pre></body></html>"
    )
    return web.Response(
        text=page,
        content_type="text/html",
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


def make_api(config: ApiConfig) -> web.Application:
    api = web.Application(middlewares=[api_middleware], client_max_size=MAX_BODY)
    api[config_key] = config
    api.router.add_post("/token", token)
    api.router.add_get("/openapi.json", openapi_json)
    api.router.add_get("/docs", docs_page)
    for module in (requests, *DOCUMENTED):
        for method, path, handler in module.ROUTES:
            api.router.add_route(method, path, handler)
    webhooks.add_routes(api)
    return api


def mount(app: web.Application, config: ApiConfig) -> None:
    app.add_subapp(PREFIX, make_api(config))
