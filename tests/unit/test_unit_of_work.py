"""The unit of work makes a repository on first use in an entry, bound to that entry's
session: an update that touches two repositories no longer builds two dozen."""

from __future__ import annotations

from storage.repositories import PeopleRepository
from storage.uow import UnitOfWork


async def test_repositories_are_made_on_first_use_and_bound_to_the_entrys_session(
    uow: UnitOfWork,
) -> None:
    async with uow:
        assert "people" not in vars(uow) and "needs" not in vars(uow)
        first = uow.people
        assert isinstance(first, PeopleRepository) and first.session is uow.session
        assert uow.people is first  # made once per entry
        assert "needs" not in vars(uow)
    async with uow:
        assert "people" not in vars(uow)
        assert uow.people is not first and uow.people.session is uow.session
