"""People, their channel accounts and link codes, and their role grants."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BigInteger, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.principal import Place
from storage.models import ChannelAccount, LinkCode, Person, RoleGrant


class PeopleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def many(self, person_ids: Iterable[int]) -> dict[int, Person]:
        ids = sorted(set(person_ids))
        if not ids:
            return {}
        found = await self.session.scalars(select(Person).where(Person.id.in_(ids)))
        return {person.id: person for person in found}

    async def account(self, channel: Channel, external_id: str) -> ChannelAccount | None:
        query = select(ChannelAccount).where(
            ChannelAccount.channel == channel, ChannelAccount.external_id == external_id
        )
        return (await self.session.scalars(query)).one_or_none()

    async def accounts_of(self, person_id: int) -> Sequence[ChannelAccount]:
        query = (
            select(ChannelAccount)
            .where(ChannelAccount.person_id == person_id)
            .order_by(ChannelAccount.id)
        )
        return (await self.session.scalars(query)).all()

    async def add_person(self, person: Person) -> Person:
        self.session.add(person)
        await self.session.flush()
        return person

    async def add_account(self, account: ChannelAccount) -> ChannelAccount:
        self.session.add(account)
        await self.session.flush()
        return account

    async def all(self, limit: int) -> Sequence[Person]:
        return (await self.session.scalars(select(Person).order_by(Person.id).limit(limit))).all()

    async def count_residents(self, community_id: int) -> int:
        query = select(func.count()).select_from(Person).where(Person.community_id == community_id)
        return int(await self.session.scalar(query) or 0)

    async def add_link_code(self, link: LinkCode) -> None:
        self.session.add(link)
        await self.session.flush()

    async def link_code(self, code: str) -> LinkCode | None:
        query = select(LinkCode).where(LinkCode.code == code).with_for_update()
        return (await self.session.scalars(query)).one_or_none()


class GrantsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_for(self, person_id: int) -> Sequence[RoleGrant]:
        query = (
            select(RoleGrant)
            .where(RoleGrant.person_id == person_id, RoleGrant.revoked_at.is_(None))
            .order_by(RoleGrant.id)
        )
        return (await self.session.scalars(query)).all()

    async def get(self, grant_id: int) -> RoleGrant | None:
        return await self.session.get(RoleGrant, grant_id)

    async def find_active(
        self,
        person_id: int,
        role: Role,
        level: ScopeLevel,
        scope_id: int,
        organisation_id: int | None = None,
    ) -> RoleGrant | None:
        scope_column = {
            ScopeLevel.DISTRICT: RoleGrant.district_id,
            ScopeLevel.STREET: RoleGrant.street_id,
            ScopeLevel.COMMUNITY: RoleGrant.community_id,
        }[level]
        query = select(RoleGrant).where(
            RoleGrant.person_id == person_id,
            RoleGrant.role == role,
            RoleGrant.scope_level == level,
            scope_column == scope_id,
            RoleGrant.organisation_id.is_(None)
            if organisation_id is None
            else RoleGrant.organisation_id == organisation_id,
            RoleGrant.revoked_at.is_(None),
        )
        return (await self.session.scalars(query)).first()

    async def add(self, grant: RoleGrant) -> RoleGrant:
        self.session.add(grant)
        await self.session.flush()
        return grant

    async def people_covering(self, place: Place, roles: Sequence[Role]) -> list[int]:
        """People holding one of `roles` over `place`, by number."""
        found = await self.session.scalars(_PEOPLE_COVERING, _covering(place, roles))
        return list(found.all())

    async def people_with_roles_covering(
        self, place: Place, roles: Sequence[Role]
    ) -> list[tuple[int, str, Role]]:
        rows = await self.session.execute(_PEOPLE_WITH_ROLES_COVERING, _covering(place, roles))
        seen: set[int] = set()
        result = []
        for person_id, name, role in rows.all():
            if person_id not in seen:
                seen.add(person_id)
                result.append((person_id, name, role))
        return result

    async def organisation_members(self, organisation_id: int) -> list[int]:
        query = (
            select(RoleGrant.person_id)
            .where(
                RoleGrant.organisation_id == organisation_id,
                RoleGrant.role.in_((Role.ORG_ADMIN, Role.ORG_MEMBER)),
                RoleGrant.revoked_at.is_(None),
            )
            .distinct()
        )
        return list((await self.session.scalars(query)).all())

    async def people_with_role_on_street(self, street_id: int, role: Role) -> list[int]:
        query = (
            select(RoleGrant.person_id)
            .where(
                RoleGrant.role == role,
                RoleGrant.scope_level == ScopeLevel.STREET,
                RoleGrant.street_id == street_id,
                RoleGrant.revoked_at.is_(None),
            )
            .distinct()
        )
        return list((await self.session.scalars(query)).all())

    async def holders(self, role: Role) -> Sequence[RoleGrant]:
        query = select(RoleGrant).where(RoleGrant.role == role, RoleGrant.revoked_at.is_(None))
        return (await self.session.scalars(query)).all()


# Who holds a role over a place: a grant of its community, its street or its district. Built
# once (each filing and each notice asks; composing the statement cost more than running it).
_COVERING = and_(
    RoleGrant.role.in_(bindparam("roles", expanding=True)),
    RoleGrant.revoked_at.is_(None),
    or_(
        and_(
            RoleGrant.scope_level == ScopeLevel.COMMUNITY,
            RoleGrant.community_id == bindparam("community_id", type_=BigInteger),
        ),
        and_(
            RoleGrant.scope_level == ScopeLevel.STREET,
            RoleGrant.street_id == bindparam("street_id", type_=BigInteger),
        ),
        and_(
            RoleGrant.scope_level == ScopeLevel.DISTRICT,
            RoleGrant.district_id == bindparam("district_id", type_=BigInteger),
        ),
    ),
)
_PEOPLE_COVERING = (
    select(RoleGrant.person_id).where(_COVERING).distinct().order_by(RoleGrant.person_id)
)
_PEOPLE_WITH_ROLES_COVERING = (
    select(Person.id, Person.display_name, RoleGrant.role)
    .join(RoleGrant, RoleGrant.person_id == Person.id)
    .where(_COVERING)
    .order_by(RoleGrant.role, Person.id)
)


def _covering(place: Place, roles: Sequence[Role]) -> dict[str, Any]:
    return {
        "roles": list(roles),
        "community_id": place.community_id,
        "street_id": place.street_id,
        "district_id": place.district_id,
    }
