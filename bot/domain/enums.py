"""The vocabulary of the five-actor store, shared by every layer."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    TELEGRAM = "telegram"
    WEB = "web"
    WECHAT = "wechat"
    # A city app acting for its own users over the HTTP API (external id "<client>:<user>").
    APP = "app"


class CommunityKind(StrEnum):
    URBAN = "urban"
    RURAL = "rural"


class ScopeLevel(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"


class Role(StrEnum):
    RESIDENT = "resident"
    VOLUNTEER = "volunteer"
    SOCIAL_WORKER = "social_worker"
    COMMUNITY_WORKER = "community_worker"
    GRID_WORKER = "grid_worker"
    ORG_MEMBER = "org_member"
    ORG_ADMIN = "org_admin"
    PARTY_REVIEWER = "party_reviewer"
    STREET_ADMIN = "street_admin"
    DISTRICT_ADMIN = "district_admin"


# The narrowest scope a role can be granted at (a street admin needs a street, and so on).
ROLE_SCOPE: dict[Role, ScopeLevel] = {
    Role.RESIDENT: ScopeLevel.COMMUNITY,
    Role.VOLUNTEER: ScopeLevel.COMMUNITY,
    Role.SOCIAL_WORKER: ScopeLevel.COMMUNITY,
    Role.COMMUNITY_WORKER: ScopeLevel.COMMUNITY,
    Role.GRID_WORKER: ScopeLevel.COMMUNITY,
    Role.ORG_MEMBER: ScopeLevel.COMMUNITY,
    Role.ORG_ADMIN: ScopeLevel.COMMUNITY,
    Role.PARTY_REVIEWER: ScopeLevel.COMMUNITY,
    Role.STREET_ADMIN: ScopeLevel.STREET,
    Role.DISTRICT_ADMIN: ScopeLevel.DISTRICT,
}

# Roles that act for an organisation carry its id.
ORGANISATION_ROLES = frozenset({Role.ORG_MEMBER, Role.ORG_ADMIN})

# Who may hand out roles: admins grant the roles below their own level.
GRANTABLE_BY: dict[Role, frozenset[Role]] = {
    Role.DISTRICT_ADMIN: frozenset(Role) - {Role.RESIDENT},
    Role.STREET_ADMIN: frozenset(Role) - {Role.RESIDENT, Role.DISTRICT_ADMIN, Role.STREET_ADMIN},
}

WORKER_ROLES = frozenset(
    {
        Role.SOCIAL_WORKER,
        Role.COMMUNITY_WORKER,
        Role.GRID_WORKER,
        Role.STREET_ADMIN,
        Role.DISTRICT_ADMIN,
    }
)


class OrganisationType(StrEnum):
    COMMUNITY_SOCIAL_ORG = "community_social_org"
    SOCIAL_WORK_AGENCY = "social_work_agency"
    CHARITY = "charity"
    COMMUNITY_FOUNDATION = "community_foundation"


class RegistrationStatus(StrEnum):
    REGISTERED = "registered"  # 登记
    FILED = "filed"  # 备案
    NONE = "none"
