"""Who may do what: the role sets the services check (with a principal's scopes) before they act.

One place for them, so a service does not import another service just to learn who may triage,
and a handler shows a menu to the same people the service lets through."""

from __future__ import annotations

from bot.domain.enums import ORGANISATION_ROLES, Role, ScopeLevel

# Who may triage, assign and close needs, review volunteers, and act as a worker of a community.
TRIAGE_ROLES = (
    Role.COMMUNITY_WORKER,
    Role.GRID_WORKER,
    Role.SOCIAL_WORKER,
    Role.STREET_ADMIN,
    Role.DISTRICT_ADMIN,
)

# Who may see the indicators of the units they cover, and who may open the dashboard page.
KPI_VIEW_ROLES = tuple(dict.fromkeys((*TRIAGE_ROLES, Role.STREET_ADMIN, Role.DISTRICT_ADMIN)))
DASHBOARD_ROLES = (Role.STREET_ADMIN, Role.DISTRICT_ADMIN)

# Who may declare an emergency for a community, and for a whole street.
EMERGENCY_COMMUNITY_ROLES = (Role.COMMUNITY_WORKER, Role.STREET_ADMIN, Role.DISTRICT_ADMIN)
EMERGENCY_STREET_ROLES = (Role.STREET_ADMIN, Role.DISTRICT_ADMIN)

# Who may link a group of a community they cover (grid workers run the building groups).
GROUP_LINK_ROLES = (Role.COMMUNITY_WORKER, Role.GRID_WORKER, Role.STREET_ADMIN, Role.DISTRICT_ADMIN)

# Who may verify organisations, approve projects, run consultations.
VERIFYING_ROLES = (Role.COMMUNITY_WORKER, Role.STREET_ADMIN, Role.DISTRICT_ADMIN)
APPROVING_ROLES = (Role.COMMUNITY_WORKER, Role.STREET_ADMIN, Role.DISTRICT_ADMIN)
CONSULTATION_ROLES = (Role.COMMUNITY_WORKER, Role.STREET_ADMIN, Role.DISTRICT_ADMIN)

# Who may broadcast to the communities they cover; organisation admins only for their projects.
BROADCAST_ROLES = (Role.COMMUNITY_WORKER, Role.STREET_ADMIN, Role.DISTRICT_ADMIN)

# Who may post resources, and stock rewards: workers and organisations.
POSTING_ROLES = (*TRIAGE_ROLES, *ORGANISATION_ROLES)
STOCKING_ROLES = (*TRIAGE_ROLES, *ORGANISATION_ROLES)

# A city app (HTTP API) reads the lists, shifts and indicators of its area as the
# least-privileged worker of that area would in chat. The API hands this principal only to
# read services; whatever it does for a person, it does with that person's own principal.
APP_AREA_ROLE = Role.GRID_WORKER
AREA_READ_ROLES = TRIAGE_ROLES

# Who may open a call for proposals or buy a service: the admins of a street or a district
# (a call of a street by its street admins or the district's; of a district by district admins).
BUYING_ROLES = {
    ScopeLevel.STREET: (Role.STREET_ADMIN, Role.DISTRICT_ADMIN),
    ScopeLevel.DISTRICT: (Role.DISTRICT_ADMIN,),
}
