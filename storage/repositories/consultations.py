"""Repository of consultations: the consultation with its communities, options and seats;
opinions and support; ballots; participants."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.consultations import Actor
from bot.domain.contacts import shown_name
from storage.models import (
    Consultation,
    ConsultationCommunity,
    ConsultationOpinion,
    ConsultationOption,
    ConsultationParticipant,
    ConsultationSeat,
    ConsultationVote,
    OpinionSupport,
    Person,
)


class ConsultationsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)

    async def flush(self) -> None:
        await self.session.flush()

    async def get(self, consultation_id: int, *, lock: bool = False) -> Consultation | None:
        query = select(Consultation).where(Consultation.id == consultation_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def communities_of(self, consultation_id: int) -> list[int]:
        query = select(ConsultationCommunity.community_id).where(
            ConsultationCommunity.consultation_id == consultation_id
        )
        return sorted((await self.session.scalars(query)).all())

    async def options(self, consultation_id: int) -> list[ConsultationOption]:
        query = (
            select(ConsultationOption)
            .where(ConsultationOption.consultation_id == consultation_id)
            .order_by(ConsultationOption.position)
        )
        return list((await self.session.scalars(query)).all())

    async def for_person(
        self, person_id: int, community_id: int | None, covered: Sequence[int], limit: int
    ) -> list[Consultation]:
        """Consultations the person may join (their community's, or a seat) or runs (in the
        communities they cover), newest first."""
        seats = select(ConsultationSeat.consultation_id).where(
            ConsultationSeat.person_id == person_id
        )
        places = list(covered) + ([community_id] if community_id is not None else [])
        in_places = select(ConsultationCommunity.consultation_id).where(
            ConsultationCommunity.community_id.in_(places)
        )
        query = (
            select(Consultation)
            .where(or_(Consultation.id.in_(seats), Consultation.id.in_(in_places)))
            .order_by(Consultation.id.desc())
            .limit(limit)
        )
        return list((await self.session.scalars(query)).all())

    # ------------------------------------------------------------ people

    async def seat(self, consultation_id: int, person_id: int) -> ConsultationSeat | None:
        query = select(ConsultationSeat).where(
            ConsultationSeat.consultation_id == consultation_id,
            ConsultationSeat.person_id == person_id,
        )
        return (await self.session.scalars(query)).one_or_none()

    async def seats(self, consultation_id: int) -> list[ConsultationSeat]:
        query = select(ConsultationSeat).where(ConsultationSeat.consultation_id == consultation_id)
        return list((await self.session.scalars(query)).all())

    async def residents(self, community_ids: Sequence[int]) -> list[int]:
        query = select(Person.id).where(Person.community_id.in_(list(community_ids)))
        return list((await self.session.scalars(query)).all())

    async def participant(
        self, consultation_id: int, person_id: int
    ) -> ConsultationParticipant | None:
        return await self.session.get(ConsultationParticipant, (consultation_id, person_id))

    async def took_part(self, consultation_id: int, person_id: int) -> ConsultationParticipant:
        found = await self.participant(consultation_id, person_id)
        if found is None:
            found = ConsultationParticipant(
                consultation_id=consultation_id, person_id=person_id, voted=False
            )
            try:
                async with self.session.begin_nested():
                    self.session.add(found)
            except IntegrityError:  # a concurrent action of the same person got there first
                found = await self.participant(consultation_id, person_id)
                assert found is not None
        return found

    async def participants(self, consultation_id: int) -> list[int]:
        query = select(ConsultationParticipant.person_id).where(
            ConsultationParticipant.consultation_id == consultation_id
        )
        return list((await self.session.scalars(query)).all())

    async def attended(self, consultation_id: int) -> int:
        query = select(func.count()).where(
            ConsultationParticipant.consultation_id == consultation_id,
            ConsultationParticipant.attended_at.is_not(None),
        )
        return int((await self.session.scalar(query)) or 0)

    # ------------------------------------------------------------ opinions

    async def opinions(
        self, consultation_id: int, offset: int, limit: int
    ) -> tuple[list[tuple[ConsultationOpinion, str, int]], int]:
        """(opinion, author name, supporters) oldest first, and the total."""
        supporters = (
            select(func.count())
            .where(OpinionSupport.opinion_id == ConsultationOpinion.id)
            .scalar_subquery()
        )
        query = (
            select(ConsultationOpinion, Person.display_name, supporters)
            .join(Person, Person.id == ConsultationOpinion.person_id)
            .where(ConsultationOpinion.consultation_id == consultation_id)
            .order_by(ConsultationOpinion.id)
            .offset(offset)
            .limit(limit)
        )
        rows = [
            (o, shown_name(n, o.person_id), int(s)) for o, n, s in await self.session.execute(query)
        ]
        total = await self.session.scalar(
            select(func.count()).where(ConsultationOpinion.consultation_id == consultation_id)
        )
        return rows, int(total or 0)

    async def opinion(self, opinion_id: int) -> ConsultationOpinion | None:
        return await self.session.get(ConsultationOpinion, opinion_id)

    async def support(self, opinion_id: int, person_id: int) -> bool:
        """False when already supported."""
        try:
            async with self.session.begin_nested():
                self.session.add(OpinionSupport(opinion_id=opinion_id, person_id=person_id))
        except IntegrityError:
            return False
        return True

    # ------------------------------------------------------------ ballots

    async def ballot(self, consultation_id: int, voter_key: str) -> ConsultationVote | None:
        query = select(ConsultationVote).where(
            ConsultationVote.consultation_id == consultation_id,
            ConsultationVote.voter_key == voter_key,
        )
        return (await self.session.scalars(query)).one_or_none()

    async def cast(self, vote: ConsultationVote) -> bool:
        """Insert a first ballot; False if one under this key appeared meanwhile."""
        try:
            async with self.session.begin_nested():
                self.session.add(vote)
        except IntegrityError:
            return False
        return True

    async def count_paper_vote(self, consultation_id: int) -> None:
        await self.session.execute(
            update(Consultation)
            .where(Consultation.id == consultation_id)
            .values(paper_votes=Consultation.paper_votes + 1)
            .execution_options(synchronize_session=False)
        )

    async def ballots(self, consultation_id: int) -> list[tuple[int, Actor, bool]]:
        query = select(
            ConsultationVote.option_id, ConsultationVote.actor, ConsultationVote.assisted
        ).where(ConsultationVote.consultation_id == consultation_id)
        return [(int(o), Actor(a), bool(s)) for o, a, s in await self.session.execute(query)]

    async def named_ballots(self, consultation_id: int) -> list[tuple[str, int]]:
        """(voter name, option) of a named vote; anonymous ballots have no person to join."""
        query = (
            select(Person.display_name, ConsultationVote.option_id, Person.id)
            .join(Person, Person.id == ConsultationVote.person_id)
            .where(ConsultationVote.consultation_id == consultation_id)
            .order_by(Person.display_name)
        )
        return [(shown_name(n, int(p)), int(o)) for n, o, p in await self.session.execute(query)]
