"""Consents, the access log, and the queries behind a person's data export and erasure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import Channel
from bot.domain.privacy import Purpose
from bot.domain.timebank import AccountKind
from bot.domain.volunteers import SignupStatus, VolunteerStatus
from storage.models import (
    AccessLogEntry,
    ApiClient,
    AuditEntry,
    Base,
    BroadcastOptOut,
    Certificate,
    ChannelAccount,
    ConsultationOpinion,
    ConsultationParticipant,
    ConsultationSeat,
    ConsultationVote,
    DashboardLink,
    LedgerEntry,
    LinkCode,
    Need,
    NeedFeedback,
    NeedSupporter,
    Person,
    PointsEntry,
    PrivacyConsent,
    RecordCorrection,
    Redemption,
    RoleGrant,
    ServiceRecord,
    Shift,
    ShiftSignup,
    SurveyAnswer,
    SurveyResponse,
    TimeTransfer,
    Volunteer,
    VolunteerCommunity,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

# Columns never exported: secrets that open or find things, not information about the person.
SECRET_COLUMNS = frozenset(
    {"id_number_encrypted", "id_number_hash", "token_hash", "token", "voter_key"}
)


def _row(obj: Base) -> dict[str, Any]:
    return {
        column.key: getattr(obj, column.key)
        for column in obj.__table__.columns
        if column.key not in SECRET_COLUMNS
    }


class PrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        """Send the pending changes, so that the next read in this transaction sees them."""
        await self.session.flush()

    # ------------------------------------------------------------ consents

    def add_consent(self, consent: PrivacyConsent) -> None:
        self.session.add(consent)

    async def consents_of(self, person_id: int) -> Sequence[PrivacyConsent]:
        query = (
            select(PrivacyConsent)
            .where(PrivacyConsent.person_id == person_id)
            .order_by(PrivacyConsent.given_at, PrivacyConsent.id)
        )
        return (await self.session.scalars(query)).all()

    async def active_purposes(self, person_id: int, version: str | None = None) -> set[Purpose]:
        query = select(PrivacyConsent.purpose).where(
            PrivacyConsent.person_id == person_id, PrivacyConsent.withdrawn_at.is_(None)
        )
        if version is not None:
            query = query.where(
                or_(PrivacyConsent.version == version, PrivacyConsent.purpose == Purpose.GUARDIAN)
            )
        return set((await self.session.scalars(query)).all())

    async def withdraw_all(self, person_id: int, at: datetime) -> int:
        result = await self.session.execute(
            update(PrivacyConsent)
            .where(PrivacyConsent.person_id == person_id, PrivacyConsent.withdrawn_at.is_(None))
            .values(withdrawn_at=at)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def minors_waiting(self, communities: Sequence[int]) -> Sequence[Volunteer]:
        """Pending registrations of children under 14 with no guardian's consent yet."""
        consented = select(PrivacyConsent.person_id).where(
            PrivacyConsent.purpose == Purpose.GUARDIAN, PrivacyConsent.withdrawn_at.is_(None)
        )
        query = (
            select(Volunteer)
            .where(
                Volunteer.home_community_id.in_(communities),
                Volunteer.status == VolunteerStatus.PENDING,
                Volunteer.guardian_required.is_(True),
                Volunteer.person_id.not_in(consented),
            )
            .order_by(Volunteer.registered_at, Volunteer.id)
        )
        return (await self.session.scalars(query)).all()

    # ------------------------------------------------------------ the access log

    def log_access(self, entry: AccessLogEntry) -> None:
        self.session.add(entry)

    async def access_page(
        self, districts: Sequence[int] | None, offset: int, limit: int
    ) -> tuple[Sequence[AccessLogEntry], int]:
        where: list[ColumnElement[bool]] = []
        if districts is not None:
            where.append(AccessLogEntry.district_id.in_(districts))
        total = await self.session.scalar(
            select(func.count()).select_from(AccessLogEntry).where(*where)
        )
        query = (
            select(AccessLogEntry)
            .where(*where)
            .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all(), int(total or 0)

    async def prune_access(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(AccessLogEntry).where(AccessLogEntry.at < before)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def names(self, person_ids: Sequence[int]) -> dict[int, str]:
        if not person_ids:
            return {}
        rows = await self.session.execute(
            select(Person.id, Person.display_name).where(Person.id.in_(person_ids))
        )
        return {pid: name for pid, name in rows}

    # ------------------------------------------------------------ export

    async def _all(self, model: type[Base], *where: ColumnElement[bool]) -> list[dict[str, Any]]:
        query = select(model).where(*where)
        return [_row(obj) for obj in (await self.session.scalars(query)).all()]

    async def everything_about(self, person_id: int) -> dict[str, list[dict[str, Any]]]:
        """Every stored row about the person, by section, as column → value."""
        volunteers = await self._all(Volunteer, Volunteer.person_id == person_id)
        volunteer_ids = [v["id"] for v in volunteers]
        responses = await self._all(SurveyResponse, SurveyResponse.person_id == person_id)
        audit_about = or_(
            AuditEntry.actor_id == person_id,
            and_(AuditEntry.entity == "person", AuditEntry.entity_id == person_id),
            and_(AuditEntry.entity == "volunteer", AuditEntry.entity_id.in_(volunteer_ids)),
        )
        return {
            "profile": await self._all(Person, Person.id == person_id),
            "accounts": await self._all(ChannelAccount, ChannelAccount.person_id == person_id),
            "roles": await self._all(RoleGrant, RoleGrant.person_id == person_id),
            "consents": await self._all(PrivacyConsent, PrivacyConsent.person_id == person_id),
            "volunteer": volunteers,
            "volunteer_communities": await self._all(
                VolunteerCommunity, VolunteerCommunity.volunteer_id.in_(volunteer_ids)
            ),
            "requests": await self._all(Need, Need.resident_id == person_id),
            "requests_supported": await self._all(
                NeedSupporter, NeedSupporter.person_id == person_id
            ),
            "request_feedback": await self._all(NeedFeedback, NeedFeedback.person_id == person_id),
            "survey_responses": responses,
            "survey_answers": await self._all(
                SurveyAnswer, SurveyAnswer.response_id.in_([r["id"] for r in responses])
            ),
            "shift_signups": await self._all(ShiftSignup, ShiftSignup.person_id == person_id),
            "service_records": await self._all(ServiceRecord, ServiceRecord.person_id == person_id),
            "record_corrections": await self._all(
                RecordCorrection, RecordCorrection.requested_by == person_id
            ),
            "time_bank": await self._all(
                LedgerEntry,
                LedgerEntry.account_kind == AccountKind.VOLUNTEER,
                LedgerEntry.account_owner == person_id,
            ),
            "time_transfers": await self._all(
                TimeTransfer,
                or_(TimeTransfer.proposed_by == person_id, TimeTransfer.accepted_by == person_id),
            ),
            "points": await self._all(PointsEntry, PointsEntry.person_id == person_id),
            "redemptions": await self._all(Redemption, Redemption.person_id == person_id),
            "certificates": await self._all(Certificate, Certificate.person_id == person_id),
            # Anonymous ballots carry no person: only named votes are found (and exported).
            "votes": await self._all(ConsultationVote, ConsultationVote.person_id == person_id),
            "opinions": await self._all(
                ConsultationOpinion, ConsultationOpinion.person_id == person_id
            ),
            "consultations": await self._all(
                ConsultationParticipant, ConsultationParticipant.person_id == person_id
            ),
            "consultation_seats": await self._all(
                ConsultationSeat, ConsultationSeat.person_id == person_id
            ),
            "broadcast_settings": await self._all(
                BroadcastOptOut, BroadcastOptOut.person_id == person_id
            ),
            "audit": await self._all(AuditEntry, audit_about),
            "access_log": await self._all(AccessLogEntry, AccessLogEntry.subject_id == person_id),
        }

    # ------------------------------------------------------------ erasure

    async def delete_accounts(self, person_id: int) -> int:
        result = await self.session.execute(
            delete(ChannelAccount).where(ChannelAccount.person_id == person_id)
        )
        await self.session.execute(delete(LinkCode).where(LinkCode.person_id == person_id))
        await self.session.execute(
            delete(DashboardLink).where(DashboardLink.person_id == person_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def forget_webhook_traces(self, person_id: int) -> int:
        """What the apps' webhooks hold of the person, gone before their accounts are: a
        delivery naming them (the app's own id of them) is dropped while still queued, and
        keeps only its type and time once sent; an event not yet fanned out loses its
        person-bound details. Returns the deliveries touched."""
        events = await self.session.scalars(
            select(WebhookEvent).where(WebhookEvent.person_id == person_id)
        )
        for event in events:
            event.person_id = None
            event.data = {k: v for k, v in event.data.items() if not k.startswith("_")}
        touched = 0
        for client_id, app_user in await self._app_users(person_id):
            subscriptions = (
                select(WebhookSubscription.id)
                .join(ApiClient, ApiClient.id == WebhookSubscription.client_pk)
                .where(ApiClient.client_id == client_id)
            )
            naming = await self.session.scalars(
                select(WebhookDelivery).where(
                    WebhookDelivery.subscription_id.in_(subscriptions),
                    WebhookDelivery.payload["data"]["person"].as_string() == app_user,
                )
            )
            for delivery in naming:
                touched += 1
                if delivery.state == "queued":
                    await self.session.delete(delivery)
                else:
                    what, when = delivery.payload.get("type"), delivery.payload.get("timestamp")
                    delivery.payload = {"type": what, "timestamp": when, "data": {}}
        return touched

    async def _app_users(self, person_id: int) -> list[tuple[str, str]]:
        """(app, the app's id of the person) for each app that acts for them."""
        accounts = await self.session.scalars(
            select(ChannelAccount.external_id).where(
                ChannelAccount.person_id == person_id, ChannelAccount.channel == Channel.APP
            )
        )
        pairs = (account.partition(":") for account in accounts)
        return [(app, user) for app, colon, user in pairs if colon]

    async def revoke_grants(self, person_id: int, at: datetime, roles: Sequence[Any] = ()) -> int:
        query = update(RoleGrant).where(
            RoleGrant.person_id == person_id, RoleGrant.revoked_at.is_(None)
        )
        if roles:
            query = query.where(RoleGrant.role.in_(roles))
        result = await self.session.execute(query.values(revoked_at=at, revoked_by=person_id))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def forget_need_details(self, person_id: int) -> int:
        """The requests' texts stay; their photo and location (which point at the person) go."""
        result = await self.session.execute(
            update(Need)
            .where(Need.resident_id == person_id)
            .values(photo=None, latitude=None, longitude=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def future_signups(self, person_id: int, now: datetime) -> Sequence[ShiftSignup]:
        """The person's places on shifts that have not started (confirmed or waiting)."""
        future = select(Shift.id).where(Shift.starts_at > now, Shift.cancelled_at.is_(None))
        query = (
            select(ShiftSignup)
            .where(
                ShiftSignup.person_id == person_id,
                ShiftSignup.status != SignupStatus.CANCELLED,
                ShiftSignup.shift_id.in_(future),
            )
            .order_by(ShiftSignup.shift_id)
        )
        return (await self.session.scalars(query)).all()

    async def anonymise_certificates(self, person_id: int, number: str) -> None:
        await self.session.execute(
            update(Certificate)
            .where(Certificate.person_id == person_id)
            .values(volunteer_name=number, masked_id="")
        )

    async def drop_volunteer_communities(self, volunteer_id: int) -> None:
        await self.session.execute(
            delete(VolunteerCommunity).where(VolunteerCommunity.volunteer_id == volunteer_id)
        )

    async def count_kept(self, person_id: int) -> tuple[int, int, int]:
        """(service records, time-bank entries, requests) that stay after an erasure."""
        records = await self.session.scalar(
            select(func.count())
            .select_from(ServiceRecord)
            .where(ServiceRecord.person_id == person_id)
        )
        entries = await self.session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(
                LedgerEntry.account_kind == AccountKind.VOLUNTEER,
                LedgerEntry.account_owner == person_id,
            )
        )
        needs = await self.session.scalar(
            select(func.count()).select_from(Need).where(Need.resident_id == person_id)
        )
        return int(records or 0), int(entries or 0), int(needs or 0)

    # ------------------------------------------------------------ key rotation

    async def volunteers_after(self, last_id: int, limit: int) -> Sequence[Volunteer]:
        query = (
            select(Volunteer)
            .where(Volunteer.id > last_id, Volunteer.id_number_encrypted != "")
            .order_by(Volunteer.id)
            .limit(limit)
            .with_for_update()
        )
        return (await self.session.scalars(query)).all()

    async def count_encrypted(self) -> int:
        return int(
            await self.session.scalar(
                select(func.count())
                .select_from(Volunteer)
                .where(Volunteer.id_number_encrypted != "")
            )
            or 0
        )
