"""The map: districts, streets and communities, and the communities a principal's roles cover."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from bot.domain.enums import Role, ScopeLevel
from bot.domain.principal import Place, Principal
from storage.models import Community, District, Street
from storage.repositories.paging import _page


class PlacesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def districts(self, offset: int, limit: int) -> tuple[Sequence[District], int]:
        return await _page(self.session, select(District).order_by(District.id), offset, limit)

    async def streets(
        self, district_id: int, offset: int, limit: int
    ) -> tuple[Sequence[Street], int]:
        query = select(Street).where(Street.district_id == district_id).order_by(Street.id)
        return await _page(self.session, query, offset, limit)

    async def communities(
        self, street_id: int, offset: int, limit: int
    ) -> tuple[Sequence[Community], int]:
        query = select(Community).where(Community.street_id == street_id).order_by(Community.id)
        return await _page(self.session, query, offset, limit)

    async def district(self, district_id: int) -> District | None:
        return await self.session.get(District, district_id)

    async def street(self, street_id: int) -> Street | None:
        return await self.session.get(Street, street_id)

    async def place(self, community_id: int) -> Place | None:
        """The community's place (its street and district ids) in one query."""
        query = (
            select(Community.id, Community.street_id, Street.district_id)
            .join(Street, Street.id == Community.street_id)
            .where(Community.id == community_id)
        )
        row = (await self.session.execute(query)).one_or_none()
        if row is None:
            return None
        return Place(community_id=row[0], street_id=row[1], district_id=row[2])

    async def community(self, community_id: int) -> Community | None:
        query = (
            select(Community)
            .where(Community.id == community_id)
            # One statement, not three: a community has one street, a street one district.
            .options(joinedload(Community.street).joinedload(Street.district))
        )
        return (await self.session.scalars(query)).one_or_none()

    async def all_communities(self) -> Sequence[Community]:
        query = select(Community).options(
            selectinload(Community.street).selectinload(Street.district)
        )
        return (await self.session.scalars(query.order_by(Community.id))).all()

    async def street_by_name(self, district_id: int, name: str) -> Street | None:
        query = select(Street).where(Street.district_id == district_id, Street.name == name)
        return (await self.session.scalars(query)).one_or_none()

    async def community_by_name(self, street_id: int, name: str) -> Community | None:
        query = select(Community).where(Community.street_id == street_id, Community.name == name)
        return (await self.session.scalars(query)).one_or_none()

    async def community_by_code(self, code: str) -> Community | None:
        query = select(Community).where(Community.code == code)
        return (await self.session.scalars(query)).one_or_none()

    async def communities_covered(self, principal: Principal, roles: Sequence[Role]) -> list[int]:
        """Ids of the communities where the principal holds one of `roles`."""
        if principal.is_superadmin:
            return list((await self.session.scalars(select(Community.id))).all())
        conditions = []
        for grant in principal.grants:
            if grant.role not in roles:
                continue
            if grant.level is ScopeLevel.COMMUNITY:
                conditions.append(Community.id == grant.scope_id)
            elif grant.level is ScopeLevel.STREET:
                conditions.append(Community.street_id == grant.scope_id)
            else:
                in_district = select(Street.id).where(Street.district_id == grant.scope_id)
                conditions.append(Community.street_id.in_(in_district))
        if not conditions:
            return []
        query = select(Community.id).where(or_(*conditions)).order_by(Community.id)
        return list((await self.session.scalars(query)).all())

    async def district_by_name(self, name: str) -> District | None:
        return (
            await self.session.scalars(select(District).where(District.name == name))
        ).one_or_none()

    def add(self, obj: object) -> None:
        self.session.add(obj)

    async def flush(self) -> None:
        await self.session.flush()
