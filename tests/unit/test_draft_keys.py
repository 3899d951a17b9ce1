"""Drafts get Redis keys of their own; the keys of the conversation state do not change, so a
deployment keeps the conversations that are under way."""

from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey

from handlers.common.drafts import DESTINY, DestinyKeyBuilder


def test_conversation_keys_are_those_of_the_default_builder() -> None:
    key = StorageKey(bot_id=1, chat_id=42, user_id=42)
    old, new = DefaultKeyBuilder(with_bot_id=True), DestinyKeyBuilder(with_bot_id=True)
    for part in ("state", "data", "lock", None):
        assert new.build(key, part) == old.build(key, part)  # type: ignore[arg-type]


def test_draft_keys_carry_their_destiny() -> None:
    key = StorageKey(bot_id=1, chat_id=42, user_id=42, destiny=DESTINY)
    builder = DestinyKeyBuilder(with_bot_id=True)
    assert builder.build(key, "data") == "fsm:1:42:42:drafts:data"
    assert builder.build(key) == "fsm:1:42:42:drafts"
