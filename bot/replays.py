"""Which chat platform updates were already taken in, so a redelivered one is dropped.

Telegram redelivers an update when the webhook's answer is slow (and long polling can hand
over a batch again after a restart). Update ids only grow, per bot; each is kept for a keep
window (Telegram keeps undelivered updates for 24 hours), in Redis when it is configured
(several processes share it) or in the database."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Protocol

from bot.redis_batch import RedisBatch


class SeenUpdates(Protocol):
    async def first_time(self, bot_id: int, update_id: int) -> bool:
        """Record the update id; True the first time it is seen, False for a replay."""
        ...


class MemorySeenUpdates:
    """One process only (tests, and a fallback): the newest `size` ids."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._seen: OrderedDict[tuple[int, int], None] = OrderedDict()

    async def first_time(self, bot_id: int, update_id: int) -> bool:
        key = (bot_id, update_id)
        if key in self._seen:
            return False
        self._seen[key] = None
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True


class RedisSeenUpdates:
    """SET NX with an expiry: atomic across processes, and bounded by the expiry. The
    updates arriving together are asked about in one round trip."""

    def __init__(self, redis: Any, keep_seconds: int, prefix: str = "wushe:update") -> None:
        self.redis = redis
        self.batch = RedisBatch(redis)
        self.keep_seconds = keep_seconds
        self.prefix = prefix

    async def first_time(self, bot_id: int, update_id: int) -> bool:
        key = f"{self.prefix}:{bot_id}:{update_id}"
        return bool(await self.batch.command("SET", key, b"1", "NX", "EX", self.keep_seconds))
