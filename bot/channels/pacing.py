"""The pace of one channel's outbox, in this process or shared by every process.

`LocalPacer` wraps the domain's `Pacer` (one process: its monotonic clock). `RedisPacer` keeps
the same rules in Redis — one token bucket per channel holding a single token (so messages are
spaced 1/rate apart and no second goes above the rate), the last message of each chat, and a
429's hold — reserved atomically by one Lua script on Redis's own clock, so two processes
sending one broadcast share the channel's rate instead of doubling it. Both answer in seconds
to wait, so the sender does not care which it has."""

from __future__ import annotations

import time
from typing import Any, Protocol

from bot.domain.broadcasts import Pacer

# KEYS: the channel's next free moment, its hold, the chat's last message.
# ARGV: 1/rate, the chat's spacing. Returns the seconds to wait (as text: Lua numbers would be
# cut to integers on the way back).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local step, gap = tonumber(ARGV[1]), tonumber(ARGV[2])
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'),
                       tonumber(redis.call('GET', KEYS[2]) or '0'))
local last = redis.call('GET', KEYS[3])
if last then start = math.max(start, tonumber(last) + gap) end
local ttl = math.ceil((start - now + gap) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', start + step), 'PX', ttl)
redis.call('SET', KEYS[3], string.format('%.6f', start), 'PX', ttl)
return string.format('%.6f', start - now)
"""

_READY = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local last = redis.call('GET', KEYS[1])
if not last then return '0' end
return string.format('%.6f', tonumber(last) + tonumber(ARGV[1]) - now)
"""

_HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local seconds = tonumber(ARGV[1])
local until_at = math.max(now + seconds, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], string.format('%.6f', until_at), 'PX', math.ceil(seconds * 1000) + 1000)
return 1
"""


class ChannelPacer(Protocol):
    """When the next message of one channel may go (rate per channel, 1/s per chat)."""

    rate: float

    async def reserve(self, chat: str, interval: float | None = None) -> float:
        """Reserve this chat's next message; the seconds to wait before sending it."""
        ...

    async def ready_in(self, chat: str, interval: float | None = None) -> float:
        """Seconds until this chat may get a message by its own spacing (reserves nothing)."""
        ...

    async def hold(self, seconds: float) -> None:
        """The platform said "retry after": nothing goes on this channel for `seconds`."""
        ...


class LocalPacer:
    """This process's pace (no Redis): the domain's Pacer on the monotonic clock."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.pacer = Pacer(rate)

    async def reserve(self, chat: str, interval: float | None = None) -> float:
        now = time.monotonic()
        return max(0.0, self.pacer.slot(now, chat, interval) - now)

    async def ready_in(self, chat: str, interval: float | None = None) -> float:
        return self.pacer.ready_at(chat, interval) - time.monotonic()

    async def hold(self, seconds: float) -> None:
        self.pacer.hold(time.monotonic(), seconds)


class RedisPacer:
    """One channel's pace shared by every process through Redis."""

    def __init__(
        self, redis: Any, channel: str, rate: float, *, per_chat_interval: float = 1.0
    ) -> None:
        self.rate = rate
        self.per_chat_interval = per_chat_interval
        self.prefix = f"wushe:pace:{channel}"
        self._reserve = redis.register_script(_RESERVE)
        self._ready = redis.register_script(_READY)
        self._hold = redis.register_script(_HOLD)

    def _chat_key(self, chat: str) -> str:
        return f"{self.prefix}:chat:{chat}"

    async def reserve(self, chat: str, interval: float | None = None) -> float:
        gap = self.per_chat_interval if interval is None else interval
        keys = [f"{self.prefix}:next", f"{self.prefix}:hold", self._chat_key(chat)]
        wait = await self._reserve(keys=keys, args=[1.0 / self.rate, gap])
        return max(0.0, float(wait))

    async def ready_in(self, chat: str, interval: float | None = None) -> float:
        gap = self.per_chat_interval if interval is None else interval
        return float(await self._ready(keys=[self._chat_key(chat)], args=[gap]))

    async def hold(self, seconds: float) -> None:
        await self._hold(keys=[f"{self.prefix}:hold"], args=[seconds])


def make_pacer(channel: str, rate: float, redis: Any = None) -> ChannelPacer:
    """The shared pace when Redis is configured, this process's otherwise."""
    if redis is None:
        return LocalPacer(rate)
    return RedisPacer(redis, channel, rate)
