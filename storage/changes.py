"""Which people a committed transaction changed in who they are (their row, channel accounts,
role grants, or any place, which can move everyone): caches of identities subscribe here so a
change made in this process is seen by the next update at once.

Listened on every ORM session of the process (the bot's, a test's, a CLI's): a cache cannot
miss a change because it came through another session factory. With Redis, every process
announces its changes on a pub/sub channel once they are committed (`RedisChanges`), and every
bot process hands the others' to its cache; a process that lost the channel for a moment
forgets everything it cached when it is back (what was said meanwhile is lost). A statement
written outside the ORM session (a raw connection) is not seen; caches keep entries for a
minute at most for that."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.util import await_only
from sqlalchemy.util.concurrency import in_greenlet

from storage.models import ChannelAccount, Community, District, Grid, Person, RoleGrant, Street

log = logging.getLogger(__name__)

# None: anyone may have changed (a place moved, a bulk statement on an identity table).
Changed = frozenset[int] | None
Listener = Callable[[Changed], None]

IDENTITY_TABLES = frozenset(
    {"people", "channel_accounts", "role_grants", "communities", "streets", "districts", "grids"}
)
# Columns written while people use the bot that don't change who they are (the principal is
# built from the person's locale and community, their accounts and grants).
_BOOKKEEPING = {
    ChannelAccount: frozenset({"last_seen_at", "updated_at", "chat_id"}),
    Person: frozenset({"display_name", "large_text", "phone", "address", "updated_at"}),
}
_PLACES = (Community, Street, District, Grid)
_PEOPLE_KEY = "identity_changed_people"
_EVERYONE_KEY = "identity_changed_everyone"

# Weak: a cache that is gone (a test's dispatcher) stops listening by itself.
_listeners: list[weakref.WeakMethod[Listener]] = []
# Where this process's changes are announced to the others (Redis), besides its own caches.
_announcers: list[RedisChanges] = []
# Announcers that say it inside the transaction itself (PostgreSQL NOTIFY).
_within: list[PostgresChanges] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call `listener` (a bound method) after each commit that changed someone's identity;
    returns the undo."""
    _install()
    ref = weakref.WeakMethod(listener)
    _listeners.append(ref)
    return lambda: _listeners.remove(ref) if ref in _listeners else None


def _changes_who(obj: Any) -> bool:
    state = inspect(obj)
    if state.pending or state.deleted or state.was_deleted:
        return True
    bookkeeping = _BOOKKEEPING.get(type(obj), frozenset())
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in bookkeeping)


def _watched() -> bool:
    return bool(_listeners or _announcers or _within)


def _after_flush(session: Session, _context: Any) -> None:
    if not _watched():
        return
    people: set[int] = session.info.setdefault(_PEOPLE_KEY, set())
    known, everyone = set(people), session.info.get(_EVERYONE_KEY, False)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _PLACES):
            session.info[_EVERYONE_KEY] = True
        elif isinstance(obj, Person) and _changes_who(obj):
            people.add(obj.id)
        elif isinstance(obj, ChannelAccount | RoleGrant) and _changes_who(obj):
            people.add(obj.person_id)
    if session.info.get(_EVERYONE_KEY) and not everyone:
        _notify_within(session, None)
    elif people - known:
        _notify_within(session, frozenset(people - known))


def _before_commit(session: Session) -> None:
    # A bulk statement on an identity table (seen by _on_execute) flushes nothing. Said again
    # if a flush said it already: PostgreSQL delivers one of identical notifications.
    if session.info.get(_EVERYONE_KEY):
        _notify_within(session, None)


def _notify_within(session: Session, changed: Changed) -> None:
    """Tell the in-transaction announcers (PostgreSQL's NOTIFY: delivered at the commit,
    dropped with a rollback)."""
    for announcer in list(_within):
        announcer.notify_within(session, changed)


def _on_execute(state: ORMExecuteState) -> None:
    if not _watched() or not (state.is_update or state.is_delete or state.is_insert):
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
    notify(changed)
    for announcer in list(_announcers):
        announcer.announce(changed)


def notify(changed: Changed) -> None:
    """Hand a change to this process's listeners (a commit here, or another process's)."""
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
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    _installed = True


CHANNEL = "wushe:identity-changes"
ANNOUNCE_TIMEOUT_SECONDS = 1.0
RELISTEN_SECONDS = 1.0
LISTEN_APPLICATION_NAME = "wushe-identity-changes"  # how pg_stat_activity shows it
NOTIFY_MOST_BYTES = 7000  # PostgreSQL refuses a payload of 8,000 bytes or more


class RedisChanges:
    """Identity changes between processes over one Redis pub/sub channel.

    `install()` announces each of this process's commits that changed someone (the people's
    ids, or "everyone"): the commit returns once Redis has it, so when `admin grant` prints
    its answer every bot process has been told. `listen()` hands the other processes'
    announcements to `deliver`, and "everyone" each time the channel is (re)subscribed —
    announcements made while this process was cut off from Redis are lost, so nothing cached
    before can be trusted."""

    def __init__(self, redis: Any, channel: str = CHANNEL) -> None:
        self.redis = redis
        self.channel = channel
        # This process's own announcements come back to it: its caches already know.
        self.origin = uuid.uuid4().hex
        self._pending: set[asyncio.Task[None]] = set()
        # Set once the channel is subscribed and everything cached before forgotten.
        self.subscribed = asyncio.Event()

    def install(self) -> Callable[[], None]:
        """Announce this process's identity changes from now on; returns the undo."""
        _install()
        _announcers.append(self)
        return lambda: _announcers.remove(self) if self in _announcers else None

    def announce(self, changed: Changed) -> None:
        """Called inside a commit (SQLAlchemy's greenlet of an async session): waits for
        Redis there; a sync session's commit sends it in the background."""
        payload = _announcement(self.origin, changed)
        if in_greenlet():
            await_only(self._publish(payload))
            return
        try:
            task = asyncio.get_running_loop().create_task(self._publish(payload))
        except RuntimeError:  # no event loop: nobody to announce to from here
            log.warning("identity change not announced (no event loop)")
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, payload: str) -> None:
        try:
            await asyncio.wait_for(
                self.redis.publish(self.channel, payload), ANNOUNCE_TIMEOUT_SECONDS
            )
        except Exception as error:
            # Committed all the same: the others see it when their entries expire.
            log.warning("identity change not announced (%s)", type(error).__name__)

    async def flush(self) -> None:
        """Wait for announcements still under way (a CLI before it exits)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def listen(self, deliver: Listener, stopping: asyncio.Event) -> None:
        """Until `stopping`: the other processes' changes to `deliver`, and everyone whenever
        the channel is (re)subscribed."""
        while not stopping.is_set():
            try:
                await self._listen(deliver, stopping)
            except Exception as error:
                log.warning("identity changes: channel lost (%s); listening again", error)
                await _pause(stopping, RELISTEN_SECONDS)

    async def _listen(self, deliver: Listener, stopping: asyncio.Event) -> None:
        pubsub = self.redis.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            while not stopping.is_set():
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    self._received(message, deliver)
        finally:
            await pubsub.aclose()

    def _received(self, message: dict[str, Any], deliver: Listener) -> None:
        if message["type"] == "subscribe":
            # The first subscription and every one redis-py makes again after a reconnect.
            deliver(None)
            self.subscribed.set()
            return
        if message["type"] != "message":
            return
        _hear(message["data"], self.origin, deliver)


async def _pause(stopping: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)


@asynccontextmanager
async def announced(
    redis_url: str | None, channel: str = CHANNEL, database_url: str | None = None
) -> AsyncIterator[None]:
    """This process's identity changes announced to the bot processes while inside (the CLI):
    on Redis when there is one, else through PostgreSQL; with neither (SQLite), there is no
    other process to announce to that could hear it."""
    if not redis_url:
        if database_url and PostgresChanges.serves(database_url):
            undo = PostgresChanges(database_url, channel).install()
            try:
                yield
            finally:
                undo()
            return
        yield
        return
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    announcer = RedisChanges(redis, channel)
    undo = announcer.install()
    try:
        yield
    finally:
        undo()
        await announcer.flush()
        await redis.aclose()


class PostgresChanges:
    """Identity changes between processes over PostgreSQL's LISTEN/NOTIFY, for a deployment of
    PostgreSQL without Redis: the same promises as RedisChanges. The NOTIFY is sent inside the
    transaction that made the change (after each flush that found one), so the others hear it
    exactly when it is committed and never when it is rolled back; `listen()` keeps one
    connection of its own on LISTEN and forgets everything each time it (re)connects.
    Behind PgBouncer in transaction mode LISTEN does not work: use Redis there."""

    def __init__(self, database_url: str, channel: str = CHANNEL) -> None:
        self.dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        # NOTIFY's channel is an identifier: letters, digits and underscores only.
        self.channel = "".join(c if c.isalnum() else "_" for c in channel)[:63]
        self.origin = uuid.uuid4().hex
        self.subscribed = asyncio.Event()
        self._lost_said = False

    @staticmethod
    def serves(database_url: str) -> bool:
        return database_url.startswith("postgresql")

    def install(self) -> Callable[[], None]:
        _install()
        _within.append(self)
        return lambda: _within.remove(self) if self in _within else None

    def notify_within(self, session: Session, changed: Changed) -> None:
        if session.get_bind().dialect.name != "postgresql":
            return
        payload = _announcement(self.origin, changed)
        if len(payload) > NOTIFY_MOST_BYTES:  # NOTIFY's limit: say "everyone" instead
            payload = _announcement(self.origin, None)
        session.connection().execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": self.channel, "payload": payload},
        )

    async def flush(self) -> None:
        return None  # sent with the commit itself

    async def listen(self, deliver: Listener, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await self._listen(deliver, stopping)
            except Exception as error:
                # Said once per loss, not at every try while the database is away.
                if self.subscribed.is_set() or not self._lost_said:
                    log.warning(
                        "identity changes: LISTEN lost (%s); listening again",
                        type(error).__name__,
                    )
                    self._lost_said = True
            self.subscribed.clear()
            await _pause(stopping, RELISTEN_SECONDS)

    async def _listen(self, deliver: Listener, stopping: asyncio.Event) -> None:
        import asyncpg

        connection = await asyncpg.connect(
            self.dsn, server_settings={"application_name": LISTEN_APPLICATION_NAME}
        )
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            await connection.add_listener(
                self.channel, lambda *args: self._received(args[-1], deliver)
            )
            deliver(None)  # what was said before (or while cut off) is not known
            self.subscribed.set()
            self._lost_said = False
            while not (stopping.is_set() or lost.is_set() or connection.is_closed()):
                with suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=1.0)
                if not stopping.is_set():
                    await connection.execute("SELECT 1")  # a dead server shows here
        finally:
            with suppress(Exception):
                await connection.close(timeout=2)

    def _received(self, payload: str, deliver: Listener) -> None:
        _hear(payload, self.origin, deliver)


def _announcement(origin: str, changed: Changed) -> str:
    """What one process says to the others, on Redis or PostgreSQL alike."""
    people = None if changed is None else sorted(changed)
    return json.dumps({"from": origin, "people": people})


def _hear(payload: str | bytes, origin: str, deliver: Listener) -> None:
    """Another process's announcement to `deliver` (this process's own are skipped); one that
    cannot be read makes everyone forgotten."""
    try:
        said = json.loads(payload)
        if said["from"] == origin:
            return
        people = said["people"]
        deliver(None if people is None else frozenset(int(p) for p in people))
    except (ValueError, KeyError, TypeError):
        log.warning("identity changes: an unreadable announcement; forgetting everyone")
        deliver(None)
