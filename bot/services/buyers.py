"""The units that open calls for proposals and buy services — a street or a district — and who
acts for them (bot.domain.policy.BUYING_ROLES). Shared by competitions and purchases."""

from __future__ import annotations

from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import InvalidInput, NotFound, PermissionDenied
from bot.domain.policy import BUYING_ROLES
from bot.domain.principal import Grant, Place, Principal
from storage.uow import UnitOfWork

Unit = tuple[ScopeLevel, int]


async def parents(uow: UnitOfWork, level: ScopeLevel, scope_id: int) -> Place:
    """The unit's district (and street); NotFound for an unknown one."""
    if level is ScopeLevel.STREET:
        street = await uow.places.street(scope_id)
        if street is None:
            raise NotFound("street", scope_id)
        return Place(0, street.id, street.district_id)
    if level is ScopeLevel.DISTRICT:
        if await uow.places.district(scope_id) is None:
            raise NotFound("district", scope_id)
        return Place(0, 0, scope_id)
    raise InvalidInput("level", level.value)


async def acts_for(uow: UnitOfWork, principal: Principal, level: ScopeLevel, scope_id: int) -> bool:
    """Does the principal act for this street or district (a community worker never does)?"""
    roles = BUYING_ROLES.get(level)
    if roles is None:
        raise InvalidInput("level", level.value)
    above = await parents(uow, level, scope_id)
    if principal.is_superadmin:
        return True
    return any(g.role in roles and g.covers_scope(level, scope_id, above) for g in principal.grants)


async def require(uow: UnitOfWork, principal: Principal, level: ScopeLevel, scope_id: int) -> None:
    if not await acts_for(uow, principal, level, scope_id):
        raise PermissionDenied()


async def communities(uow: UnitOfWork, level: ScopeLevel, scope_id: int) -> list[int]:
    """The communities of a street or a district."""
    unit = Principal(0, "zh", grants=(Grant(Role.DISTRICT_ADMIN, level, scope_id),))
    return await uow.places.communities_covered(unit, (Role.DISTRICT_ADMIN,))


def units_of(principal: Principal) -> list[Unit]:
    """The streets and districts the principal acts for (as granted)."""
    return [
        (g.level, g.scope_id)
        for g in principal.grants
        if g.level in BUYING_ROLES and g.role in BUYING_ROLES[g.level]
    ]
