"""Who is acting: a person with scoped role grants. Authorisation rules live here, pure."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.enums import GRANTABLE_BY, Role, ScopeLevel


@dataclass(frozen=True, slots=True)
class Place:
    """A community with the ids of the units above it."""

    community_id: int
    street_id: int
    district_id: int


@dataclass(frozen=True, slots=True)
class Grant:
    role: Role
    level: ScopeLevel
    scope_id: int
    organisation_id: int | None = None
    certified: bool = False

    def covers(self, place: Place) -> bool:
        if self.level is ScopeLevel.DISTRICT:
            return self.scope_id == place.district_id
        if self.level is ScopeLevel.STREET:
            return self.scope_id == place.street_id
        return self.scope_id == place.community_id

    def covers_scope(self, level: ScopeLevel, scope_id: int, parents: Place | None) -> bool:
        """Does this grant reach a whole unit (a street, say) given that unit's parents?"""
        if self.level is level:
            return self.scope_id == scope_id
        if parents is None:
            return False
        if self.level is ScopeLevel.DISTRICT:
            return self.scope_id == parents.district_id
        if self.level is ScopeLevel.STREET and level is ScopeLevel.COMMUNITY:
            return self.scope_id == parents.street_id
        return False


@dataclass(frozen=True, slots=True)
class Principal:
    person_id: int
    locale: str
    home: Place | None = None
    grants: tuple[Grant, ...] = ()
    is_superadmin: bool = False
    roles: frozenset[Role] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(g.role for g in self.grants))

    def has_role(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)

    def can_act_in(self, place: Place, *roles: Role) -> bool:
        """True if one of `roles` is granted over `place` (superadmins act everywhere)."""
        if self.is_superadmin:
            return True
        return any(g.role in roles and g.covers(place) for g in self.grants)

    def can_grant(
        self, role: Role, level: ScopeLevel, scope_id: int, parents: Place | None
    ) -> bool:
        if self.is_superadmin:
            return True
        return any(
            role in GRANTABLE_BY.get(g.role, frozenset())
            and g.covers_scope(level, scope_id, parents)
            for g in self.grants
        )

    @property
    def is_admin(self) -> bool:
        return self.is_superadmin or self.has_role(Role.DISTRICT_ADMIN, Role.STREET_ADMIN)
