"""Who is behind a chat is kept a few seconds: no statement for a known chat within the
minute, and every change of who they are — committed by any session of the process — is seen
by the next update at once; what the process cannot see is seen after the cache's seconds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.principal import Principal
from bot.services import people
from bot.services.identity_cache import IdentityCache
from storage.db import make_session_factory
from storage.models import Person, RoleGrant
from storage.uow import UnitOfWork
from tests.support.factories import make_map, make_person

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def who(
    uow: UnitOfWork, cache: IdentityCache, user: int, now: datetime = START
) -> people.Identity:
    return await people.identify(
        uow,
        channel=Channel.WEB,
        external_id=str(user),
        chat_id=str(user),
        display_name="",
        fallback_locale="zh",
        now=now,
        cache=cache,
    )


async def test_a_known_chat_within_the_minute_costs_no_statement(
    uow: UnitOfWork, engine: AsyncEngine
) -> None:
    w = await make_map(uow)
    await make_person(uow, "王阿姨", community=w.community_a1, web_id=1)
    cache = IdentityCache(5.0, clock=Clock())
    first = await who(uow, cache, 1)
    with statements(engine) as seen:
        again = await who(uow, cache, 1, START + timedelta(seconds=30))
    assert seen == [] and again == first
    with statements(engine) as seen:
        await who(uow, cache, 1, START + timedelta(seconds=61))
    assert seen, "a minute later last_seen_at is written again"


async def test_a_grant_or_a_language_committed_by_any_session_is_seen_at_once(
    uow: UnitOfWork, engine: AsyncEngine
) -> None:
    w = await make_map(uow)
    person = await make_person(uow, "王阿姨", community=w.community_a1, web_id=1)
    cache = IdentityCache(60.0, clock=Clock())
    assert not (await who(uow, cache, 1)).principal.has_role(Role.VOLUNTEER)
    # Another session factory on the same database: a test's, a CLI's, another service's.
    other = UnitOfWork(make_session_factory(engine))
    async with other:
        await other.grants.add(
            RoleGrant(
                person_id=person,
                role=Role.VOLUNTEER,
                scope_level=ScopeLevel.COMMUNITY,
                community_id=w.community_a1,
            )
        )
        await other.commit()
    assert (await who(uow, cache, 1)).principal.has_role(Role.VOLUNTEER)
    principal = (await who(uow, cache, 1)).principal
    await people.set_locale(other, principal, locale="en")
    assert (await who(uow, cache, 1)).principal.locale == "en"


async def test_a_moved_community_or_a_bulk_update_of_people_drops_everyone(
    uow: UnitOfWork, engine: AsyncEngine
) -> None:
    w = await make_map(uow)
    for user in (1, 2):
        await make_person(uow, f"居民{user}", community=w.community_a1, web_id=user)
    cache = IdentityCache(60.0, clock=Clock())
    for user in (1, 2):
        await who(uow, cache, user)
    async with uow:
        community = await uow.places.community(w.community_a1)
        assert community is not None
        community.street_id = w.street_b
        await uow.commit()
    for user in (1, 2):
        assert (await who(uow, cache, user)).principal.home.street_id == w.street_b  # type: ignore[union-attr]
    async with uow:
        await uow.session.execute(update(Person).values(locale="en"))
        await uow.commit()
    for user in (1, 2):
        assert (await who(uow, cache, user)).principal.locale == "en"
    unchanged = await make_person(uow, "别人", community=w.community_b1)
    with statements(engine) as seen:
        await who(uow, cache, 1)
    assert seen == [], f"a new person elsewhere ({unchanged}) changes nobody cached"


async def test_a_raw_statement_is_seen_after_the_caches_seconds(
    uow: UnitOfWork, engine: AsyncEngine
) -> None:
    w = await make_map(uow)
    await make_person(uow, "王阿姨", community=w.community_a1, web_id=1, locale="zh")
    clock = Clock()
    cache = IdentityCache(5.0, clock=clock)
    await who(uow, cache, 1)
    async with engine.begin() as connection:  # outside any ORM session: not seen at once
        await connection.execute(update(Person).values(locale="en"))
    assert (await who(uow, cache, 1)).principal.locale == "zh"
    clock.now += 5.0
    assert (await who(uow, cache, 1)).principal.locale == "en"


def identity(person: int) -> people.Identity:
    return people.Identity(Principal(person, "zh"), language_chosen=True, onboarded=True)


def test_a_read_that_raced_with_a_change_of_its_person_is_not_kept() -> None:
    cache = IdentityCache(5.0, clock=Clock())
    key = ("web", "1", "zh", False)
    ticket = cache.ticket()
    cache.changed(frozenset({7}))  # committed while the read was under way
    cache.put(key, identity(7), chat_id="1", last_seen_at=START, ticket=ticket)
    assert cache.get(key) is None
    cache.put(key, identity(7), chat_id="1", last_seen_at=START, ticket=cache.ticket())
    assert cache.get(key) is not None
    cache.changed(frozenset({8}))  # somebody else
    assert cache.get(key) is not None
    cache.changed(None)  # a place: anyone
    assert cache.get(key) is None
    cache.close()


def test_entries_expire_and_the_oldest_go_first_when_full() -> None:
    clock = Clock()
    cache = IdentityCache(5.0, size=2, clock=clock)
    for n in (1, 2, 3):
        cache.put(
            ("web", str(n), "zh", False),
            identity(n),
            chat_id=str(n),
            last_seen_at=START,
            ticket=cache.ticket(),
        )
    assert cache.get(("web", "1", "zh", False)) is None
    assert cache.get(("web", "3", "zh", False)) is not None
    clock.now += 5.0
    assert cache.get(("web", "3", "zh", False)) is None
    off = IdentityCache(0.0)
    off.put(("web", "1", "zh", False), identity(1), chat_id="1", last_seen_at=START, ticket=1)
    assert off.get(("web", "1", "zh", False)) is None
