"""Repositories: the only place that writes queries, one module per feature. They return ORM
objects to services, which turn them into frozen results before anything leaves the unit of work.

This package re-exports the repositories of the unit of work. The two stores the composition
root wires by itself (`replays`, `webchat`) are imported from their modules: the web chat one
depends on `bot.channels`, which nothing that reaches a repository through the unit of work
may import."""

from storage.repositories.api_clients import ApiClientsRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.broadcasts import BroadcastsRepository
from storage.repositories.competitions import CompetitionsRepository
from storage.repositories.consultations import ConsultationsRepository
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

__all__ = [
    "ApiClientsRepository",
    "AuditRepository",
    "BroadcastsRepository",
    "CertificatesRepository",
    "CompetitionsRepository",
    "ConsultationsRepository",
    "FundsRepository",
    "GrantsRepository",
    "GroupsRepository",
    "KpiRepository",
    "LedgerRepository",
    "MatchingRepository",
    "NeedsRepository",
    "OrgDirectoryRepository",
    "OrganisationsRepository",
    "PeopleRepository",
    "PlacesRepository",
    "PointsRepository",
    "PrivacyRepository",
    "ProjectsRepository",
    "PurchasesRepository",
    "RecordsRepository",
    "ResourcesRepository",
    "RewardsRepository",
    "ShiftsRepository",
    "SocialWorkRepository",
    "SpotChecksRepository",
    "SurveysRepository",
    "TransfersRepository",
    "VolunteersRepository",
    "WebhooksRepository",
    "WecomRepository",
]
