"""Redis calls of many updates sent together, as one pipeline per round trip."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

# One call waiting in a batch: what is sent; for a script, the call that loads it and runs it
# (when Redis no longer knows it); where its answer goes.
Queued = tuple[tuple[Any, ...], "Callable[[], Awaitable[Any]] | None", "asyncio.Future[Any]"]


class RedisBatch:
    """Redis calls sent together: those made while the previous batch was on its way (or
    within one turn of the event loop) go as one pipeline. Under load a hundred chats' locks
    taken and let go, and their conversations written, cost a few round trips, not hundreds
    (redis-py spends more on a call than Redis on running it). One batch at a time, so calls
    reach Redis in the order they were made — a lock let go after its taking is never run
    before it."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.batches_sent = 0
        self._queued: list[Queued] = []
        self._sending: asyncio.Task[None] | None = None

    async def script(self, script: AsyncScript, keys: list[Any], args: list[Any]) -> Any:
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        return await self._call(command, lambda: script(keys=keys, args=args))

    async def command(self, *command: Any) -> Any:
        return await self._call(command, None)

    async def _call(
        self, command: tuple[Any, ...], load_and_run: Callable[[], Awaitable[Any]] | None
    ) -> Any:
        loop = asyncio.get_running_loop()
        if self._sending is not None and self._sending.get_loop() is not loop:
            # Left by an event loop that is gone (a test's, a restart's): never finishing.
            self._sending = None
            self._queued = [queued for queued in self._queued if queued[2].get_loop() is loop]
        future = loop.create_future()
        self._queued.append((command, load_and_run, future))
        if self._sending is None:
            self._sending = asyncio.create_task(self._send_all())
        return await future

    async def _send_all(self) -> None:
        try:
            while self._queued:
                calls, self._queued = self._queued, []
                await self._send(calls)
        finally:
            self._sending = None
            for *_, future in self._queued:  # only when this task itself was cancelled
                future.cancel()
            self._queued = []

    async def _send(self, calls: list[Queued]) -> None:
        self.batches_sent += 1
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for command, _, _ in calls:
                    pipe.execute_command(*command)
                results = await pipe.execute(raise_on_error=False)
        except asyncio.CancelledError:  # the sending itself stopped (a shutdown)
            for *_, future in calls:
                future.cancel()
            raise
        except Exception as error:  # Redis unreachable: each caller sees it, as a lone call would
            results = [error] * len(calls)
        for (_, load_and_run, future), result in zip(calls, results, strict=True):
            if load_and_run is not None and isinstance(result, NoScriptError):
                # Redis restarted or its scripts were flushed: load it, in this batch's turn.
                result = await _answer_of(load_and_run())
            if future.done():  # its caller was cancelled
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


async def _answer_of(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except Exception as error:
        return error
