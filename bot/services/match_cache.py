"""A short-lived, per-process cache of matching candidate pools, one entry per street.

Reading a street's candidates with their loads, records and ratings costs tens of milliseconds
on a district-sized store; a worker going through the queue asks for many needs of the same
street. Entries live `ttl` seconds (MATCH_CACHE_SECONDS) and this process clears them all
whenever it changes something the scores depend on (an assignment, a confirmed record, a
verification), so only another process's changes can be that many seconds late in suggestions.
Every action re-checks its rules in the database anyway.
"""

from __future__ import annotations

import time
from typing import Any

_entries: dict[tuple[int, Any], tuple[float, Any]] = {}


def get(street_id: int, key: Any) -> Any | None:
    found = _entries.get((street_id, key))
    if found is None or found[0] < time.monotonic():
        return None
    return found[1]


def put(street_id: int, key: Any, value: Any, ttl: float) -> None:
    if ttl > 0:
        _entries[(street_id, key)] = (time.monotonic() + ttl, value)


def invalidate() -> None:
    """Forget every street: called after a change the scores depend on."""
    _entries.clear()
