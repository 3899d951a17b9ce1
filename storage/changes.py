"""Which people a committed transaction changed in who they are (their row, channel accounts,
role grants, or any place, which can move everyone): caches of identities subscribe here so a
change made in this process is seen by the next update at once.

Listened on every ORM session of the process (the bot's, a test's, a CLI's): a cache cannot
miss a change because it came through another session factory. A statement written outside the
ORM session (a raw connection) is not seen; caches keep entries for seconds only for that, and
for other processes."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from storage.models import ChannelAccount, Community, District, Grid, Person, RoleGrant, Street

# None: anyone may have changed (a place moved, a bulk statement on an identity table).
Changed = frozenset[int] | None
Listener = Callable[[Changed], None]

IDENTITY_TABLES = frozenset(
    {"people", "channel_accounts", "role_grants", "communities", "streets", "districts", "grids"}
)
# Columns written by every update of a known person that don't change who they are.
_BOOKKEEPING = frozenset({"last_seen_at", "updated_at", "chat_id"})
_PLACES = (Community, Street, District, Grid)
_PEOPLE_KEY = "identity_changed_people"
_EVERYONE_KEY = "identity_changed_everyone"

# Weak: a cache that is gone (a test's dispatcher) stops listening by itself.
_listeners: list[weakref.WeakMethod[Listener]] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call `listener` (a bound method) after each commit that changed someone's identity;
    returns the undo."""
    _install()
    ref = weakref.WeakMethod(listener)
    _listeners.append(ref)
    return lambda: _listeners.remove(ref) if ref in _listeners else None


def _changes_who(obj: Any) -> bool:
    if not isinstance(obj, ChannelAccount):
        return True
    state = inspect(obj)
    if state.pending or state.deleted or state.was_deleted:
        return True
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in _BOOKKEEPING)


def _after_flush(session: Session, _context: Any) -> None:
    if not _listeners:
        return
    people: set[int] = session.info.setdefault(_PEOPLE_KEY, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _PLACES):
            session.info[_EVERYONE_KEY] = True
        elif isinstance(obj, Person):
            people.add(obj.id)
        elif isinstance(obj, ChannelAccount | RoleGrant) and _changes_who(obj):
            people.add(obj.person_id)


def _on_execute(state: ORMExecuteState) -> None:
    if not _listeners or not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in IDENTITY_TABLES:
        state.session.info[_EVERYONE_KEY] = True


def _after_commit(session: Session) -> None:
    everyone = session.info.pop(_EVERYONE_KEY, False)
    people = session.info.pop(_PEOPLE_KEY, None)
    if not everyone and not people:
        return
    changed: Changed = None if everyone else frozenset(people or ())
    for ref in list(_listeners):
        listener = ref()
        if listener is None:
            _listeners.remove(ref)
        else:
            listener(changed)


def _after_rollback(session: Session) -> None:
    session.info.pop(_EVERYONE_KEY, None)
    session.info.pop(_PEOPLE_KEY, None)


_installed = False


def _install() -> None:
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _on_execute)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    _installed = True
