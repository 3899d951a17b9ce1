"""Records of social work: training attendance, qualification certificates, the three-level
service places with their staff and services, and the districts' baseline years."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import Role
from bot.domain.social_work import CertificateState, ServiceLevel, ShiftKind
from storage.models import (
    Community,
    DistrictBaseline,
    RoleGrant,
    Shift,
    SocialWorkCertificate,
    SocialWorkPlace,
    SocialWorkService,
    SocialWorkStaff,
    Street,
    TrainingAttendance,
)

T = TypeVar("T")


class SocialWorkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        """Send the pending changes, so that the next read in this transaction sees them."""
        await self.session.flush()

    async def add(self, row: T) -> T:
        self.session.add(row)
        await self.session.flush()
        return row

    # ------------------------------------------------------------ training

    async def upcoming_training(
        self, communities: Sequence[int], after: datetime, limit: int = 10
    ) -> Sequence[Shift]:
        query = (
            select(Shift)
            .where(
                Shift.kind == ShiftKind.TRAINING,
                Shift.community_id.in_(communities),
                Shift.starts_at > after,
                Shift.cancelled_at.is_(None),
            )
            .order_by(Shift.starts_at, Shift.id)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def attendance(self, shift_id: int, person_id: int) -> TrainingAttendance | None:
        query = select(TrainingAttendance).where(
            TrainingAttendance.shift_id == shift_id, TrainingAttendance.person_id == person_id
        )
        return (await self.session.scalars(query)).one_or_none()

    async def training_minutes(self, person_id: int, since: datetime) -> int:
        query = select(func.coalesce(func.sum(TrainingAttendance.minutes), 0)).where(
            TrainingAttendance.person_id == person_id, TrainingAttendance.checked_in_at >= since
        )
        return int(await self.session.scalar(query) or 0)

    # ------------------------------------------------------------ certificates

    async def certificate(
        self, certificate_id: int, *, lock: bool = False
    ) -> SocialWorkCertificate | None:
        query = select(SocialWorkCertificate).where(SocialWorkCertificate.id == certificate_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def certificates_of(self, person_id: int) -> Sequence[SocialWorkCertificate]:
        query = (
            select(SocialWorkCertificate)
            .where(SocialWorkCertificate.person_id == person_id)
            .order_by(SocialWorkCertificate.id)
        )
        return (await self.session.scalars(query)).all()

    async def pending_in(
        self, communities: Sequence[int], limit: int = 10
    ) -> Sequence[SocialWorkCertificate]:
        query = (
            select(SocialWorkCertificate)
            .where(
                SocialWorkCertificate.state == CertificateState.PENDING,
                SocialWorkCertificate.community_id.in_(communities),
            )
            .order_by(SocialWorkCertificate.recorded_at, SocialWorkCertificate.id)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def worker_certificates(self, community_id: int) -> tuple[int, int]:
        """(community workers, of them with a verified certificate) of a community."""
        workers = select(RoleGrant.person_id).where(
            RoleGrant.role == Role.COMMUNITY_WORKER,
            RoleGrant.revoked_at.is_(None),
            RoleGrant.community_id == community_id,
        )
        total = await self.session.scalar(
            select(func.count(distinct(workers.subquery().c.person_id)))
        )
        certified = await self.session.scalar(
            select(func.count(distinct(SocialWorkCertificate.person_id))).where(
                SocialWorkCertificate.state == CertificateState.VERIFIED,
                SocialWorkCertificate.person_id.in_(workers),
            )
        )
        return int(total or 0), int(certified or 0)

    # ------------------------------------------------------------ the three levels

    async def place(self, place_id: int) -> SocialWorkPlace | None:
        return await self.session.get(SocialWorkPlace, place_id)

    async def places_in_district(self, district_id: int) -> Sequence[SocialWorkPlace]:
        order = {ServiceLevel.CENTRE: 0, ServiceLevel.STATION: 1, ServiceLevel.ROOM: 2}
        rows = (
            await self.session.scalars(
                select(SocialWorkPlace)
                .where(SocialWorkPlace.district_id == district_id)
                .order_by(SocialWorkPlace.id)
            )
        ).all()
        return sorted(rows, key=lambda p: order[p.level])

    async def staff(self, place_id: int) -> Sequence[int]:
        query = select(SocialWorkStaff.person_id).where(SocialWorkStaff.place_id == place_id)
        return (await self.session.scalars(query.order_by(SocialWorkStaff.person_id))).all()

    async def places_staffed_by(self, person_id: int) -> Sequence[SocialWorkPlace]:
        query = (
            select(SocialWorkPlace)
            .join(SocialWorkStaff, SocialWorkStaff.place_id == SocialWorkPlace.id)
            .where(SocialWorkStaff.person_id == person_id)
            .order_by(SocialWorkPlace.id)
        )
        return (await self.session.scalars(query)).all()

    async def communities_served_by(self, place: SocialWorkPlace) -> Sequence[Community]:
        """A room serves its community, a station its street's, the centre its district's."""
        query = select(Community).order_by(Community.id)
        if place.level is ServiceLevel.ROOM:
            query = query.where(Community.id == place.community_id)
        elif place.level is ServiceLevel.STATION:
            query = query.where(Community.street_id == place.street_id)
        else:
            streets = select(Street.id).where(Street.district_id == place.district_id)
            query = query.where(Community.street_id.in_(streets))
        return (await self.session.scalars(query)).all()

    async def services_of(self, place_id: int, since: datetime) -> int:
        query = select(func.count()).where(
            SocialWorkService.place_id == place_id, SocialWorkService.served_at >= since
        )
        return int(await self.session.scalar(query) or 0)

    async def existing_place(
        self, level: ServiceLevel, unit: tuple[int, int | None, int | None]
    ) -> SocialWorkPlace | None:
        """The one centre of a district, station of a street, room of a community."""
        district, street, community = unit
        query = select(SocialWorkPlace).where(
            SocialWorkPlace.level == level, SocialWorkPlace.district_id == district
        )
        if level is ServiceLevel.STATION:
            query = query.where(SocialWorkPlace.street_id == street)
        if level is ServiceLevel.ROOM:
            query = query.where(SocialWorkPlace.community_id == community)
        return (await self.session.scalars(query.limit(1))).one_or_none()

    # ------------------------------------------------------------ baselines

    async def baseline(self, district_id: int) -> DistrictBaseline | None:
        return await self.session.get(DistrictBaseline, district_id)
