"""The access log: reads of unmasked ID numbers, exports of personal data and actions on
someone's behalf — who, when, about whom, why. District admins read it; it is kept
ACCESS_LOG_RETENTION_DAYS (at least six months) and then pruned by the deadline loop."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import PermissionDenied
from bot.domain.principal import Principal
from bot.domain.privacy import Access
from storage.models import AccessLogEntry
from storage.types import utcnow
from storage.uow import UnitOfWork

PER_PAGE = 10


@dataclass(frozen=True, slots=True)
class AccessView:
    id: int
    at: datetime
    kind: Access
    actor_id: int | None
    actor_name: str
    subject_id: int | None
    subject_name: str
    reason: str


@dataclass(frozen=True, slots=True)
class AccessPage:
    items: tuple[AccessView, ...]
    page: int
    pages: int
    total: int


async def district_of(uow: UnitOfWork, person_id: int | None) -> int | None:
    if person_id is None:
        return None
    person = await uow.people.get(person_id)
    if person is None or person.community_id is None:
        return None
    community = await uow.places.community(person.community_id)
    return community.street.district_id if community is not None else None


async def record(
    uow: UnitOfWork,
    *,
    actor_id: int | None,
    subject_id: int | None,
    kind: Access,
    reason: str,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add an entry inside the caller's (entered) unit of work; the caller commits."""
    district_id = await district_of(uow, subject_id)
    _log(uow, actor_id, subject_id, district_id, kind, reason, details, at or utcnow())


def _log(
    uow: UnitOfWork,
    actor_id: int | None,
    subject_id: int | None,
    district_id: int | None,
    kind: Access,
    reason: str,
    details: Mapping[str, Any] | None,
    at: datetime,
) -> None:
    uow.privacy.log_access(
        AccessLogEntry(
            at=at,
            actor_id=actor_id or None,
            subject_id=subject_id,
            district_id=district_id,
            kind=kind,
            reason=reason[:200],
            details=dict(details or {}),
        )
    )


async def log_export(
    uow: UnitOfWork, principal: Principal, *, reason: str, details: Mapping[str, Any] | None = None
) -> None:
    """A file with other people's personal data left the system (e.g. a spot-check sheet with
    volunteers' names): one entry, filed under the exporting worker's district."""
    async with uow:
        actor_id = principal.person_id or None
        district_id = await district_of(uow, actor_id)
        _log(uow, actor_id, None, district_id, Access.EXPORT, reason, details, utcnow())
        await uow.commit()


def _districts(principal: Principal) -> list[int] | None:
    """None: every district (superadmins); otherwise the districts the admin holds."""
    if principal.is_superadmin:
        return None
    districts = [
        g.scope_id
        for g in principal.grants
        if g.role is Role.DISTRICT_ADMIN and g.level is ScopeLevel.DISTRICT
    ]
    if not districts:
        raise PermissionDenied()
    return districts


async def page(
    uow: UnitOfWork, principal: Principal, *, page: int = 0, per_page: int = PER_PAGE
) -> AccessPage:
    """One page of the access log of the admin's districts, newest first."""
    districts = _districts(principal)
    async with uow:
        rows, total = await uow.privacy.access_page(districts, max(page, 0) * per_page, per_page)
        ids = {p for r in rows for p in (r.actor_id, r.subject_id) if p is not None}
        names = await uow.privacy.names(sorted(ids))
        items = tuple(_access_view(r, names) for r in rows)
    pages = max(1, -(-total // per_page))
    return AccessPage(
        items=items,
        page=min(max(page, 0), pages - 1),
        pages=pages,
        total=total,
    )


def _access_view(row: AccessLogEntry, names: Mapping[int, str]) -> AccessView:
    return AccessView(
        id=row.id,
        at=row.at,
        kind=row.kind,
        actor_id=row.actor_id,
        actor_name=names.get(row.actor_id, "") if row.actor_id else "",
        subject_id=row.subject_id,
        subject_name=names.get(row.subject_id, "") if row.subject_id else "",
        reason=row.reason,
    )


async def prune(uow: UnitOfWork, *, keep_days: int, now: datetime | None = None) -> int:
    """Delete entries older than `keep_days`; returns how many went."""
    async with uow:
        removed = await uow.privacy.prune_access((now or utcnow()) - timedelta(days=keep_days))
        await uow.commit()
    return removed
