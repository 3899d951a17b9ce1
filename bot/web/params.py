"""Checked input for web routes: query numbers that are finite and in range, and JSON bodies
that parse (any shape of malformed JSON is a 400, never a 500), with unstorable characters
removed from every string."""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web

from bot.domain.text import clean_tree


def bad_request(error: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"ok": False, "error": error}), content_type="application/json"
    )


def query_float(request: web.Request, name: str, default: float, low: float, high: float) -> float:
    """A finite number within [low, high]; anything else (nan, inf, 1e999, text) is a 400."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise bad_request("bad_query") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise bad_request("bad_query")
    return value


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if len(raw) > 20:
        raise bad_request("bad_query")
    try:
        value = int(raw)
    except ValueError:
        raise bad_request("bad_query") from None
    if not low <= value <= high:
        raise bad_request("bad_query")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: str) -> Any:
    """json.loads without NaN/Infinity; ValueError for anything malformed, deep nesting
    included (Python's parser would raise RecursionError)."""
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except RecursionError:
        raise ValueError("nested too deeply") from None


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, its strings cleaned; a 400 `bad_json` otherwise."""
    try:
        body = parse_json(await request.text())
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise bad_request("bad_json")
    cleaned: dict[str, Any] = clean_tree(body)
    return cleaned
