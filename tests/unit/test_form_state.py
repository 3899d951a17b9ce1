"""Conversation state expires (FSM_TTL_SECONDS), in Redis and in memory alike."""

from __future__ import annotations

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage

from bot.app import make_storage
from bot.config import ConfigError, load_settings
from bot.state_storage import ExpiringMemoryStorage

KEY = StorageKey(bot_id=1, chat_id=7, user_id=7)
OTHER = StorageKey(bot_id=1, chat_id=8, user_id=8)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_fsm_ttl_defaults_to_a_day_and_refuses_nonsense() -> None:
    assert load_settings(_env_file=None).fsm_ttl_seconds == 86400
    assert load_settings(fsm_ttl_seconds="3600", _env_file=None).fsm_ttl_seconds == 3600
    for bad in ("0", "-5", "soon"):
        with pytest.raises(ConfigError, match="FSM_TTL_SECONDS"):
            load_settings(fsm_ttl_seconds=bad, _env_file=None)


async def test_redis_state_is_built_with_the_ttl_for_state_and_data() -> None:
    storage = make_storage(load_settings(redis_url="redis://127.0.0.1:6379/0", _env_file=None))
    assert isinstance(storage, RedisStorage)
    assert (storage.state_ttl, storage.data_ttl) == (86400, 86400)
    await storage.close()


async def test_memory_state_is_forgotten_a_ttl_after_its_last_change() -> None:
    clock = Clock()
    storage = make_storage(load_settings(fsm_ttl_seconds=600, _env_file=None))
    assert isinstance(storage, ExpiringMemoryStorage) and storage.ttl == 600
    storage.clock = clock
    await storage.set_state(KEY, "VolunteerForm:phone")
    await storage.set_data(KEY, {"id_number": "ciphertext"})
    clock.now += 599
    await storage.update_data(KEY, {"phone": "ciphertext"})  # a change restarts the time
    clock.now += 599
    assert await storage.get_state(KEY) == "VolunteerForm:phone"
    assert await storage.get_value(KEY, "id_number") == "ciphertext"
    clock.now += 1
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {}
    assert await storage.get_value(KEY, "id_number", "gone") == "gone"
    assert KEY not in storage.storage


async def test_memory_state_of_abandoned_chats_is_swept_and_cleared_chats_take_no_room() -> None:
    clock = Clock()
    storage = ExpiringMemoryStorage(120, clock=clock)
    await storage.set_data(OTHER, {"x": 1})  # a chat nobody comes back to
    await storage.set_state(KEY, "S:a")
    await storage.set_state(KEY, None)  # /cancel or a save: cleared
    await storage.set_data(KEY, {})
    assert KEY not in storage.storage and KEY not in storage.written
    clock.now += 121
    await storage.set_state(KEY, "S:b")  # any write sweeps the expired ones
    assert OTHER not in storage.storage and OTHER not in storage.written
    assert await storage.get_state(KEY) == "S:b"
