"""Rate limits shared by every process: fixed windows counted in Redis when it is
configured, in memory otherwise. One small interface (`RateStore.hit`), two stores."""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.redis_batch import RedisBatch

_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*$")


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `count` requests per `seconds`; a count of 0 turns the limit off."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Limit:
        """'20/10' (or '20/10s'): twenty per ten seconds."""
        match = _LIMIT.match(text)
        if match is None:
            raise ValueError("must look like COUNT/SECONDS, e.g. 20/10 (0/1 turns it off)")
        count, seconds = int(match[1]), float(match[2])
        if not 0 < seconds <= 86400 or count > 1_000_000:
            raise ValueError("the window must be between 1 second and a day")
        return cls(count, seconds)

    @property
    def enabled(self) -> bool:
        return self.count > 0


class RateStore(Protocol):
    async def hit(self, key: str, seconds: float, now: float) -> int:
        """Count one request against `key` in the window of `seconds` that holds `now`;
        returns the count so far in that window."""
        ...


class MemoryRateStore:
    """One process only; the least recently used keys are forgotten beyond `size`."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._counts: OrderedDict[str, int] = OrderedDict()

    async def hit(self, key: str, seconds: float, now: float) -> int:
        bucket = f"{key}:{int(now // seconds)}"
        count = self._counts.pop(bucket, 0) + 1
        self._counts[bucket] = count
        while len(self._counts) > self.size:
            self._counts.popitem(last=False)
        return count


# The window's count and its expiry in one step (the requests arriving together go to Redis
# in one round trip, `RedisBatch`).
_HIT = """
local count = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return count
"""


class RedisRateStore:
    """INCR of the window's key, which expires with the window."""

    def __init__(self, redis: Any, prefix: str = "wushe:rate") -> None:
        self.redis = redis
        self.prefix = prefix
        self.batch = RedisBatch(redis)
        self._hit = redis.register_script(_HIT)

    async def hit(self, key: str, seconds: float, now: float) -> int:
        bucket = f"{self.prefix}:{key}:{int(now // seconds)}"
        return int(await self.batch.script(self._hit, [bucket], [math.ceil(seconds) + 1]))


@dataclass(frozen=True, slots=True)
class Taken:
    """One request counted: how many so far in the window, how many are left, seconds
    until the window ends (for the RateLimit headers)."""

    count: int
    remaining: int
    reset: int


class RateLimiter:
    def __init__(self, store: RateStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    async def check(self, key: str, limit: Limit) -> int | None:
        """None when the request may go on; otherwise the whole seconds to wait."""
        if not limit.enabled:
            return None
        now = self.clock()
        count = await self.store.hit(key, limit.seconds, now)
        if count <= limit.count:
            return None
        return max(1, math.ceil(limit.seconds - (now % limit.seconds)))

    async def take(self, key: str, limit: Limit) -> Taken:
        """Count one request and say where the window stands (`remaining` < 0: over)."""
        now = self.clock()
        count = await self.store.hit(key, limit.seconds, now)
        reset = max(1, math.ceil(limit.seconds - (now % limit.seconds)))
        return Taken(count, limit.count - count, reset)
