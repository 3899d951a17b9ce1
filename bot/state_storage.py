"""Conversation (FSM) state that expires: a form left open is forgotten after FSM_TTL_SECONDS.

Redis does it itself (aiogram's RedisStorage sets `state_ttl`/`data_ttl` on every write);
this is the same for the in-memory storage of a single process without REDIS_URL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, cast
from weakref import WeakValueDictionary

from aiogram.fsm.storage.base import (
    BaseEventIsolation,
    BaseStorage,
    DefaultKeyBuilder,
    StateType,
    StorageKey,
)
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage

from bot.redis_batch import RedisBatch

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


# Takes the chat's lock and, in the same round trip, reads its conversation (state and data):
# aiogram reads the state right after the lock, and most form steps the data next.
ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2]), redis.call('GET', KEYS[3])}
end
return {0, redis.call('PTTL', KEYS[1])}
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
LOCK_SECONDS = 60  # aiogram's own; a handler that takes longer loses the chat's lock
RETRY_FIRST, RETRY_MOST = 0.005, 0.1


class SharedConversationStorage(RedisStorage):
    """aiogram's RedisStorage that answers reads of a conversation whose chat lock this process
    holds from what the lock's script read, and keeps that copy current on writes. Every write
    of a chat's conversation happens under its lock, so no other process can change it then."""

    def __init__(self, redis: Any, **kwargs: Any) -> None:
        super().__init__(redis, **kwargs)
        self.batch = RedisBatch(redis)
        # redis key of a held conversation's state/data → its value (None: no such key).
        self.held: dict[str, str | None] = {}

    def chat_order(self) -> ChatOrderIsolation:
        return ChatOrderIsolation(self)

    async def get_state(self, key: StorageKey) -> str | None:
        redis_key = self.key_builder.build(key, "state")
        if redis_key in self.held:
            return self.held[redis_key]
        return await super().get_state(key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        redis_key = self.key_builder.build(key, "state")
        if state is None and redis_key in self.held and self.held[redis_key] is None:
            return  # nothing to delete (/mine, /help… clear a conversation that is not there)
        if redis_key not in self.held:
            await super().set_state(key, state)
            return
        value = None if state is None else str(getattr(state, "state", state))
        await self._write_held(redis_key, value, self.state_ttl)
        self.held[redis_key] = value

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        redis_key = self.key_builder.build(key, "data")
        if redis_key not in self.held:
            return await super().get_data(key)
        value = self.held[redis_key]
        return {} if value is None else cast(dict[str, Any], self.json_loads(value))

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        redis_key = self.key_builder.build(key, "data")
        if not data and redis_key in self.held and self.held[redis_key] is None:
            return
        if redis_key not in self.held:
            await super().set_data(key, data)
            return
        value = self.json_dumps(data) if data else None
        await self._write_held(redis_key, value, self.data_ttl)
        self.held[redis_key] = value

    async def _write_held(self, redis_key: str, value: str | None, ttl: Any) -> None:
        """A held conversation's write, in the chat lock's batch (as RedisStorage writes it)."""
        if value is None:
            await self.batch.command("DEL", redis_key)
        elif ttl is None:
            await self.batch.command("SET", redis_key, value)
        else:
            seconds = int(ttl.total_seconds()) if isinstance(ttl, timedelta) else int(ttl)
            await self.batch.command("SET", redis_key, value, "EX", seconds)


class ChatOrderIsolation(BaseEventIsolation):
    """One chat's updates one after another across processes, in arrival order within each.

    Like aiogram's RedisEventIsolation, a Redis lock per conversation around the handling, but
    several updates of one chat waiting in one process first queue on a lock of this process
    (in order, as ChatOrderMiddleware does without Redis) and only the head of that queue asks
    Redis — with one script that also reads the conversation, so an update costs two round
    trips (take and read, release) instead of three or four."""

    def __init__(self, storage: SharedConversationStorage) -> None:
        self.storage = storage
        self.redis = storage.redis
        self._acquire = self.redis.register_script(ACQUIRE)
        self._release = self.redis.register_script(RELEASE)
        self.batch = storage.batch
        self._letting_go: set[asyncio.Future[Any]] = set()
        self._local: WeakValueDictionary[StorageKey, asyncio.Lock] = WeakValueDictionary()

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        local = self._local.get(key)
        if local is None:
            local = self._local[key] = asyncio.Lock()
        async with local:
            build = self.storage.key_builder.build
            names = build(key, "lock"), build(key, "state"), build(key, "data")
            token = uuid.uuid4().hex
            state, data = await self._take(names, token)
            held = self.storage.held
            held[names[1]], held[names[2]] = state, data
            try:
                yield
            finally:
                held.pop(names[1], None)
                held.pop(names[2], None)
                await self.batch.script(self._release, [names[0]], [token])

    async def _take(self, names: tuple[str, str, str], token: str) -> tuple[str | None, str | None]:
        wait, expiry = RETRY_FIRST, LOCK_SECONDS * 1000
        while True:
            try:
                taken, *values = await self.batch.script(
                    self._acquire, list(names), [token, expiry]
                )
            except asyncio.CancelledError:
                # The lock may have been taken for this token all the same: let it go (the
                # script checks the token), or the chat would wait out LOCK_SECONDS.
                self._let_go(names[0], token)
                raise
            if taken:
                state, data = (_text(v) for v in values)
                return state, data
            # Held by another process: try again before it could have expired, backing off.
            await asyncio.sleep(min(wait, max(int(values[0]), 1) / 1000))
            wait = min(wait * 2, RETRY_MOST)

    def _let_go(self, lock_key: str, token: str) -> None:
        release = asyncio.ensure_future(self.batch.script(self._release, [lock_key], [token]))
        self._letting_go.add(release)
        release.add_done_callback(self._letting_go.discard)

    async def close(self) -> None:
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
