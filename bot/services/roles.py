"""Handing out and taking back roles. Only admins above the scope may do it."""

from __future__ import annotations

from bot.domain.enums import GRANTABLE_BY, ORGANISATION_ROLES, ROLE_SCOPE, Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.principal import Place, Principal
from bot.services.people import grant_view
from bot.services.views import GrantView
from storage.models import RoleGrant
from storage.types import utcnow
from storage.uow import UnitOfWork

SYSTEM = Principal(person_id=0, locale="zh", is_superadmin=True)


async def _parents(uow: UnitOfWork, level: ScopeLevel, scope_id: int) -> Place:
    """The district and street above a scope (for scope checks)."""
    if level is ScopeLevel.DISTRICT:
        if await uow.places.district(scope_id) is None:
            raise NotFound("district", scope_id)
        return Place(community_id=0, street_id=0, district_id=scope_id)
    if level is ScopeLevel.STREET:
        street = await uow.places.street(scope_id)
        if street is None:
            raise NotFound("street", scope_id)
        return Place(community_id=0, street_id=street.id, district_id=street.district_id)
    community = await uow.places.community(scope_id)
    if community is None:
        raise NotFound("community", scope_id)
    return Place(community.id, community.street_id, community.street.district_id)


def _check_level(role: Role, level: ScopeLevel) -> None:
    order = [ScopeLevel.COMMUNITY, ScopeLevel.STREET, ScopeLevel.DISTRICT]
    if order.index(level) < order.index(ROLE_SCOPE[role]):
        raise InvalidInput("scope", f"{role.value} needs a {ROLE_SCOPE[role].value} scope")


async def grant_role(
    uow: UnitOfWork,
    principal: Principal,
    *,
    person_id: int,
    role: Role,
    level: ScopeLevel,
    scope_id: int,
    organisation_id: int | None = None,
    certified: bool = False,
) -> GrantView:
    _check_level(role, level)
    if (role in ORGANISATION_ROLES) != (organisation_id is not None):
        raise InvalidInput("organisation", "organisation roles, and only they, name one")
    async with uow:
        parents = await _parents(uow, level, scope_id)
        if not principal.can_grant(role, level, scope_id, parents):
            raise PermissionDenied()
        await _check_grantee(uow, person_id, organisation_id)
        if await uow.grants.find_active(person_id, role, level, scope_id, organisation_id):
            raise Conflict("already_granted")
        grant = await uow.grants.add(
            RoleGrant(
                person_id=person_id,
                role=role,
                scope_level=level,
                district_id=scope_id if level is ScopeLevel.DISTRICT else None,
                street_id=scope_id if level is ScopeLevel.STREET else None,
                community_id=scope_id if level is ScopeLevel.COMMUNITY else None,
                organisation_id=organisation_id,
                certified=certified and role is Role.SOCIAL_WORKER,
                granted_by=principal.person_id or None,
            )
        )
        _audit_grant(uow, principal, grant)
        view = await grant_view(uow, grant)
        await uow.commit()
        return view


async def _check_grantee(uow: UnitOfWork, person_id: int, organisation_id: int | None) -> None:
    """The person, and the organisation the role is held for, exist."""
    if await uow.people.get(person_id) is None:
        raise NotFound("person", person_id)
    if organisation_id is not None and await uow.organisations.get(organisation_id) is None:
        raise NotFound("organisation", organisation_id)


def _audit_grant(uow: UnitOfWork, principal: Principal, grant: RoleGrant) -> None:
    uow.audit.record(
        actor_id=principal.person_id or None,
        action="role.grant",
        entity="role_grant",
        entity_id=grant.id,
        details={
            "person": grant.person_id,
            "role": grant.role.value,
            "level": grant.scope_level.value,
            "scope": grant.scope_id,
            "organisation": grant.organisation_id,
        },
    )


async def revoke_role(uow: UnitOfWork, principal: Principal, *, grant_id: int) -> GrantView:
    async with uow:
        grant = await _revocable(uow, principal, grant_id)
        grant.revoked_at = utcnow()
        grant.revoked_by = principal.person_id or None
        uow.audit.record(
            actor_id=principal.person_id or None,
            action="role.revoke",
            entity="role_grant",
            entity_id=grant.id,
            details={"person": grant.person_id, "role": grant.role.value},
        )
        view = await grant_view(uow, grant)
        await uow.commit()
        return view


async def _revocable(uow: UnitOfWork, principal: Principal, grant_id: int) -> RoleGrant:
    """The active grant, if the principal could have granted it."""
    grant = await uow.grants.get(grant_id)
    if grant is None or grant.revoked_at is not None:
        raise NotFound("role_grant", grant_id)
    parents = await _parents(uow, grant.scope_level, grant.scope_id)
    if not principal.can_grant(grant.role, grant.scope_level, grant.scope_id, parents):
        raise PermissionDenied()
    return grant


def grantable_roles(principal: Principal) -> tuple[Role, ...]:
    """Roles this principal could grant somewhere (to build menus; the grant re-checks)."""
    if principal.is_superadmin:
        return tuple(r for r in Role if r is not Role.RESIDENT)
    allowed: set[Role] = set()
    for grant in principal.grants:
        allowed |= GRANTABLE_BY.get(grant.role, frozenset())
    return tuple(r for r in Role if r in allowed)
