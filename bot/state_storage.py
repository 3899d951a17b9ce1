"""Conversation (FSM) state that expires: a form left open is forgotten after FSM_TTL_SECONDS.

Redis does it itself (aiogram's RedisStorage sets `state_ttl`/`data_ttl` on every write);
this is the same for the in-memory storage of a single process without REDIS_URL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any
from weakref import WeakValueDictionary

from aiogram.fsm.storage.base import (
    BaseEventIsolation,
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisEventIsolation

SWEEP_EVERY_SECONDS = 60.0


class ExpiringMemoryStorage(MemoryStorage):
    """MemoryStorage whose records are dropped `ttl` seconds after their last write.

    Like the Redis keys, a record lives on while the conversation moves (each write restarts
    its time); unlike them, state and data share one clock per chat. Expired records are
    dropped when read and, at most once a minute, all at once on a write, so memory stays
    bounded by the chats active within the last `ttl` seconds."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.ttl = ttl
        self.clock = clock
        self.written: dict[StorageKey, float] = {}
        self._swept = clock()

    def _expire(self, key: StorageKey) -> None:
        written = self.written.get(key)
        if written is not None and self.clock() - written >= self.ttl:
            self.storage.pop(key, None)
            del self.written[key]

    def _touch(self, key: StorageKey) -> None:
        now = self.clock()
        if now - self._swept >= SWEEP_EVERY_SECONDS:
            self._swept = now
            for old in [k for k, at in self.written.items() if now - at >= self.ttl]:
                self.storage.pop(old, None)
                del self.written[old]
        record = self.storage.get(key)
        if record is not None and record.state is None and not record.data:
            # Cleared: nothing left to keep (as Redis deletes an empty key).
            del self.storage[key]
            self.written.pop(key, None)
        else:
            self.written[key] = now

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        self._expire(key)
        await super().set_state(key, state)
        self._touch(key)

    async def get_state(self, key: StorageKey) -> str | None:
        self._expire(key)
        return self.storage[key].state if key in self.storage else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        self._expire(key)
        await super().set_data(key, data)
        self._touch(key)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        self._expire(key)
        return self.storage[key].data.copy() if key in self.storage else {}

    async def get_value(
        self, storage_key: StorageKey, dict_key: str, default: Any | None = None
    ) -> Any | None:
        self._expire(storage_key)
        if storage_key not in self.storage:
            return default
        return await super().get_value(storage_key, dict_key, default)


async def expire_unbounded_state(storage: BaseStorage, ttl: int) -> int:
    """Give an expiry to the Redis state keys written before every key had one (an older
    version, or a form left open across the upgrade), so none stays forever; their number."""
    redis = getattr(storage, "redis", None)
    builder = getattr(storage, "key_builder", None)
    if redis is None or not isinstance(builder, DefaultKeyBuilder):
        return 0
    count = 0
    async for key in redis.scan_iter(match=f"{builder.prefix}{builder.separator}*", count=500):
        if await redis.ttl(key) == -1:  # -1: exists without an expiry
            count += bool(await redis.expire(key, ttl))
    return count


class ChatOrderIsolation(BaseEventIsolation):
    """One chat's updates one after another across processes, in arrival order within each.

    aiogram's RedisEventIsolation takes a Redis lock per conversation around the handling (the
    FSM state is read inside it), but several updates of one chat waiting in one process
    would then race for it by polling. Here they first queue on a lock of this process (in
    order, as ChatOrderMiddleware does without Redis), and only the head of that queue waits
    for the shared lock."""

    def __init__(self, redis: Any, key_builder: KeyBuilder) -> None:
        self.shared = RedisEventIsolation(redis, key_builder=key_builder)
        self._local: WeakValueDictionary[StorageKey, asyncio.Lock] = WeakValueDictionary()

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        local = self._local.get(key)
        if local is None:
            local = self._local[key] = asyncio.Lock()
        async with local, self.shared.lock(key):
            yield

    async def close(self) -> None:
        await self.shared.close()
