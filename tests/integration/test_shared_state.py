"""What several processes share, one piece at a time: the outbox pace in Redis, the scheduler's
advisory lock on PostgreSQL, the per-chat order lock. (tests/e2e/test_several_processes_e2e.py
runs them together in two real processes.)"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.pacing import LocalPacer, RedisPacer
from bot.state_storage import RedisBatch, SharedConversationStorage
from handlers.common.drafts import DestinyKeyBuilder
from storage.db import make_engine, statement_cache
from storage.locks import SchedulerLock
from tests.support.databases import require_env


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(require_env("TEST_REDIS_URL", "Redis"))
    yield client
    await client.aclose()


async def test_two_pacers_on_one_redis_share_the_channels_rate(redis: Redis) -> None:
    channel = f"telegram:test-{uuid.uuid4().hex[:8]}"
    # Two processes' pacers of one channel at 20/s: together 1/20 s apart, not twice as fast.
    first, second = RedisPacer(redis, channel, 20.0), RedisPacer(redis, channel, 20.0)
    slots = []  # when each may go, on this clock (Redis answers how long to wait)
    for n in range(20):
        wait = await (first, second)[n % 2].reserve(f"chat-{n}")
        slots.append(time.monotonic() + wait)
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) > 0.025  # each blurred by the call's own latency on a busy machine
    assert slots[-1] - slots[0] == pytest.approx(19 * 0.05, abs=0.03)
    # One chat: a second apart, whichever process sends.
    again = await second.reserve("chat-0")
    assert again >= 1.0 - 0.05
    # A 429 seen by one holds the other too.
    await first.hold(5.0)
    assert await second.reserve("chat-new") >= 4.9
    assert await first.ready_in("chat-new") > 4.0


async def test_the_local_pacer_keeps_the_same_rules_in_one_process() -> None:
    pacer = LocalPacer(10.0)
    waits = [await pacer.reserve(f"chat-{n}") for n in range(3)]
    assert waits[1] - waits[0] == pytest.approx(0.1, abs=0.01)
    assert await pacer.reserve("chat-0") >= 0.95


async def test_one_scheduler_holds_the_lock_and_another_takes_it_when_it_is_gone(
    engine: AsyncEngine,
) -> None:
    if engine.dialect.name != "postgresql":
        # SQLite: one process, always the scheduler.
        assert await SchedulerLock(engine).held()
        return
    other_engine = make_engine(str(engine.url.render_as_string(hide_password=False)))
    try:
        first, second = SchedulerLock(engine), SchedulerLock(other_engine)
        assert await first.held()
        assert await first.held()  # still held: checked on its own connection
        assert not await second.held()
        await first.release()  # as when its process dies and the connection closes
        assert await second.held()
        assert not await first.held()
        await second.release()
    finally:
        await other_engine.dispose()


async def test_one_chats_updates_wait_for_each_other_in_arrival_order(redis: Redis) -> None:
    keys = DestinyKeyBuilder(prefix=f"t-{uuid.uuid4().hex[:8]}")
    isolation = SharedConversationStorage(redis, key_builder=keys).chat_order()
    key = StorageKey(bot_id=1, chat_id=7, user_id=7)
    order: list[int] = []

    async def handle(n: int, seconds: float) -> None:
        async with isolation.lock(key):
            order.append(n)
            await asyncio.sleep(seconds)
            order.append(n)

    started = time.monotonic()
    await asyncio.gather(handle(1, 0.2), handle(2, 0.0), handle(3, 0.0))
    assert order == [1, 1, 2, 2, 3, 3]  # never side by side, in the order they came
    assert time.monotonic() - started < 2.0


def test_no_statement_cache_behind_pgbouncer_gives_unique_names() -> None:
    assert statement_cache(100) == {"statement_cache_size": 100}
    options = statement_cache(0)
    assert options["statement_cache_size"] == 0
    assert options["prepared_statement_cache_size"] == 0
    name = options["prepared_statement_name_func"]
    assert name() != name()


async def test_the_conversation_read_with_the_lock_is_the_one_in_redis(redis: Redis) -> None:
    # Two processes' storages on one Redis; each reads a chat's conversation with its lock.
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    first = SharedConversationStorage(redis, key_builder=DestinyKeyBuilder(prefix=prefix))
    second = SharedConversationStorage(redis, key_builder=DestinyKeyBuilder(prefix=prefix))
    plain = RedisStorage(redis, key_builder=DestinyKeyBuilder(prefix=prefix))
    key = StorageKey(bot_id=1, chat_id=8, user_id=8)
    await plain.set_state(key, "Form:name")
    await plain.set_data(key, {"step": 1})
    events: list[str] = []

    async def first_process() -> None:
        async with first.chat_order().lock(key):
            assert await first.get_state(key) == "Form:name"
            assert await first.get_data(key) == {"step": 1}
            await first.set_state(key, "Form:phone")
            await first.update_data(key, {"step": 2})
            assert await first.get_state(key) == "Form:phone"  # its own writes, at once
            assert await first.get_data(key) == {"step": 2}
            events.append("first done")
            await asyncio.sleep(0.1)

    async def second_process() -> None:
        await asyncio.sleep(0.02)  # the first holds the lock by now
        async with second.chat_order().lock(key):
            events.append("second in")
            # What the first wrote, not what was there when the second asked.
            assert await second.get_state(key) == "Form:phone"
            assert await second.get_data(key) == {"step": 2}
            await second.set_state(key, None)
            await second.set_data(key, {})

    await asyncio.gather(first_process(), second_process())
    assert events == ["first done", "second in"]
    assert await plain.get_state(key) is None and await plain.get_data(key) == {}
    assert not first.held and not second.held  # nothing kept once the lock is let go
    assert await redis.exists(DestinyKeyBuilder(prefix=prefix).build(key, "lock")) == 0


async def test_a_held_chats_copy_never_answers_for_another_chat(redis: Redis) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    storage = SharedConversationStorage(redis, key_builder=DestinyKeyBuilder(prefix=prefix))
    mine, other = StorageKey(1, 9, 9), StorageKey(1, 10, 10)
    await storage.set_state(other, "Other:step")
    async with storage.chat_order().lock(mine):
        assert await storage.get_state(mine) is None
        assert await storage.get_state(other) == "Other:step"  # read from Redis
        await storage.set_data(other, {"x": 1})
        assert await storage.get_data(other) == {"x": 1}


async def test_clearing_a_conversation_that_is_not_there_asks_redis_nothing(redis: Redis) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    storage = SharedConversationStorage(
        redis, key_builder=DestinyKeyBuilder(prefix=prefix), state_ttl=600, data_ttl=600
    )
    key = StorageKey(1, 11, 11)
    sent: list[str] = []
    real, batched = storage.redis.execute_command, storage.batch.command

    async def counted(*args: object, **options: object) -> object:
        sent.append(str(args[0]))
        return await real(*args, **options)

    async def counted_in_batch(*command: object) -> object:
        sent.append(str(command[0]))
        return await batched(*command)

    storage.redis.execute_command = counted  # type: ignore[method-assign]
    storage.batch.command = counted_in_batch  # type: ignore[method-assign]
    async with storage.chat_order().lock(key):
        await storage.set_state(key, None)
        await storage.set_data(key, {})
        await storage.set_state(key, "Form:name")  # a real change still goes out
        await storage.set_data(key, {"step": 1})
    assert "DEL" not in sent and sent.count("SET") == 2
    assert await plain_state(redis, prefix, key) == "Form:name"
    # Written in the lock's batch with the storage's expiry, as RedisStorage writes them.
    for part in ("state", "data"):
        assert 590 < await redis.ttl(DestinyKeyBuilder(prefix=prefix).build(key, part)) <= 600
    async with storage.chat_order().lock(key):
        await storage.set_state(key, None)
        await storage.set_data(key, {})
    assert sent.count("DEL") == 2
    assert await redis.exists(DestinyKeyBuilder(prefix=prefix).build(key, "data")) == 0


async def plain_state(redis: Redis, prefix: str, key: StorageKey) -> str | None:
    return await RedisStorage(redis, key_builder=DestinyKeyBuilder(prefix=prefix)).get_state(key)


async def test_many_chats_locks_go_to_redis_in_a_few_batches_each_taken_and_let_go(
    redis: Redis,
) -> None:
    keys = DestinyKeyBuilder(prefix=f"t-{uuid.uuid4().hex[:8]}")
    isolation = SharedConversationStorage(redis, key_builder=keys).chat_order()
    inside: set[int] = set()
    most_inside = 0

    async def handle(chat: int) -> None:
        nonlocal most_inside
        async with isolation.lock(StorageKey(1, chat, chat)):
            inside.add(chat)
            most_inside = max(most_inside, len(inside))
            await asyncio.sleep(0)
            inside.discard(chat)

    await asyncio.gather(*(handle(chat) for chat in range(100)))
    # 100 takings and 100 lettings-go: a handful of round trips, all chats side by side.
    assert isolation.batch.batches_sent <= 10
    assert most_inside == 100
    assert not [k async for k in redis.scan_iter(match=f"{keys.prefix}*lock")]


async def test_batched_calls_reach_redis_in_the_order_they_were_made(redis: Redis) -> None:
    batch = RedisBatch(SlowFirstPipeline(redis))
    push = redis.register_script("return redis.call('RPUSH', KEYS[1], ARGV[1])")
    listed = f"t-{uuid.uuid4().hex[:8]}:order"
    calls = []
    for n in range(50):  # made one after another, never waiting for an answer
        calls.append(asyncio.create_task(batch.script(push, [listed], [n])))
        if n % 10 == 9:
            await asyncio.sleep(0.01)  # the first batch is on its way (and slow) by now
    await asyncio.gather(*calls)
    # A later batch never overtakes the slow first one: the order the calls were made.
    assert [int(v) for v in await redis.lrange(listed, 0, -1)] == list(range(50))
    assert 1 < batch.batches_sent < 50
    await redis.delete(listed)


class SlowFirstPipeline:
    """A Redis client whose first pipeline takes 50 ms more to answer."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.first = True

    def pipeline(self, **options: object) -> object:
        pipe = self.redis.pipeline(**options)  # type: ignore[arg-type]
        if self.first:
            self.first = False
            execute = pipe.execute

            async def slowly(**execute_options: object) -> object:
                await asyncio.sleep(0.05)
                return await execute(**execute_options)  # type: ignore[arg-type]

            pipe.execute = slowly  # type: ignore[method-assign, assignment]
        return pipe


async def test_a_script_redis_does_not_know_yet_is_loaded_and_run(redis: Redis) -> None:
    batch = RedisBatch(redis)
    # As after a restart of Redis: the script was never loaded, so EVALSHA fails first.
    script = redis.register_script(f"return '{uuid.uuid4().hex}' .. ARGV[1]")
    answers = await asyncio.gather(*(batch.script(script, [], [n]) for n in range(3)))
    assert [a.decode()[-1] for a in answers] == ["0", "1", "2"]


async def test_an_unreachable_redis_fails_every_call_of_the_batch_and_the_next_one_too() -> None:
    unreachable = Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    batch = RedisBatch(unreachable)
    script = unreachable.register_script("return 1")
    outcomes = await asyncio.gather(
        *(batch.script(script, [], []) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, RedisConnectionError) for o in outcomes)
    with pytest.raises(RedisConnectionError):
        await batch.script(script, [], [])
    await unreachable.aclose()


async def test_a_lock_given_up_while_being_taken_is_let_go(redis: Redis) -> None:
    keys = DestinyKeyBuilder(prefix=f"t-{uuid.uuid4().hex[:8]}")
    isolation = SharedConversationStorage(redis, key_builder=keys).chat_order()
    key = StorageKey(1, 12, 12)

    async def handle() -> None:
        async with isolation.lock(key):
            raise AssertionError("never reached: given up while the lock was being taken")

    waiting = asyncio.create_task(handle())
    await asyncio.sleep(0)  # the taking is queued (and sent) …
    waiting.cancel()  # … and its update cancelled (a shutdown, a timeout) before the answer
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.sleep(0.2)
    assert await redis.exists(keys.build(key, "lock")) == 0
    async with asyncio.timeout(2):  # the next update of the chat does not wait LOCK_SECONDS
        async with isolation.lock(key):
            pass


def test_a_batch_left_by_an_event_loop_that_is_gone_serves_the_next_one() -> None:
    url = require_env("TEST_REDIS_URL", "Redis")
    batch = RedisBatch(None)

    async def interrupted() -> None:
        never = asyncio.get_running_loop().create_future()

        class Stuck:  # a pipeline whose answer never comes before the loop ends
            async def __aenter__(self) -> Stuck:
                return self

            async def __aexit__(self, *exc: object) -> None:
                return None

            def execute_command(self, *command: object) -> None:
                return None

            async def execute(self, **options: object) -> object:
                return await never

        batch.redis = type("R", (), {"pipeline": lambda self, **o: Stuck()})()
        asyncio.get_running_loop().call_later(0.05, asyncio.get_running_loop().stop)
        await batch.command("PING")

    loop = asyncio.new_event_loop()
    with contextlib.suppress(RuntimeError):  # stopped before the call could finish
        loop.run_until_complete(interrupted())
    loop.close()

    async def next_loop() -> object:
        batch.redis = Redis.from_url(url)
        try:
            async with asyncio.timeout(2):
                return await batch.command("PING")
        finally:
            await batch.redis.aclose()

    assert asyncio.run(next_loop()) is True


async def test_callers_do_not_wait_forever_when_the_sending_itself_is_stopped(
    redis: Redis,
) -> None:
    batch = RedisBatch(SlowFirstPipeline(redis))
    on_its_way = asyncio.create_task(batch.command("PING"))
    await asyncio.sleep(0.01)  # the slow first batch has been sent
    waiting = asyncio.create_task(batch.command("PING"))  # queued behind it
    await asyncio.sleep(0)
    assert batch._sending is not None
    batch._sending.cancel()  # as a shutdown cancels every task
    async with asyncio.timeout(1):
        outcomes = await asyncio.gather(on_its_way, waiting, return_exceptions=True)
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
    assert await batch.command("PING") is True  # and the next call is sent again
