"""The emergency header's lookup: cached per community, and when the entry is old only one
update looks again while the others keep what they had (no stampede on the pool)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.services import emergencies


class _View:
    def __init__(self, description: str) -> None:
        self.description = description


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    async def active_for(uow: Any, *, community_id: int) -> _View:
        calls.append(community_id)
        await asyncio.sleep(0.05)
        return _View(f"flood in {community_id} #{len(calls)}")

    monkeypatch.setattr(emergencies, "active_for", active_for)
    emergencies.forget_active()
    return calls


async def test_many_updates_at_once_make_one_lookup_per_community(lookups: list[int]) -> None:
    found = await asyncio.gather(
        *(emergencies.active_description(None, community_id=7) for _ in range(20)),  # type: ignore[arg-type]
        emergencies.active_description(None, community_id=8),  # type: ignore[arg-type]
    )
    assert sorted(lookups) == [7, 8]
    assert set(found[:20]) == {found[0]} and found[0].startswith("flood in 7")


async def test_an_old_entry_is_looked_up_once_while_the_others_keep_the_old_value(
    lookups: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await emergencies.active_description(None, community_id=7)  # type: ignore[arg-type]
    monkeypatch.setattr(emergencies, "ACTIVE_SECONDS", -1.0)  # every entry is old at once
    emergencies._active[7] = (0.0, first)
    refreshed, *kept = await asyncio.gather(
        *(emergencies.active_description(None, community_id=7) for _ in range(5))  # type: ignore[arg-type]
    )
    assert lookups == [7, 7]
    assert refreshed.endswith("#2") and kept == [first] * 4


async def test_a_change_of_mode_in_this_process_is_seen_at_once(lookups: list[int]) -> None:
    await emergencies.active_description(None, community_id=7)  # type: ignore[arg-type]
    await emergencies.active_description(None, community_id=7)  # type: ignore[arg-type]
    emergencies.forget_active()
    assert (await emergencies.active_description(None, community_id=7)).endswith("#2")  # type: ignore[arg-type, union-attr]
    assert lookups == [7, 7]
