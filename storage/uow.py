"""Unit of work: one transaction, rolled back unless the service commits."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, overload

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session

from storage.repositories.api_clients import ApiClientsRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.broadcasts import BroadcastsRepository
from storage.repositories.competitions import CompetitionsRepository
from storage.repositories.consultations import ConsultationsRepository
from storage.repositories.dashboards import DashboardsRepository
from storage.repositories.groups import GroupsRepository
from storage.repositories.kpis import KpiRepository
from storage.repositories.matching import MatchingRepository
from storage.repositories.needs import NeedsRepository
from storage.repositories.organisations import OrganisationsRepository
from storage.repositories.people import GrantsRepository, PeopleRepository
from storage.repositories.places import PlacesRepository
from storage.repositories.privacy import PrivacyRepository
from storage.repositories.projects import (
    FundsRepository,
    OrgDirectoryRepository,
    ProjectsRepository,
    ResourcesRepository,
)
from storage.repositories.purchases import PurchasesRepository
from storage.repositories.records import (
    CertificatesRepository,
    LedgerRepository,
    PointsRepository,
    RecordsRepository,
    RewardsRepository,
    SpotChecksRepository,
    TransfersRepository,
)
from storage.repositories.shifts import ShiftsRepository
from storage.repositories.social_work import SocialWorkRepository
from storage.repositories.surveys import SurveysRepository
from storage.repositories.volunteers import VolunteersRepository
from storage.repositories.webhooks import WebhooksRepository
from storage.repositories.wecom import WecomRepository

R = TypeVar("R")


class Repository(Generic[R]):
    """A repository of the unit of work, made on first use in an entry: most use cases touch
    two or three of the two dozen, and each update used to build them all."""

    def __init__(self, make: Callable[[AsyncSession], R]) -> None:
        self.make = make
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, uow: None, owner: type) -> Repository[R]: ...
    @overload
    def __get__(self, uow: UnitOfWork, owner: type) -> R: ...
    def __get__(self, uow: UnitOfWork | None, owner: type) -> Repository[R] | R:
        if uow is None:
            return self
        repository = self.make(uow.session)
        uow.__dict__[self.name] = repository  # later reads in this entry skip the descriptor
        return repository


class UnitOfWork:
    """Enter it once per use case (`async with uow:`); each entry opens a fresh session.

    The connection goes back to the pool on exit, so no transaction stays open while the
    handler talks to the chat platform.
    """

    session: AsyncSession
    places = Repository(PlacesRepository)
    people = Repository(PeopleRepository)
    grants = Repository(GrantsRepository)
    organisations = Repository(OrganisationsRepository)
    audit = Repository(AuditRepository)
    needs = Repository(NeedsRepository)
    surveys = Repository(SurveysRepository)
    volunteers = Repository(VolunteersRepository)
    shifts = Repository(ShiftsRepository)
    records = Repository(RecordsRepository)
    ledger = Repository(LedgerRepository)
    points = Repository(PointsRepository)
    rewards = Repository(RewardsRepository)
    certificates = Repository(CertificatesRepository)
    spot_checks = Repository(SpotChecksRepository)
    transfers = Repository(TransfersRepository)
    org_directory = Repository(OrgDirectoryRepository)
    projects = Repository(ProjectsRepository)
    resources = Repository(ResourcesRepository)
    funds = Repository(FundsRepository)
    matching = Repository(MatchingRepository)
    broadcasts = Repository(BroadcastsRepository)
    groups = Repository(GroupsRepository)
    consultations = Repository(ConsultationsRepository)
    kpis = Repository(KpiRepository)
    privacy = Repository(PrivacyRepository)
    wecom = Repository(WecomRepository)
    api_clients = Repository(ApiClientsRepository)
    social_work = Repository(SocialWorkRepository)
    webhooks = Repository(WebhooksRepository)
    competitions = Repository(CompetitionsRepository)
    purchases = Repository(PurchasesRepository)
    dashboards = Repository(DashboardsRepository)

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._reads_only = False

    def reading(self) -> Self:
        """The next entry reads only (`async with uow.reading():`): on PostgreSQL its
        statements run without BEGIN and ROLLBACK, two of a one-query screen's three round
        trips. Each statement still sees what was committed when it began, as READ COMMITTED
        gives inside a transaction too. A write in it is refused, never committed by itself."""
        self._reads_only = True
        return self

    async def __aenter__(self) -> Self:
        if self._reads_only:
            self.session = _reading_factory(self._session_factory)()
        else:
            self.session = self._session_factory()
        for name in _REPOSITORIES:  # the last entry's, bound to its closed session
            self.__dict__.pop(name, None)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._reads_only = False
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()


_REPOSITORIES = tuple(
    name for name, value in vars(UnitOfWork).items() if isinstance(value, Repository)
)


class WriteInReadingUnitOfWork(RuntimeError):
    """A statement that changes data, sent inside `uow.reading()`: a bug, not user input."""


class ReadingSession(Session):
    """The session of `uow.reading()`: SELECTs only."""


@event.listens_for(ReadingSession, "do_orm_execute")
def _refuse_writes(state: ORMExecuteState) -> None:
    if not state.is_select:
        raise WriteInReadingUnitOfWork(str(state.statement)[:80])


@event.listens_for(ReadingSession, "before_flush")
def _refuse_flushes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise WriteInReadingUnitOfWork("a flush of changed objects")


_reading_factories: weakref.WeakKeyDictionary[
    async_sessionmaker[AsyncSession], async_sessionmaker[AsyncSession]
] = weakref.WeakKeyDictionary()


def _reading_factory(
    factory: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    reading = _reading_factories.get(factory)
    if reading is None:
        engine: AsyncEngine = factory.kw["bind"]
        if engine.dialect.name == "postgresql":
            # The same pool: each connection is switched to autocommit while checked out.
            engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        # SQLite keeps its transaction (BEGIN IMMEDIATE on its one connection, db.py).
        options = {k: v for k, v in factory.kw.items() if k != "bind"}
        reading = async_sessionmaker(engine, sync_session_class=ReadingSession, **options)
        _reading_factories[factory] = reading
    return reading
