"""What the API's resource modules share: the app reading its area, strict query parameters,
cursor pages and their OpenAPI parameters."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, TypeVar

from aiogram.utils.i18n import gettext as _
from aiohttp import web
from pydantic import BaseModel

from bot.domain.principal import Principal
from bot.services import api_clients
from bot.services.api_clients import ClientView
from bot.services.views import Named, Page
from bot.web.api import core as api
from bot.web.api.models import CommunityOut

E = TypeVar("E", bound=StrEnum)
PER_PAGE = 20
MAX_ID = 2**31 - 1


def area(request: web.Request, scope: str) -> tuple[api.ApiConfig, ClientView, Principal]:
    """The app reading its own area (no person): its config, itself and its principal."""
    config = request.app[api.config_key]
    client = api._client(request, scope)
    locale = api._locale(request, config)
    return config, client, api_clients.area_principal(client, locale=locale)


def only(request: web.Request, *allowed: str) -> None:
    unknown = set(request.query) - set(allowed) - {"cursor"}
    if unknown:
        raise api._invalid([(name, _("This field is not allowed.")) for name in sorted(unknown)])


def enum_query(request: web.Request, name: str, kind: type[E]) -> E | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return kind(raw)
    except ValueError:
        values = ", ".join(repr(v.value) for v in kind)
        raise api._invalid([(name, _("Must be one of: {values}.").format(values=values))]) from None


def id_query(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise api._invalid([(name, _("This value is not valid."))])
    return int(raw)


def path_id(request: web.Request) -> int:
    return api._need_id(request)


def page_number(request: web.Request) -> int:
    return api._cursor(request.query.get("cursor"))


def next_cursor(page: Page[Any]) -> str | None:
    if not page.has_next:
        return None
    return base64.urlsafe_b64encode(json.dumps({"p": page.page + 1}).encode()).rstrip(b"=").decode()


def community_out(community: Named) -> CommunityOut:
    return CommunityOut(id=community.id, name=community.name, name_en=community.name_en)


def ok(model: BaseModel) -> web.Response:
    return api._respond(200, model.model_dump(mode="json"))


# ------------------------------------------------------------------ OpenAPI fragments


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def answer(model: type[BaseModel], description: str, *, read: bool = True) -> dict[str, Any]:
    content = {"application/json": {"schema": ref(model)}}
    problems = {
        "description": "A problem (RFC 9457), in the language of Accept-Language",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    found: dict[str, Any] = {"200": {"description": description, "content": content}}
    if read:
        found["304"] = {"description": "Not modified (If-None-Match matched the ETag)"}
    return {**found, "default": problems}


def enum_parameter(name: str, kind: type[StrEnum], description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string", "enum": [v.value for v in kind]},
    }


def id_parameter(name: str, where: str = "query", description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    }


CURSOR = {
    "name": "cursor",
    "in": "query",
    "required": False,
    "description": "The next_cursor of the page before.",
    "schema": {"type": "string", "maxLength": 200},
}


def operation(
    operation_id: str,
    summary: str,
    scope: str,
    parameters: Iterable[dict[str, Any]],
    responses: dict[str, Any],
    body: type[BaseModel] | None = None,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "security": [{"bearer": [scope]}],
        "parameters": list(parameters),
        "responses": responses,
    }
    if body is not None:
        found["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(body)}},
        }
    return found
