"""Organisations and the ones that serve a place."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.principal import Place
from storage.models import Organisation


class OrganisationsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, organisation_id: int, *, lock: bool = False) -> Organisation | None:
        query = select(Organisation).where(Organisation.id == organisation_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def by_name(self, name: str) -> Organisation | None:
        query = select(Organisation).where(Organisation.name == name)
        return (await self.session.scalars(query)).one_or_none()

    async def serving(self, place: Place) -> Sequence[Organisation]:
        """Organisations based in the community or its street."""
        query = (
            select(Organisation)
            .where(
                or_(
                    Organisation.community_id == place.community_id,
                    Organisation.street_id == place.street_id,
                )
            )
            .order_by(Organisation.id)
        )
        return (await self.session.scalars(query)).all()

    async def add(self, organisation: Organisation) -> Organisation:
        self.session.add(organisation)
        await self.session.flush()
        return organisation

    async def add_unique(self, organisation: Organisation) -> Organisation | None:
        """None when the name was taken meanwhile (two registrations at once)."""
        try:
            async with self.session.begin_nested():
                self.session.add(organisation)
        except IntegrityError:
            return None
        return organisation
