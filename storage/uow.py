"""Unit of work: one transaction, rolled back unless the service commits."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.api_clients import ApiClientsRepository
from storage.broadcasts import BroadcastsRepository
from storage.competitions import CompetitionsRepository
from storage.consultations import ConsultationsRepository
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
from storage.wecom import WecomRepository


class UnitOfWork:
    """Enter it once per use case (`async with uow:`); each entry opens a fresh session.

    The connection goes back to the pool on exit, so no transaction stays open while the
    handler talks to the chat platform.
    """

    session: AsyncSession
    places: PlacesRepository
    people: PeopleRepository
    grants: GrantsRepository
    organisations: OrganisationsRepository
    audit: AuditRepository
    needs: NeedsRepository
    surveys: SurveysRepository
    volunteers: VolunteersRepository
    shifts: ShiftsRepository
    records: RecordsRepository
    ledger: LedgerRepository
    points: PointsRepository
    rewards: RewardsRepository
    certificates: CertificatesRepository
    spot_checks: SpotChecksRepository
    transfers: TransfersRepository
    org_directory: OrgDirectoryRepository
    projects: ProjectsRepository
    resources: ResourcesRepository
    funds: FundsRepository
    matching: MatchingRepository
    broadcasts: BroadcastsRepository
    groups: GroupsRepository
    consultations: ConsultationsRepository
    kpis: KpiRepository
    privacy: PrivacyRepository
    wecom: WecomRepository
    api_clients: ApiClientsRepository
    competitions: CompetitionsRepository
    purchases: PurchasesRepository

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def __aenter__(self) -> Self:
        self.session = self._session_factory()
        self.places = PlacesRepository(self.session)
        self.people = PeopleRepository(self.session)
        self.grants = GrantsRepository(self.session)
        self.organisations = OrganisationsRepository(self.session)
        self.audit = AuditRepository(self.session)
        self.needs = NeedsRepository(self.session)
        self.surveys = SurveysRepository(self.session)
        self.volunteers = VolunteersRepository(self.session)
        self.shifts = ShiftsRepository(self.session)
        self.records = RecordsRepository(self.session)
        self.ledger = LedgerRepository(self.session)
        self.points = PointsRepository(self.session)
        self.rewards = RewardsRepository(self.session)
        self.certificates = CertificatesRepository(self.session)
        self.spot_checks = SpotChecksRepository(self.session)
        self.transfers = TransfersRepository(self.session)
        self.org_directory = OrgDirectoryRepository(self.session)
        self.projects = ProjectsRepository(self.session)
        self.resources = ResourcesRepository(self.session)
        self.funds = FundsRepository(self.session)
        self.broadcasts = BroadcastsRepository(self.session)
        self.groups = GroupsRepository(self.session)
        self.consultations = ConsultationsRepository(self.session)
        self.kpis = KpiRepository(self.session)
        self.matching = MatchingRepository(self.session)
        self.privacy = PrivacyRepository(self.session)
        self.wecom = WecomRepository(self.session)
        self.api_clients = ApiClientsRepository(self.session)
        self.competitions = CompetitionsRepository(self.session)
        self.purchases = PurchasesRepository(self.session)
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
