"""Service certificates (志愿服务证明): issued from confirmed records only, stored so that anyone
holding one can check it with /verify or the HTTP page, which also says when a record on it was
reversed after the certificate was issued."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.documents import CertificateData, ServiceLine, render_certificate
from bot.domain.contacts import is_channel_label
from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.domain.principal import Principal
from bot.services import volunteers
from storage.models import Certificate, ServiceRecord, Volunteer
from storage.types import utcnow
from storage.uow import UnitOfWork

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
MAX_PERIOD = timedelta(days=366 * 10)


@dataclass(frozen=True, slots=True)
class Issued:
    number: str
    code: str
    total_minutes: int
    records: int
    pdf: bytes


@dataclass(frozen=True, slots=True)
class Verification:
    number: str
    masked_name: str
    volunteer_number: str
    period_start: date
    period_end: date
    total_minutes: int
    records: int
    issuer: str
    issued_on: date
    reversed_records: int  # records on it that no longer count (a failed spot check)


@dataclass(frozen=True, slots=True)
class CertificateView:
    """A certificate its holder has: the code is what /verify and the verify page check."""

    number: str
    code: str
    period_start: date
    period_end: date
    total_minutes: int
    records: int
    issuer: str
    issued_at: datetime


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    return "".join(text.split()).upper()


def mask_name(name: str) -> str:
    """张小明 -> 张*明, 李明 -> 李*: enough to match the person in front of you, not more."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


async def issue(
    uow: UnitOfWork,
    principal: Principal,
    *,
    period_start: date,
    period_end: date,
    tz: ZoneInfo,
    public_url: str,
    now: datetime | None = None,
) -> Issued:
    now = now or utcnow()
    today = now.astimezone(tz).date()
    period_end = min(period_end, today)
    if period_start > period_end or period_end - period_start > MAX_PERIOD:
        raise InvalidInput("period", "range")
    async with uow:
        volunteer = await volunteers.verified(uow, principal)
        records = await _confirmed_records(uow, principal.person_id, period_start, period_end, tz)
        names = await _community_names(
            uow, {r.community_id for r in records} | {volunteer.home_community_id}
        )
        certificate = await _stored(
            uow, principal, volunteer, records, names, (period_start, period_end), now
        )
        _numbered(uow, principal, certificate, today)
        data = _printed(certificate, records, names, tz, today, public_url)
        # Render before committing: a certificate that cannot be printed is not issued.
        pdf = await asyncio.to_thread(render_certificate, data)
        await uow.commit()
        return Issued(
            certificate.number, certificate.code, certificate.total_minutes, len(records), pdf
        )


async def _stored(
    uow: UnitOfWork,
    principal: Principal,
    volunteer: Volunteer,
    records: list[ServiceRecord],
    names: dict[int, str],
    period: tuple[date, date],
    now: datetime,
) -> Certificate:
    """The certificate's row, numbered "pending" until its id is known."""
    code = new_code()
    return await uow.certificates.add(
        Certificate(
            number=f"pending-{code}",
            code=code,
            person_id=principal.person_id,
            volunteer_name=volunteer.real_name,
            volunteer_number=volunteer.number or "",
            masked_id=volunteer.id_number_masked,
            period_start=period[0],
            period_end=period[1],
            total_minutes=sum(r.minutes for r in records),
            record_ids=[r.id for r in records],
            issuer=names[volunteer.home_community_id],
            person_in_charge=await _signatory(uow, volunteer.verified_by),
            issued_at=now,
        )
    )


async def _confirmed_records(
    uow: UnitOfWork, person_id: int, period_start: date, period_end: date, tz: ZoneInfo
) -> list[ServiceRecord]:
    """The person's confirmed records with time on them, in the period's local days."""
    start = datetime.combine(period_start, time(), tzinfo=tz)
    end = datetime.combine(period_end + timedelta(days=1), time(), tzinfo=tz)
    records = [
        r for r in await uow.records.confirmed_of_person(person_id, start, end) if r.minutes > 0
    ]
    if not records:
        raise Conflict("no_confirmed_hours")
    return records


async def _community_names(uow: UnitOfWork, community_ids: set[int]) -> dict[int, str]:
    names = {}
    for community_id in community_ids:
        community = await uow.places.community(community_id)
        assert community is not None
        names[community_id] = community.name
    return names


def _numbered(uow: UnitOfWork, principal: Principal, certificate: Certificate, today: date) -> None:
    """The row id makes the number unique without a counter to race on."""
    certificate.number = f"ZS-{today.year}-{certificate.id:06d}"
    uow.audit.record(
        actor_id=principal.person_id,
        action="certificate.issue",
        entity="certificate",
        entity_id=certificate.id,
        details={"minutes": certificate.total_minutes, "records": len(certificate.record_ids)},
    )


def _printed(
    certificate: Certificate,
    records: list[ServiceRecord],
    names: dict[int, str],
    tz: ZoneInfo,
    today: date,
    public_url: str,
) -> CertificateData:
    """What the PDF shows: the certificate, one line per record, and how to verify it."""
    return CertificateData(
        certificate_number=certificate.number,
        volunteer_name=certificate.volunteer_name,
        volunteer_number=certificate.volunteer_number or "—",
        masked_id=certificate.masked_id,
        period_start=certificate.period_start,
        period_end=certificate.period_end,
        total_minutes=certificate.total_minutes,
        lines=_lines(records, names, tz),
        issuer=certificate.issuer,
        person_in_charge=certificate.person_in_charge,
        issued_on=today,
        verification_code=certificate.code,
        verification_url=f"{public_url.rstrip('/')}/verify/{certificate.code}",
    )


def _lines(
    records: list[ServiceRecord], names: dict[int, str], tz: ZoneInfo
) -> tuple[ServiceLine, ...]:
    """One line per record: its local day, what and where, the organising community."""
    return tuple(
        ServiceLine(
            date=r.checked_in_at.astimezone(tz).date(),
            content=r.content,
            place=r.place,
            organiser=names[r.community_id],
            minutes=r.minutes,
        )
        for r in records
    )


async def _signatory(uow: UnitOfWork, person_id: int | None) -> str:
    """Who signs for the community: the worker who verified the volunteer, by their
    registered real name (their own volunteer profile), else the name they gave — never a
    chat id; "—" leaves the line to be signed by hand."""
    if person_id is None:
        return "—"
    registered = await uow.volunteers.of_person(person_id)
    if registered is not None and registered.real_name.strip():
        return registered.real_name.strip()[:100]
    person = await uow.people.get(person_id)
    name = (person.display_name if person else "").strip()
    return name[:100] if name and not is_channel_label(name) else "—"


async def verify(uow: UnitOfWork, *, code: str, tz: ZoneInfo) -> Verification:
    code = normalise_code(code)
    if not (code.isascii() and code.isalnum() and len(code) == CODE_LENGTH):
        raise NotFound("certificate", code)
    async with uow:
        certificate = await uow.certificates.by_code(code)
        if certificate is None:
            raise NotFound("certificate", code)
        reversed_records = await uow.certificates.failed_among(certificate.record_ids)
        return _verification(certificate, tz, reversed_records)


def _verification(certificate: Certificate, tz: ZoneInfo, reversed_records: int) -> Verification:
    """What the verifier is shown: the holder's name masked."""
    return Verification(
        number=certificate.number,
        masked_name=mask_name(certificate.volunteer_name),
        volunteer_number=certificate.volunteer_number,
        period_start=certificate.period_start,
        period_end=certificate.period_end,
        total_minutes=certificate.total_minutes,
        records=len(certificate.record_ids),
        issuer=certificate.issuer,
        issued_on=certificate.issued_at.astimezone(tz).date(),
        reversed_records=reversed_records,
    )


async def of_person(uow: UnitOfWork, principal: Principal) -> tuple[CertificateView, ...]:
    """The certificates issued to the person, newest first."""
    async with uow:
        rows = await uow.certificates.of_person(principal.person_id)
        return tuple(_view(c) for c in rows)


def _view(c: Certificate) -> CertificateView:
    return CertificateView(
        number=c.number,
        code=c.code,
        period_start=c.period_start,
        period_end=c.period_end,
        total_minutes=c.total_minutes,
        records=len(c.record_ids),
        issuer=c.issuer,
        issued_at=c.issued_at,
    )
