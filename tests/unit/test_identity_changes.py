"""The other processes' identity changes reach this process's cache through Redis; whenever the
channel is (re)subscribed — after an outage, announcements made meanwhile are lost — the whole
cache is forgotten. (tests/integration/test_identity_changes.py runs it on a real Redis.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config import load_settings
from bot.domain.principal import Principal
from bot.services import people
from bot.services.identity_cache import IdentityCache, Key
from storage import changes
from storage.changes import RedisChanges

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def subscribed() -> dict[str, Any]:
    return {"type": "subscribe", "channel": b"c", "data": 1}


def said(origin: str, people: list[int] | None) -> dict[str, Any]:
    data = json.dumps({"from": origin, "people": people}).encode()
    return {"type": "message", "channel": b"c", "data": data}


class FakePubSub:
    """Plays a script: each item is a message, a callable run at that point, or an error."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script

    async def subscribe(self, channel: str) -> None:
        return None

    async def get_message(self, timeout: float) -> dict[str, Any] | None:
        await asyncio.sleep(0)
        if not self.script:
            await asyncio.sleep(0.01)
            return None
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        if callable(item):
            item()
            return None
        return item  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        return None


class FakeRedis:
    def __init__(self, *scripts: list[Any]) -> None:
        self.scripts = list(scripts)

    def pubsub(self) -> FakePubSub:
        return FakePubSub(self.scripts.pop(0) if self.scripts else [])


def key(n: int) -> Key:
    return ("web", str(n), "zh", False)


def cached(cache: IdentityCache, *ns: int) -> Callable[[], None]:
    def put() -> None:
        for n in ns:
            identity = people.Identity(Principal(n, "zh"), language_chosen=True, onboarded=True)
            cache.put(key(n), identity, chat_id=str(n), last_seen_at=START, ticket=cache.ticket())

    return put


async def heard(redis: FakeRedis, cache: IdentityCache, until: Callable[[], bool]) -> None:
    stopping = asyncio.Event()
    listening = asyncio.create_task(RedisChanges(redis, "c").listen(cache.changed, stopping))
    for _ in range(500):
        if until():
            break
        await asyncio.sleep(0.01)
    stopping.set()
    await listening
    assert until()


async def test_the_whole_cache_is_forgotten_when_the_channel_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(changes, "RELISTEN_SECONDS", 0.0)
    cache = IdentityCache(60.0)
    cache.close()  # only what the channel says
    checked: list[bool] = []

    def check(*expected: int) -> Callable[[], None]:
        def look() -> None:
            checked.append([n for n in (1, 2, 3) if cache.get(key(n))] == list(expected))

        return look

    redis = FakeRedis(
        [
            subscribed(),
            cached(cache, 1, 2, 3),
            said("elsewhere", [2]),  # another process changed person 2
            check(1, 3),
            ConnectionError("Redis went away"),
        ],
        # Subscribed again: whatever was announced in between is lost.
        [subscribed(), check()],
    )
    await heard(redis, cache, lambda: len(checked) == 2)
    assert checked == [True, True]


async def test_a_resubscription_redis_py_makes_by_itself_forgets_everyone_too() -> None:
    cache = IdentityCache(60.0)
    cache.close()
    redis = FakeRedis([subscribed(), cached(cache, 1, 2), subscribed()])
    await heard(redis, cache, lambda: cache.get(key(1)) is None and cache.get(key(2)) is None)


async def test_own_announcements_are_skipped_and_an_unreadable_one_forgets_everyone() -> None:
    cache = IdentityCache(60.0)
    cache.close()
    listener = RedisChanges(FakeRedis(), "c")
    cached(cache, 1, 2)()
    listener._received(said(listener.origin, [1]), cache.changed)
    assert cache.get(key(1)) is not None, "this process's caches heard it from its session"
    listener._received(said("elsewhere", None), cache.changed)
    assert cache.get(key(1)) is None and cache.get(key(2)) is None
    cached(cache, 1)()
    listener._received({"type": "message", "data": b"{not json"}, cache.changed)
    assert cache.get(key(1)) is None


def test_the_cache_is_long_by_default_only_when_every_writer_is_heard() -> None:
    assert load_settings(redis_url="redis://localhost:6379/0").identity_seconds == 60.0
    # Without Redis the CLI's `admin grant` cannot be heard: seen within a second instead.
    assert load_settings(redis_url=None).identity_seconds == 1.0
    assert load_settings(identity_cache_seconds=5).identity_seconds == 5.0
