"""`uow.reading()`: a unit of work that reads only. On PostgreSQL each statement runs on its
own (no BEGIN/ROLLBACK round trips); a write inside it is refused on every database, and
nothing of it is stored; the unit of work's next entry is an ordinary one again."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update

from storage.models import Person
from storage.uow import UnitOfWork, WriteInReadingUnitOfWork
from tests.support.factories import make_map, make_person


async def test_a_reading_unit_of_work_reads_what_is_committed(uow: UnitOfWork) -> None:
    w = await make_map(uow)
    person = await make_person(uow, "王阿姨", community=w.community_a1)
    async with uow.reading():
        found = await uow.people.get(person)
        assert found is not None and found.display_name == "王阿姨"


async def test_a_write_in_a_reading_unit_of_work_is_refused_and_not_stored(
    uow: UnitOfWork,
) -> None:
    w = await make_map(uow)
    person = await make_person(uow, "王阿姨", community=w.community_a1)
    with pytest.raises(WriteInReadingUnitOfWork):
        async with uow.reading():
            uow.session.add(Person(display_name="李大爷", community_id=w.community_a1))
            await uow.session.flush()
    with pytest.raises(WriteInReadingUnitOfWork):
        async with uow.reading():
            renamed = update(Person).where(Person.id == person).values(display_name="X")
            await uow.session.execute(renamed)
    async with uow:
        names = (await uow.session.execute(text("SELECT display_name FROM people"))).scalars()
        assert list(names) == ["王阿姨"]
        # The next entry is an ordinary unit of work: it writes and commits.
        await uow.people.add_person(Person(display_name="李大爷", community_id=w.community_a1))
        await uow.commit()
    async with uow:
        assert len(await uow.people.all(10)) == 2


async def test_on_postgresql_each_read_is_a_transaction_of_its_own(
    postgres_uow: UnitOfWork,
) -> None:
    """After a read, the server holds no transaction open for a reading unit of work (no
    BEGIN was sent); an ordinary one's is open until its end. (PostgreSQL only: SQLite keeps
    its transaction, one connection with BEGIN IMMEDIATE.)"""
    uow = postgres_uow

    async def in_transaction() -> bool:
        await uow.session.execute(select(func.now()))
        raw = await (await uow.session.connection()).get_raw_connection()
        return bool(raw.driver_connection.is_in_transaction())

    async with uow.reading():
        assert await in_transaction() is False
    async with uow:
        assert await in_transaction() is True
