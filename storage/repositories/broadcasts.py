"""Repositories of broadcasts: audiences as SQL, the outbox (claims, state changes, counts),
opt-outs, and emergencies with their roll-calls."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlalchemy.sql import CompoundSelect, Select

from bot.domain.broadcasts import (
    Audience,
    AudienceKind,
    BroadcastState,
    ButtonKind,
    DeliveryState,
    Topic,
)
from bot.domain.contacts import shown_name
from bot.domain.enums import Channel, ScopeLevel
from bot.domain.volunteers import SignupStatus, VolunteerStatus
from storage.models import (
    Broadcast,
    BroadcastOptOut,
    ChannelAccount,
    Community,
    ConsultationParticipant,
    ConsultationSeat,
    Emergency,
    EmergencyShift,
    OutboxMessage,
    Person,
    RollCall,
    ServiceRecord,
    Shift,
    ShiftSignup,
    Volunteer,
    VolunteerCommunity,
)

CONSULTATION_KINDS = (AudienceKind.CONSULTATION, AudienceKind.NOT_VOTED, AudienceKind.PARTICIPANTS)


class BroadcastsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)

    async def flush(self) -> None:
        await self.session.flush()

    async def get(self, broadcast_id: int, *, lock: bool = False) -> Broadcast | None:
        query = select(Broadcast).where(Broadcast.id == broadcast_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    # ------------------------------------------------------------ audiences

    def _people(self, audience: Audience, skills_mask: int) -> Select[Any] | CompoundSelect[Any]:
        """The ids of the people an audience names (each once)."""
        communities = list(audience.community_ids)
        volunteers = (
            select(Volunteer.person_id)
            .join(VolunteerCommunity, VolunteerCommunity.volunteer_id == Volunteer.id)
            .where(
                Volunteer.status == VolunteerStatus.VERIFIED,
                VolunteerCommunity.community_id.in_(communities),
            )
        )
        if skills_mask:
            volunteers = volunteers.where(Volunteer.skills_mask.op("&")(skills_mask) != 0)
        residents = select(Person.id).where(Person.community_id.in_(communities))
        if audience.kind in CONSULTATION_KINDS:
            return self._consultation_people(audience, residents)
        if audience.kind is AudienceKind.RESIDENTS:
            return residents
        if audience.kind is AudienceKind.EVERYONE and not skills_mask:
            return residents.union(volunteers)
        return volunteers

    def _consultation_people(
        self, audience: Audience, residents: Select[Any]
    ) -> Select[Any] | CompoundSelect[Any]:
        consultation = audience.consultation_id or 0
        took_part = select(ConsultationParticipant.person_id).where(
            ConsultationParticipant.consultation_id == consultation
        )
        if audience.kind is AudienceKind.PARTICIPANTS:
            return took_part
        seats = select(ConsultationSeat.person_id).where(
            ConsultationSeat.consultation_id == consultation
        )
        entitled = residents.union(seats)
        if audience.kind is AudienceKind.CONSULTATION:
            return entitled
        voted = took_part.where(ConsultationParticipant.voted.is_(True))
        return select(entitled.subquery().c[0]).except_(voted)

    async def count_audience(self, audience: Audience, skills_mask: int) -> int:
        """How many people would get it (with a chat the bot can reach)."""
        people = self._people(audience, skills_mask).subquery()
        query = select(func.count(func.distinct(ChannelAccount.person_id))).where(
            ChannelAccount.person_id.in_(select(people.c[0])),
            ChannelAccount.blocked_at.is_(None),
        )
        query = self._in_locale(query, audience.locale)
        return int((await self.session.scalar(query)) or 0)

    def _in_locale(self, query: Any, locale: str | None) -> Any:
        if locale is None:
            return query
        # People who never chose a language read the default, Chinese.
        condition = Person.locale == locale
        if locale == "zh":
            condition = or_(condition, Person.locale.is_(None))
        known = select(Person.id).where(condition)
        return query.where(ChannelAccount.person_id.in_(known))

    async def audience_accounts(
        self, audience: Audience, skills_mask: int, *, apps: bool = False
    ) -> list[tuple[int, Channel, str, str | None, bool, datetime | None]]:
        """(person, channel, chat, locale, blocked, last seen) for every chat account of the
        audience (with `apps`: every API app account instead); the service picks one account
        per person."""
        people = self._people(audience, skills_mask).subquery()
        query = (
            select(
                ChannelAccount.person_id,
                ChannelAccount.channel,
                ChannelAccount.chat_id,
                Person.locale,
                ChannelAccount.blocked_at.is_not(None),
                func.coalesce(ChannelAccount.last_seen_at, ChannelAccount.created_at),
            )
            .join(Person, Person.id == ChannelAccount.person_id)
            .where(
                ChannelAccount.person_id.in_(select(people.c[0])),
                # An app's users are no chat: their app hears it by webhook.
                (ChannelAccount.channel == Channel.APP)
                if apps
                else (ChannelAccount.channel != Channel.APP),
            )
        )
        query = self._in_locale(query, audience.locale)
        return [tuple(row) for row in await self.session.execute(query)]

    async def opted_out(self, topic: Topic) -> set[int]:
        query = select(BroadcastOptOut.person_id).where(BroadcastOptOut.topic == topic)
        return set((await self.session.scalars(query)).all())

    async def opt_outs_of(self, person_id: int) -> set[Topic]:
        query = select(BroadcastOptOut.topic).where(BroadcastOptOut.person_id == person_id)
        return set((await self.session.scalars(query)).all())

    async def set_opt_out(self, person_id: int, topic: Topic, out: bool) -> None:
        found = (
            await self.session.scalars(
                select(BroadcastOptOut).where(
                    BroadcastOptOut.person_id == person_id, BroadcastOptOut.topic == topic
                )
            )
        ).one_or_none()
        if out and found is None:
            self.session.add(BroadcastOptOut(person_id=person_id, topic=topic))
        elif not out and found is not None:
            await self.session.delete(found)
        await self.session.flush()

    # ------------------------------------------------------------ scheduling

    async def due(self, now: datetime) -> list[int]:
        query = select(Broadcast.id).where(
            Broadcast.state == BroadcastState.SCHEDULED, Broadcast.scheduled_at <= now
        )
        return list((await self.session.scalars(query)).all())

    async def active(self) -> list[Broadcast]:
        """Broadcasts going out, paused, or finished but not yet reported to their author
        (without their photos: this runs every few seconds)."""
        query = (
            select(Broadcast)
            .options(defer(Broadcast.photo))
            .where(
                or_(
                    Broadcast.state.in_((BroadcastState.SENDING, BroadcastState.PAUSED)),
                    and_(
                        Broadcast.state.in_((BroadcastState.DONE, BroadcastState.CANCELLED)),
                        Broadcast.reported_at.is_(None),
                        Broadcast.started_at.is_not(None),
                    ),
                )
            )
        )
        return list((await self.session.scalars(query)).all())

    async def of_author(self, person_id: int, limit: int) -> list[Broadcast]:
        query = (
            select(Broadcast)
            .where(Broadcast.author_id == person_id)
            .order_by(Broadcast.id.desc())
            .limit(limit)
        )
        return list((await self.session.scalars(query)).all())

    # ------------------------------------------------------------ the outbox

    async def claim(
        self, channel: Channel, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[OutboxMessage]:
        """Take up to `limit` queued rows of this channel whose broadcast is going out and
        nobody holds (or whose holder's lease ran out), urgent broadcasts first."""
        sending = select(Broadcast.id).where(Broadcast.state == BroadcastState.SENDING)
        query = (
            select(OutboxMessage)
            .join(Broadcast, Broadcast.id == OutboxMessage.broadcast_id)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.state == DeliveryState.QUEUED,
                OutboxMessage.not_before <= now,
                OutboxMessage.broadcast_id.in_(sending),
                or_(OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at < now - lease),
            )
            .order_by(Broadcast.urgent.desc(), OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=OutboxMessage)
        )
        rows = list((await self.session.scalars(query)).all())
        for row in rows:
            row.claimed_by, row.claimed_at = owner, now
        await self.session.flush()
        return rows

    async def start_sending(self, row_id: int, owner: str, now: datetime, lease: timedelta) -> bool:
        """Mark a claimed row `sending` before the platform is called, restarting its lease
        from now (recovery measures from here): False when it is no longer ours to send
        (our claim ran out, it was claimed again elsewhere, paused, cancelled)."""
        sending = select(Broadcast.id).where(Broadcast.state == BroadcastState.SENDING)
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                OutboxMessage.claimed_by == owner,
                OutboxMessage.claimed_at >= now - lease,
                OutboxMessage.state == DeliveryState.QUEUED,
                OutboxMessage.broadcast_id.in_(sending),
            )
            .values(
                state=DeliveryState.SENDING, attempts=OutboxMessage.attempts + 1, claimed_at=now
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def finish(
        self, row_id: int, state: DeliveryState, now: datetime, error: str = ""
    ) -> None:
        values: dict[str, Any] = {"state": state, "error": error[:200]}
        if state in (DeliveryState.SENT, DeliveryState.TEMPLATE):
            values["sent_at"] = now
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def attempts(self, row_id: int) -> int:
        row = await self.session.get(OutboxMessage, row_id)
        return row.attempts if row is not None else 0

    async def requeue(self, row_id: int, not_before: datetime) -> None:
        """Back to the queue (the platform asked to wait): the claim is dropped. A row whose
        broadcast was cancelled meanwhile is cancelled instead (nobody would ever send it)."""
        live = select(Broadcast.id).where(
            Broadcast.state.in_((BroadcastState.SENDING, BroadcastState.PAUSED))
        )
        state = case(
            (OutboxMessage.broadcast_id.in_(live), DeliveryState.QUEUED.value),
            else_=DeliveryState.CANCELLED.value,
        )
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.state == DeliveryState.SENDING)
            .values(state=state, not_before=not_before, claimed_by=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )

    async def defer(self, owner: str, row_id: int, not_before: datetime) -> None:
        """Give back a claimed row that was not started, due again at `not_before`."""
        await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                OutboxMessage.claimed_by == owner,
                OutboxMessage.state == DeliveryState.QUEUED,
            )
            .values(claimed_by=None, claimed_at=None, not_before=not_before)
            .execution_options(synchronize_session=False)
        )

    async def move_rows(self, channel: Channel, old_chat_id: str, new_chat_id: str) -> None:
        """Rows still to send into a chat that moved (a group that became a supergroup)."""
        await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.chat_id == old_chat_id,
                OutboxMessage.state.in_((DeliveryState.QUEUED, DeliveryState.SENDING)),
            )
            .values(chat_id=new_chat_id)
            .execution_options(synchronize_session=False)
        )

    async def release(self, owner: str, row_ids: Sequence[int]) -> None:
        """Give back claimed rows that were not started (paused, stopping)."""
        await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(list(row_ids)),
                OutboxMessage.claimed_by == owner,
                OutboxMessage.state == DeliveryState.QUEUED,
            )
            .values(claimed_by=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )

    async def mark_interrupted(self, before: datetime) -> int:
        """Rows left `sending` by a process that died: uncertain, never sent again."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.state == DeliveryState.SENDING,
                OutboxMessage.claimed_at < before,
            )
            .values(state=DeliveryState.UNCERTAIN, error="interrupted")
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def cancel_queued(self, broadcast_id: int) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.broadcast_id == broadcast_id,
                OutboxMessage.state == DeliveryState.QUEUED,
            )
            .values(state=DeliveryState.CANCELLED)
            .execution_options(synchronize_session=False)
        )

    async def counts(self, broadcast_id: int) -> dict[DeliveryState, int]:
        query = (
            select(OutboxMessage.state, func.count())
            .where(OutboxMessage.broadcast_id == broadcast_id)
            .group_by(OutboxMessage.state)
        )
        return {DeliveryState(s): int(n) for s, n in await self.session.execute(query)}

    async def errors(self, broadcast_id: int) -> dict[str, int]:
        query = (
            select(OutboxMessage.error, func.count())
            .where(
                OutboxMessage.broadcast_id == broadcast_id,
                OutboxMessage.state.in_(
                    (DeliveryState.FAILED, DeliveryState.BLOCKED, DeliveryState.UNCERTAIN)
                ),
            )
            .group_by(OutboxMessage.error)
        )
        return {str(e): int(n) for e, n in await self.session.execute(query)}

    async def sent_to_groups(self, broadcast_id: int) -> int:
        """Posts delivered into community group chats."""
        query = select(func.count(OutboxMessage.id)).where(
            OutboxMessage.broadcast_id == broadcast_id,
            OutboxMessage.group_id.is_not(None),
            OutboxMessage.state == DeliveryState.SENT,
        )
        return int((await self.session.scalar(query)) or 0)

    async def row_for(self, broadcast_id: int, person_id: int) -> OutboxMessage | None:
        query = select(OutboxMessage).where(
            OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.person_id == person_id
        )
        return (await self.session.scalars(query)).one_or_none()

    async def sign_ups_from(self, broadcast: Broadcast) -> int:
        """Volunteers who got the call and signed up to one of the project's shifts after it
        went out."""
        if broadcast.project_id is None or broadcast.started_at is None:
            return 0
        recipients = select(OutboxMessage.person_id).where(
            OutboxMessage.broadcast_id == broadcast.id, OutboxMessage.state == DeliveryState.SENT
        )
        query = (
            select(func.count(func.distinct(ShiftSignup.person_id)))
            .join(Shift, Shift.id == ShiftSignup.shift_id)
            .where(
                Shift.project_id == broadcast.project_id,
                ShiftSignup.person_id.in_(recipients),
                ShiftSignup.created_at >= broadcast.started_at,
                ShiftSignup.status != SignupStatus.CANCELLED,
            )
        )
        return int((await self.session.scalar(query)) or 0)

    async def mark_blocked(self, channel: Channel, chat_id: str, now: datetime | None) -> None:
        await self.session.execute(
            update(ChannelAccount)
            .where(ChannelAccount.channel == channel, ChannelAccount.chat_id == chat_id)
            .values(blocked_at=now)
            .execution_options(synchronize_session=False)
        )

    # ------------------------------------------------------------ emergencies

    async def emergency(self, emergency_id: int, *, lock: bool = False) -> Emergency | None:
        query = select(Emergency).where(Emergency.id == emergency_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def lock_communities(self, community_ids: Sequence[int]) -> None:
        query = (
            select(Community.id)
            .where(Community.id.in_(list(community_ids)))
            .order_by(Community.id)
            .with_for_update()
        )
        await self.session.execute(query)

    async def emergencies_active(self) -> list[Emergency]:
        query = select(Emergency).where(Emergency.ended_at.is_(None)).order_by(Emergency.id)
        return list((await self.session.scalars(query)).all())

    async def active_for(self, community_id: int, street_id: int) -> Emergency | None:
        query = (
            select(Emergency)
            .where(
                Emergency.ended_at.is_(None),
                or_(
                    and_(
                        Emergency.level == ScopeLevel.COMMUNITY, Emergency.scope_id == community_id
                    ),
                    and_(Emergency.level == ScopeLevel.STREET, Emergency.scope_id == street_id),
                ),
            )
            .order_by(Emergency.id.desc())
            .limit(1)
        )
        return (await self.session.scalars(query)).first()

    async def communities_of_emergency(self, emergency: Emergency) -> list[int]:
        if emergency.level is ScopeLevel.COMMUNITY:
            return [emergency.scope_id]
        query = select(Community.id).where(Community.street_id == emergency.scope_id)
        return list((await self.session.scalars(query.order_by(Community.id))).all())

    async def emergency_shifts(self, emergency_id: int) -> dict[int, int]:
        query = select(EmergencyShift.community_id, EmergencyShift.shift_id).where(
            EmergencyShift.emergency_id == emergency_id
        )
        return {int(c): int(s) for c, s in await self.session.execute(query)}

    async def roll_call(self, emergency_id: int, person_id: int) -> RollCall | None:
        query = select(RollCall).where(
            RollCall.emergency_id == emergency_id, RollCall.person_id == person_id
        )
        return (await self.session.scalars(query)).one_or_none()

    async def roll_calls(self, emergency_id: int) -> list[RollCall]:
        query = select(RollCall).where(RollCall.emergency_id == emergency_id)
        return list((await self.session.scalars(query.order_by(RollCall.id))).all())

    async def mobilised(self, emergency_id: int) -> list[int]:
        """Everyone the mobilisation went to (sent or not), to list who has not answered."""
        query = (
            select(OutboxMessage.person_id)
            .join(Broadcast, Broadcast.id == OutboxMessage.broadcast_id)
            .where(
                Broadcast.emergency_id == emergency_id,
                Broadcast.button == ButtonKind.ROLL_CALL,
                OutboxMessage.person_id.is_not(None),
            )
            .distinct()
        )
        return [p for p in (await self.session.scalars(query)).all() if p is not None]

    async def checked_in(self, shift_ids: Sequence[int]) -> set[int]:
        query = select(ServiceRecord.person_id).where(ServiceRecord.shift_id.in_(list(shift_ids)))
        return set((await self.session.scalars(query)).all())

    async def names(self, person_ids: Sequence[int]) -> dict[int, str]:
        query = select(Person.id, Person.display_name).where(Person.id.in_(list(set(person_ids))))
        return {int(i): shown_name(n, int(i)) for i, n in await self.session.execute(query)}
