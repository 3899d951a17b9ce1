"""One-time links to the dashboard page: a street or district admin asks in chat, gets a link
valid ten minutes; opening it once starts a browser session scoped to that admin's area."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.enums import ScopeLevel
from bot.domain.errors import PermissionDenied
from bot.domain.policy import DASHBOARD_ROLES
from bot.domain.principal import Principal
from bot.services import people
from bot.services.kpis import units
from bot.services.views import Unit
from storage.models import DashboardLink
from storage.types import utcnow
from storage.uow import UnitOfWork

LINK_MINUTES = 10


@dataclass(frozen=True, slots=True)
class Session:
    person_id: int
    level: ScopeLevel
    scope_id: int
    locale: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_link(
    uow: UnitOfWork, principal: Principal, *, unit: Unit, now: datetime | None = None
) -> str:
    """A token for `unit` (one of the admin's own); only its hash is stored."""
    now = now or utcnow()
    allowed = await units(uow, principal, DASHBOARD_ROLES)
    if not any((u.level, u.id) == (unit.level, unit.id) for u in allowed):
        raise PermissionDenied()
    token = secrets.token_urlsafe(24)
    async with uow:
        uow.dashboards.add_link(_link(token, principal, unit, now))
        uow.audit.record(
            actor_id=principal.person_id,
            action="dashboard.link",
            entity=unit.level.value,
            entity_id=unit.id,
        )
        await uow.commit()
    return token


def _link(token: str, principal: Principal, unit: Unit, now: datetime) -> DashboardLink:
    return DashboardLink(
        token_hash=_hash(token),
        person_id=principal.person_id,
        level=unit.level,
        scope_id=unit.id,
        locale=principal.locale,
        created_at=now,
        expires_at=now + timedelta(minutes=LINK_MINUTES),
    )


async def open_link(uow: UnitOfWork, *, token: str, now: datetime | None = None) -> Session:
    """Use a link: once, before it expires (an expired, reused or unknown one is refused)."""
    now = now or utcnow()
    async with uow:
        used = await uow.dashboards.use_link(_hash(token), now)
        if used is None:
            raise PermissionDenied()
        await uow.commit()
        return Session(*used)


async def principal_for(uow: UnitOfWork, session: Session) -> Principal:
    """The admin behind a session, with their grants as they are now (a revoked grant ends
    what the session may see)."""
    async with uow:
        found = await people.principal_of(uow, session.person_id)
    if found is None:
        raise PermissionDenied()
    return found
