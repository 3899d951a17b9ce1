"""Repositories: the only place that writes queries. They return ORM objects to services,
which turn them into frozen results before anything leaves the unit of work."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, and_, case, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.needs import OPEN_STATES, NeedCategory, NeedState, Urgency
from bot.domain.principal import Place, Principal
from bot.domain.social_work import ShiftKind
from bot.domain.volunteers import SignupStatus, VolunteerStatus
from storage.models import (
    AuditEntry,
    ChannelAccount,
    Community,
    District,
    LinkCode,
    Need,
    NeedCounter,
    NeedEvent,
    NeedFeedback,
    NeedSupporter,
    Organisation,
    Person,
    RoleGrant,
    Shift,
    ShiftSignup,
    Street,
    Survey,
    SurveyAnswer,
    SurveyCommunity,
    SurveyOption,
    SurveyQuestion,
    SurveyResponse,
    Volunteer,
    VolunteerCommunity,
    VolunteerCounter,
)
from storage.types import utcnow

T = TypeVar("T")


async def _page(
    session: AsyncSession, query: Select[T], offset: int, limit: int
) -> tuple[Sequence[T], int]:
    offset = max(0, offset)  # a forged page number must not reach the database
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

    @staticmethod
    def _covering(place: Place) -> Any:
        return or_(
            and_(
                RoleGrant.scope_level == ScopeLevel.COMMUNITY,
                RoleGrant.community_id == place.community_id,
            ),
            and_(
                RoleGrant.scope_level == ScopeLevel.STREET, RoleGrant.street_id == place.street_id
            ),
            and_(
                RoleGrant.scope_level == ScopeLevel.DISTRICT,
                RoleGrant.district_id == place.district_id,
            ),
        )

    async def people_covering(self, place: Place, roles: Sequence[Role]) -> list[int]:
        """People holding one of `roles` over `place`, by number."""
        query = (
            select(RoleGrant.person_id)
            .where(RoleGrant.role.in_(roles), RoleGrant.revoked_at.is_(None), self._covering(place))
            .distinct()
            .order_by(RoleGrant.person_id)
        )
        return list((await self.session.scalars(query)).all())

    async def people_with_roles_covering(
        self, place: Place, roles: Sequence[Role]
    ) -> list[tuple[int, str, Role]]:
        query = (
            select(Person.id, Person.display_name, RoleGrant.role)
            .join(RoleGrant, RoleGrant.person_id == Person.id)
            .where(RoleGrant.role.in_(roles), RoleGrant.revoked_at.is_(None), self._covering(place))
            .order_by(RoleGrant.role, Person.id)
        )
        seen: set[int] = set()
        result = []
        for person_id, name, role in (await self.session.execute(query)).all():
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


class NeedsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_reference(self, reference: str) -> Need | None:
        return (
            await self.session.scalars(select(Need).where(Need.reference == reference))
        ).one_or_none()

    async def get(self, need_id: int, *, lock: bool = False) -> Need | None:
        query = select(Need).where(Need.id == need_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def add(self, need: Need) -> Need:
        self.session.add(need)
        await self.session.flush()
        return need

    def add_event(self, event: NeedEvent) -> None:
        self.session.add(event)

    def add_feedback(self, feedback: NeedFeedback) -> None:
        self.session.add(feedback)

    async def events(self, need_id: int) -> Sequence[NeedEvent]:
        query = select(NeedEvent).where(NeedEvent.need_id == need_id).order_by(NeedEvent.id)
        return (await self.session.scalars(query)).all()

    async def next_number(self, community_id: int, year: int) -> int:
        """The next reference number; the counter row is locked until the transaction ends."""
        # Create the row if it is missing without racing a concurrent first filing of the
        # year: ON CONFLICT DO NOTHING, then lock the one row that now surely exists.
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await self.session.execute(
            insert(NeedCounter)
            .values(community_id=community_id, year=year, last=0)
            .on_conflict_do_nothing(index_elements=["community_id", "year"])
        )
        query = (
            select(NeedCounter)
            .where(NeedCounter.community_id == community_id, NeedCounter.year == year)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        counter = (await self.session.scalars(query)).one()
        counter.last += 1
        await self.session.flush()
        return counter.last

    async def add_supporter(self, need_id: int, person_id: int) -> None:
        self.session.add(NeedSupporter(need_id=need_id, person_id=person_id))
        await self.session.flush()

    async def supporters(self, need_id: int) -> list[int]:
        query = select(NeedSupporter.person_id).where(NeedSupporter.need_id == need_id)
        return list((await self.session.scalars(query.order_by(NeedSupporter.id))).all())

    async def is_supporter(self, need_id: int, person_id: int) -> bool:
        query = select(NeedSupporter.id).where(
            NeedSupporter.need_id == need_id, NeedSupporter.person_id == person_id
        )
        return (await self.session.scalar(query)) is not None

    async def supporter_count(self, need_id: int) -> int:
        query = (
            select(func.count()).select_from(NeedSupporter).where(NeedSupporter.need_id == need_id)
        )
        return int(await self.session.scalar(query) or 0)

    async def open_in_community(self, community_id: int, limit: int) -> Sequence[Need]:
        query = (
            select(Need)
            .where(Need.community_id == community_id, Need.state.in_(OPEN_STATES))
            .order_by(Need.created_at.desc())
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def of_resident(
        self, person_id: int, offset: int, limit: int
    ) -> tuple[Sequence[Need], int]:
        supported = select(NeedSupporter.need_id).where(NeedSupporter.person_id == person_id)
        query = (
            select(Need)
            .where(or_(Need.resident_id == person_id, Need.id.in_(supported)))
            .order_by(Need.created_at.desc(), Need.id.desc())
        )
        return await _page(self.session, query, offset, limit)

    async def in_communities(
        self,
        communities: Sequence[int],
        *,
        states: Sequence[NeedState] | None,
        overdue_before: datetime | None,
        category: NeedCategory | None,
        urgency: Urgency | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[Need], int]:
        query = select(Need).where(Need.community_id.in_(communities))
        if states is not None:
            query = query.where(Need.state.in_(states))
        if overdue_before is not None:
            query = query.where(Need.due_at < overdue_before)
        if category is not None:
            query = query.where(Need.category == category)
        if urgency is not None:
            query = query.where(Need.urgency == urgency)
        urgent_first = case((Need.urgency == Urgency.URGENT, 0), else_=1)
        query = query.order_by(urgent_first, Need.created_at.desc(), Need.id.desc())
        return await _page(self.session, query, offset, limit)

    async def assigned_to(
        self, person_id: int, organisations: Sequence[int], offset: int, limit: int
    ) -> tuple[Sequence[Need], int]:
        mine = Need.assignee_person_id == person_id
        theirs = and_(
            Need.assignee_person_id.is_(None), Need.assignee_organisation_id.in_(organisations)
        )
        query = (
            select(Need)
            .where(or_(mine, theirs), Need.state.in_(OPEN_STATES))
            .order_by(Need.due_at, Need.id)
        )
        return await _page(self.session, query, offset, limit)

    async def due_for_reminder(self, now: datetime, states: frozenset[NeedState]) -> Sequence[Need]:
        query = (
            select(Need)
            .where(
                Need.state.in_(states),
                Need.remind_at <= now,
                Need.due_at > now,
                Need.reminded_at.is_(None),
            )
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).all()

    async def overdue_unescalated(
        self, now: datetime, states: frozenset[NeedState]
    ) -> Sequence[Need]:
        query = (
            select(Need)
            .where(Need.state.in_(states), Need.due_at <= now, Need.escalated_at.is_(None))
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).all()

    async def resolved_before(self, moment: datetime) -> Sequence[Need]:
        query = (
            select(Need)
            .where(Need.state == NeedState.RESOLVED, Need.resolved_at <= moment)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).all()


class SurveysRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)

    async def flush(self) -> None:
        await self.session.flush()

    async def get(self, survey_id: int) -> Survey | None:
        return await self.session.get(Survey, survey_id)

    async def communities(self, survey_id: int) -> list[int]:
        query = select(SurveyCommunity.community_id).where(SurveyCommunity.survey_id == survey_id)
        return list((await self.session.scalars(query)).all())

    async def questions(self, survey_id: int) -> Sequence[SurveyQuestion]:
        query = (
            select(SurveyQuestion)
            .where(SurveyQuestion.survey_id == survey_id)
            .order_by(SurveyQuestion.position)
        )
        return (await self.session.scalars(query)).all()

    async def options(self, question_ids: Sequence[int]) -> Sequence[SurveyOption]:
        query = (
            select(SurveyOption)
            .where(SurveyOption.question_id.in_(question_ids))
            .order_by(SurveyOption.question_id, SurveyOption.position)
        )
        return (await self.session.scalars(query)).all()

    async def open_in_community(self, community_id: int) -> Sequence[Survey]:
        in_community = select(SurveyCommunity.survey_id).where(
            SurveyCommunity.community_id == community_id
        )
        query = (
            select(Survey)
            .where(Survey.id.in_(in_community), Survey.closed_at.is_(None))
            .order_by(Survey.id.desc())
        )
        return (await self.session.scalars(query)).all()

    async def in_communities(self, communities: Sequence[int]) -> Sequence[Survey]:
        in_scope = select(SurveyCommunity.survey_id).where(
            SurveyCommunity.community_id.in_(communities)
        )
        query = select(Survey).where(Survey.id.in_(in_scope)).order_by(Survey.id.desc()).limit(20)
        return (await self.session.scalars(query)).all()

    async def add_response(self, response: SurveyResponse) -> bool:
        """False when this person has answered already (a double tap, two devices)."""
        try:
            async with self.session.begin_nested():
                self.session.add(response)
        except IntegrityError:
            return False
        return True

    async def has_answered(self, survey_id: int, person_id: int) -> bool:
        query = select(SurveyResponse.id).where(
            SurveyResponse.survey_id == survey_id, SurveyResponse.person_id == person_id
        )
        return (await self.session.scalar(query)) is not None

    async def response_count(self, survey_id: int, communities: Sequence[int]) -> int:
        query = (
            select(func.count())
            .select_from(SurveyResponse)
            .where(
                SurveyResponse.survey_id == survey_id,
                SurveyResponse.community_id.in_(communities),
            )
        )
        return int(await self.session.scalar(query) or 0)

    async def option_counts(self, survey_id: int, communities: Sequence[int]) -> dict[int, int]:
        query = (
            select(SurveyAnswer.option_id, func.count())
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .where(
                SurveyResponse.survey_id == survey_id,
                SurveyResponse.community_id.in_(communities),
                SurveyAnswer.option_id.is_not(None),
            )
            .group_by(SurveyAnswer.option_id)
        )
        rows = (await self.session.execute(query)).all()
        return {int(o): int(c) for o, c in rows if o is not None}

    async def text_answers(
        self, survey_id: int, communities: Sequence[int], limit: int
    ) -> list[tuple[int, str]]:
        query = (
            select(SurveyAnswer.question_id, SurveyAnswer.text)
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .where(
                SurveyResponse.survey_id == survey_id,
                SurveyResponse.community_id.in_(communities),
                SurveyAnswer.text.is_not(None),
            )
            .order_by(SurveyAnswer.id)
            .limit(limit)
        )
        return [(int(q), str(t)) for q, t in (await self.session.execute(query)).all()]


class VolunteersRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, volunteer_id: int, *, lock: bool = False) -> Volunteer | None:
        query = select(Volunteer).where(Volunteer.id == volunteer_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def of_person(self, person_id: int) -> Volunteer | None:
        query = select(Volunteer).where(Volunteer.person_id == person_id)
        return (await self.session.scalars(query)).one_or_none()

    async def by_id_hash(self, id_hash: str) -> Volunteer | None:
        query = select(Volunteer).where(Volunteer.id_number_hash == id_hash)
        return (await self.session.scalars(query)).one_or_none()

    async def add(self, volunteer: Volunteer) -> Volunteer:
        self.session.add(volunteer)
        await self.session.flush()
        return volunteer

    async def communities_of(self, volunteer_id: int) -> list[int]:
        query = select(VolunteerCommunity.community_id).where(
            VolunteerCommunity.volunteer_id == volunteer_id
        )
        return list(
            (await self.session.scalars(query.order_by(VolunteerCommunity.community_id))).all()
        )

    async def set_communities(self, volunteer_id: int, communities: Sequence[int]) -> None:
        await self.session.execute(
            delete(VolunteerCommunity).where(VolunteerCommunity.volunteer_id == volunteer_id)
        )
        for community_id in sorted(set(communities)):
            self.session.add(
                VolunteerCommunity(volunteer_id=volunteer_id, community_id=community_id)
            )
        await self.session.flush()

    async def verified_serving(self, community_id: int) -> Sequence[Volunteer]:
        """Verified volunteers who serve in this community."""
        query = (
            select(Volunteer)
            .join(VolunteerCommunity, VolunteerCommunity.volunteer_id == Volunteer.id)
            .where(
                VolunteerCommunity.community_id == community_id,
                Volunteer.status == VolunteerStatus.VERIFIED,
            )
            .order_by(Volunteer.id)
        )
        return (await self.session.scalars(query)).all()

    async def pending_in(self, communities: Sequence[int]) -> Sequence[Volunteer]:
        query = (
            select(Volunteer)
            .where(
                Volunteer.home_community_id.in_(communities),
                Volunteer.status == VolunteerStatus.PENDING,
            )
            .order_by(Volunteer.registered_at)
            .limit(50)
        )
        return (await self.session.scalars(query)).all()

    async def next_number(self, community_id: int) -> int:
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await self.session.execute(
            insert(VolunteerCounter)
            .values(community_id=community_id, last=0)
            .on_conflict_do_nothing(index_elements=["community_id"])
        )
        query = (
            select(VolunteerCounter)
            .where(VolunteerCounter.community_id == community_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        counter = (await self.session.scalars(query)).one()
        counter.last += 1
        await self.session.flush()
        return counter.last


class ShiftsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, shift: Shift) -> Shift:
        self.session.add(shift)
        await self.session.flush()
        return shift

    async def get(self, shift_id: int, *, lock: bool = False) -> Shift | None:
        query = select(Shift).where(Shift.id == shift_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def upcoming_in(
        self,
        communities: Sequence[int],
        after: datetime,
        offset: int,
        limit: int,
        *,
        project_id: int | None = None,
    ) -> tuple[Sequence[Shift], int]:
        query = (
            select(Shift)
            .where(
                Shift.community_id.in_(communities),
                Shift.starts_at > after,
                Shift.cancelled_at.is_(None),
                Shift.kind == ShiftKind.SERVICE,  # training sessions: /training
            )
            .order_by(Shift.starts_at, Shift.id)
        )
        if project_id is not None:
            query = query.where(Shift.project_id == project_id)
        return await _page(self.session, query, offset, limit)

    async def signups(self, shift_id: int) -> Sequence[ShiftSignup]:
        query = (
            select(ShiftSignup)
            .where(ShiftSignup.shift_id == shift_id)
            .order_by(ShiftSignup.created_at, ShiftSignup.id)
        )
        return (await self.session.scalars(query)).all()

    async def signup(self, shift_id: int, person_id: int) -> ShiftSignup | None:
        query = select(ShiftSignup).where(
            ShiftSignup.shift_id == shift_id, ShiftSignup.person_id == person_id
        )
        return (await self.session.scalars(query)).one_or_none()

    def add_signup(self, signup: ShiftSignup) -> None:
        self.session.add(signup)

    async def of_person(
        self, person_id: int, after: datetime
    ) -> Sequence[tuple[ShiftSignup, Shift]]:
        query = (
            select(ShiftSignup, Shift)
            .join(Shift, Shift.id == ShiftSignup.shift_id)
            .where(
                ShiftSignup.person_id == person_id,
                ShiftSignup.status != SignupStatus.CANCELLED,
                Shift.ends_at > after,
            )
            .order_by(Shift.starts_at)
        )
        return [(s, sh) for s, sh in (await self.session.execute(query)).all()]

    async def around(self, communities: Sequence[int], now: datetime) -> Sequence[Shift]:
        """Shifts starting within a day or still running (plus the check-out grace)."""
        query = (
            select(Shift)
            .where(
                Shift.community_id.in_(communities),
                Shift.cancelled_at.is_(None),
                Shift.starts_at <= now + timedelta(days=1),
                Shift.ends_at > now - timedelta(minutes=30),
            )
            .order_by(Shift.starts_at, Shift.id)
            .limit(20)
        )
        return (await self.session.scalars(query)).all()

    async def due_reminders(
        self, now: datetime, lead: timedelta, column: str
    ) -> Sequence[tuple[ShiftSignup, Shift]]:
        mark = getattr(ShiftSignup, column)
        query = (
            select(ShiftSignup, Shift)
            .join(Shift, Shift.id == ShiftSignup.shift_id)
            .where(
                ShiftSignup.status == SignupStatus.CONFIRMED,
                mark.is_(None),
                Shift.cancelled_at.is_(None),
                Shift.starts_at > now,
                Shift.starts_at <= now + lead,
            )
            .with_for_update(of=ShiftSignup, skip_locked=True)
        )
        return [(s, sh) for s, sh in (await self.session.execute(query)).all()]
