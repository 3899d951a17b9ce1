"""Unit of work: one transaction, rolled back unless the service commits."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Generic, Self, TypeVar, overload

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.api_clients import ApiClientsRepository
from storage.broadcasts import BroadcastsRepository
from storage.competitions import CompetitionsRepository
from storage.consultations import ConsultationsRepository
from storage.dashboards import DashboardsRepository
from storage.groups import GroupsRepository
from storage.kpis import KpiRepository
from storage.matching import MatchingRepository
from storage.privacy import PrivacyRepository
from storage.projects import (
    FundsRepository,
    OrgDirectoryRepository,
    ProjectsRepository,
    ResourcesRepository,
)
from storage.purchases import PurchasesRepository
from storage.records import (
    CertificatesRepository,
    LedgerRepository,
    PointsRepository,
    RecordsRepository,
    RewardsRepository,
    SpotChecksRepository,
    TransfersRepository,
)
from storage.repositories import (
    AuditRepository,
    GrantsRepository,
    NeedsRepository,
    OrganisationsRepository,
    PeopleRepository,
    PlacesRepository,
    ShiftsRepository,
    SurveysRepository,
    VolunteersRepository,
)
from storage.social_work import SocialWorkRepository
from storage.webhooks import WebhooksRepository
from storage.wecom import WecomRepository

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

    async def __aenter__(self) -> Self:
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
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()


_REPOSITORIES = tuple(
    name for name, value in vars(UnitOfWork).items() if isinstance(value, Repository)
)
