"""Who is behind a channel account, kept in the process for a few seconds: without it every
update read the account, the person, their places and grants (four statements) before any
handler ran.

A change this process commits to a person's identity (their row, accounts, grants) drops
their entries at once, a change to any place drops all (`storage.changes`); what another
process or a raw statement changed is seen within `seconds`. A read that raced with a change
is not kept: each read takes a sequence number first, and an entry older than the last change
of its person is refused."""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.services.views import Identity
from storage import changes

# (channel, external id, the fallback locale, superadmin) — the last two shape the principal.
Key = tuple[str, str, str, bool]


@dataclass(frozen=True, slots=True)
class Known:
    identity: Identity
    chat_id: str
    last_seen_at: datetime
    expires: float
    read_at: int


class IdentityCache:
    def __init__(
        self,
        seconds: float,
        size: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[Key, Known] = OrderedDict()
        self._keys_of: dict[int, set[Key]] = {}
        self._changed_at: dict[int, int] = {}
        self._everyone_at = 0
        self._sequence = itertools.count(1)
        self._unsubscribe = changes.subscribe(self.changed) if seconds > 0 else None

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def ticket(self) -> int:
        """Taken before reading from the database; `put` refuses what changed after it."""
        return next(self._sequence)

    def get(self, key: Key) -> Known | None:
        known = self._entries.get(key)
        if known is None:
            return None
        if known.expires <= self.clock():
            self._drop(key)
            return None
        return known

    def put(
        self, key: Key, identity: Identity, *, chat_id: str, last_seen_at: datetime, ticket: int
    ) -> None:
        if self.seconds <= 0:
            return
        person = identity.principal.person_id
        if ticket <= self._everyone_at or ticket <= self._changed_at.get(person, 0):
            return
        self._drop(key)
        self._entries[key] = Known(
            identity, chat_id, last_seen_at, self.clock() + self.seconds, ticket
        )
        self._keys_of.setdefault(person, set()).add(key)
        while len(self._entries) > self.size:
            self._drop(next(iter(self._entries)))

    def changed(self, people: changes.Changed) -> None:
        at = next(self._sequence)
        if people is None:
            self._everyone_at = at
            self._entries.clear()
            self._keys_of.clear()
            self._changed_at.clear()
            return
        for person in people:
            self._changed_at[person] = at
            for key in list(self._keys_of.get(person, ())):
                self._drop(key)
        if len(self._changed_at) > self.size:
            # Forgetting who changed when is safe only if every older read is refused.
            self._everyone_at = at
            self._changed_at.clear()

    def _drop(self, key: Key) -> None:
        known = self._entries.pop(key, None)
        if known is None:
            return
        person = known.identity.principal.person_id
        keys = self._keys_of.get(person)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._keys_of[person]
