"""Repositories: the only place that writes queries. They return ORM objects to services,
which turn them into frozen results before anything leaves the unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.domain.enums import Channel, Role, ScopeLevel
from storage.models import (
    AuditEntry,
    ChannelAccount,
    Community,
    District,
    LinkCode,
    Organisation,
    Person,
    RoleGrant,
    Street,
)
from storage.types import utcnow

T = TypeVar("T")


async def _page(
    session: AsyncSession, query: Select[T], offset: int, limit: int
) -> tuple[Sequence[T], int]:
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = (await session.scalars(query.offset(offset).limit(limit))).all()
    return rows, int(total or 0)


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

    async def community(self, community_id: int) -> Community | None:
        query = (
            select(Community)
            .where(Community.id == community_id)
            .options(selectinload(Community.street).selectinload(Street.district))
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

    async def district_by_name(self, name: str) -> District | None:
        return (
            await self.session.scalars(select(District).where(District.name == name))
        ).one_or_none()

    def add(self, obj: object) -> None:
        self.session.add(obj)

    async def flush(self) -> None:
        await self.session.flush()


class PeopleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

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

    async def holders(self, role: Role) -> Sequence[RoleGrant]:
        query = select(RoleGrant).where(RoleGrant.role == role, RoleGrant.revoked_at.is_(None))
        return (await self.session.scalars(query)).all()


class OrganisationsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, organisation_id: int) -> Organisation | None:
        return await self.session.get(Organisation, organisation_id)

    async def by_name(self, name: str) -> Organisation | None:
        query = select(Organisation).where(Organisation.name == name)
        return (await self.session.scalars(query)).one_or_none()

    async def add(self, organisation: Organisation) -> Organisation:
        self.session.add(organisation)
        await self.session.flush()
        return organisation


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(
        self,
        *,
        actor_id: int | None,
        action: str,
        entity: str,
        entity_id: int | None,
        details: dict[str, Any] | None = None,
        note: str | None = None,
        at: datetime | None = None,
    ) -> None:
        self.session.add(
            AuditEntry(
                at=at or utcnow(),
                actor_id=actor_id,
                action=action,
                entity=entity,
                entity_id=entity_id,
                details=details or {},
                note=note,
            )
        )

    async def for_entity(self, entity: str, entity_id: int) -> Sequence[AuditEntry]:
        query = (
            select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.id)
        )
        return (await self.session.scalars(query)).all()
