"""Bearer tokens of the HTTP API and the per-app rate limit's counts (pure)."""

from __future__ import annotations

import pytest

from bot.limits import Limit, MemoryRateStore, RateLimiter
from bot.web.api import core as api

pytestmark = pytest.mark.unit

KEY = api.token_key(b"secret")


def test_a_token_names_its_app_until_it_expires() -> None:
    token = api.make_token(KEY, 7, expires=1000)
    assert api.read_token(KEY, token, now=999.5) == 7
    assert api.read_token(KEY, token, now=1000) is None


def test_a_token_with_a_changed_app_or_expiry_or_another_key_is_refused() -> None:
    token = api.make_token(KEY, 7, expires=1000)
    signature = token.rpartition(".")[2]
    assert api.read_token(KEY, f"v1.8.1000.{signature}", now=0) is None
    assert api.read_token(KEY, f"v1.7.9999.{signature}", now=0) is None
    assert api.read_token(api.token_key(b"other"), token, now=0) is None
    assert api.read_token(KEY, "", now=0) is None
    assert api.read_token(KEY, "v1.x.y.z", now=0) is None


def test_the_token_key_is_not_the_secret_key_itself() -> None:
    assert KEY != b"secret" and len(KEY) == 32


async def test_take_counts_what_is_left_and_when_the_window_resets() -> None:
    limiter = RateLimiter(MemoryRateStore(), clock=lambda: 125.0)
    limit = Limit(2, 60)
    first = await limiter.take("k", limit)
    second = await limiter.take("k", limit)
    third = await limiter.take("k", limit)
    assert (first.remaining, second.remaining, third.remaining) == (1, 0, -1)
    assert first.reset == 55  # the window 120–180 ends in 55 s
