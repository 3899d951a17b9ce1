"""Organisations (/org): a person registers one and becomes its admin, invites members with a
link, and a community or street worker verifies it. Only verified organisations publish
projects or hold funds."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from bot.domain.enums import (
    ORGANISATION_ROLES,
    OrganisationType,
    RegistrationStatus,
    Role,
    ScopeLevel,
)
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.policy import VERIFYING_ROLES
from bot.domain.principal import Principal
from bot.services import audit
from bot.services.places import place_of
from bot.services.ports import Notice, Notifier
from storage.models import Organisation, OrganisationInvite, RoleGrant
from storage.types import utcnow
from storage.uow import UnitOfWork

INVITE_VALID = timedelta(days=7)
MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class OrgView:
    id: int
    name: str
    type: OrganisationType
    registration: RegistrationStatus
    registration_number: str | None
    contact: str | None
    verified: bool
    rejection_reason: str | None
    communities: tuple[int, ...]


_audit = partial(audit.step, entity="organisation")


def _view(org: Organisation, communities: Sequence[int]) -> OrgView:
    return OrgView(
        org.id,
        org.name,
        org.type,
        org.registration,
        org.registration_number,
        org.contact,
        org.verified_at is not None,
        org.rejection_reason,
        tuple(communities),
    )


async def _view_of(uow: UnitOfWork, org: Organisation) -> OrgView:
    return _view(org, await uow.org_directory.communities_of(org.id))


def member_of(principal: Principal, organisation_id: int, *roles: Role) -> bool:
    wanted = roles or tuple(ORGANISATION_ROLES)
    return principal.is_superadmin or any(
        g.role in wanted and g.organisation_id == organisation_id for g in principal.grants
    )


async def register(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    name: str,
    type: OrganisationType,
    registration: RegistrationStatus,
    registration_number: str | None,
    contact: str,
    community_ids: Sequence[int] = (),
) -> OrgView:
    name = " ".join(name.split())
    number = _checked_registration(name, registration, registration_number)
    if principal.home is None:
        raise Conflict("no_home_community")
    home = principal.home.community_id
    async with uow:
        org = await _add_unique(
            uow,
            Organisation(
                name=name,
                type=type,
                registration=registration,
                registration_number=number,
                contact=" ".join(contact.split())[:200] or None,
                community_id=home,
                created_by=principal.person_id,
            ),
        )
        communities = [home, *[c for c in community_ids if c != home]]
        await uow.org_directory.set_communities(org.id, communities)
        await _make_admin(uow, principal, org)
        workers = await _community_workers(uow, home)
        view = _view(org, communities)
        await uow.commit()
    await notifier.send(
        [Notice(person_id, "organisation.registered", {"name": name}) for person_id in workers]
    )
    return view


async def _add_unique(uow: UnitOfWork, org: Organisation) -> Organisation:
    """Stored, unless an organisation of that name exists (or is stored meanwhile)."""
    if await uow.organisations.by_name(org.name) is not None:
        raise Conflict("organisation_name_taken")
    added = await uow.organisations.add_unique(org)
    if added is None:
        raise Conflict("organisation_name_taken")
    return added


def _checked_registration(
    name: str, registration: RegistrationStatus, registration_number: str | None
) -> str | None:
    """The name's length checked; the registration number, required once registered."""
    if not 2 <= len(name) <= MAX_NAME:
        raise InvalidInput("name", "length")
    number = " ".join((registration_number or "").split())[:64] or None
    if registration is not RegistrationStatus.NONE and not number:
        raise InvalidInput("registration_number", "missing")
    return number


async def _make_admin(uow: UnitOfWork, principal: Principal, org: Organisation) -> None:
    """Who registers an organisation is its first admin."""
    await _grant(uow, principal.person_id, Role.ORG_ADMIN, org, principal.person_id)
    _audit(uow, principal, "organisation.register", org.id)


async def _grant(
    uow: UnitOfWork, person_id: int, role: Role, org: Organisation, granted_by: int | None
) -> None:
    """A role in the organisation, scoped to its home community."""
    assert org.community_id is not None
    await uow.grants.add(
        RoleGrant(
            person_id=person_id,
            role=role,
            scope_level=ScopeLevel.COMMUNITY,
            community_id=org.community_id,
            organisation_id=org.id,
            granted_by=granted_by,
        )
    )


async def _community_workers(uow: UnitOfWork, community_id: int) -> list[int]:
    community = await uow.places.community(community_id)
    assert community is not None
    workers = await uow.grants.people_with_roles_covering(
        place_of(community), (Role.COMMUNITY_WORKER,)
    )
    return [person_id for person_id, _, _ in workers]


async def mine(uow: UnitOfWork, principal: Principal) -> tuple[OrgView, ...]:
    async with uow:
        orgs = await uow.org_directory.of_member(principal.person_id)
        return tuple([await _view_of(uow, o) for o in orgs])


async def get(uow: UnitOfWork, *, organisation_id: int) -> OrgView:
    async with uow:
        org = await uow.organisations.get(organisation_id)
        if org is None:
            raise NotFound("organisation", organisation_id)
        return await _view_of(uow, org)


async def invite(
    uow: UnitOfWork, principal: Principal, *, organisation_id: int, now: datetime | None = None
) -> str:
    """A link token for new members; only the organisation's admins make one."""
    now = now or utcnow()
    if not member_of(principal, organisation_id, Role.ORG_ADMIN):
        raise PermissionDenied()
    token = secrets.token_urlsafe(12)
    async with uow:
        uow.org_directory.add_invite(
            OrganisationInvite(
                token=token,
                organisation_id=organisation_id,
                created_by=principal.person_id,
                expires_at=now + INVITE_VALID,
            )
        )
        await uow.commit()
    return token


async def join(
    uow: UnitOfWork, principal: Principal, *, token: str, now: datetime | None = None
) -> OrgView:
    now = now or utcnow()
    async with uow:
        invitation = await _valid_invitation(uow, principal, token, now)
        org = await uow.organisations.get(invitation.organisation_id)
        assert org is not None and org.community_id is not None
        await _grant(uow, principal.person_id, Role.ORG_MEMBER, org, invitation.created_by)
        _audit(uow, principal, "organisation.join", org.id)
        view = await _view_of(uow, org)
        await uow.commit()
        return view


async def _valid_invitation(
    uow: UnitOfWork, principal: Principal, token: str, now: datetime
) -> OrganisationInvite:
    """An unexpired invitation to an organisation the person is not a member of yet."""
    invitation = await uow.org_directory.invite(token)
    if invitation is None or invitation.expires_at <= now:
        raise NotFound("invite", token)
    if member_of(principal, invitation.organisation_id):
        raise Conflict("already_member")
    return invitation


async def pending(uow: UnitOfWork, principal: Principal) -> tuple[OrgView, ...]:
    async with uow:
        communities = await uow.places.communities_covered(principal, VERIFYING_ROLES)
        return tuple(
            [await _view_of(uow, o) for o in await uow.org_directory.pending_in(communities)]
        )


async def verify(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    organisation_id: int,
    approve: bool,
    reason: str = "",
    now: datetime | None = None,
) -> OrgView:
    now = now or utcnow()
    reason = " ".join(reason.split())[:500]
    if not approve and not reason:
        raise InvalidInput("reason", "empty")
    async with uow:
        org = await _verifiable(uow, principal, organisation_id)
        if org.verified_at is not None:
            raise Conflict("organisation_verified")
        _decide(uow, principal, org, approve, reason, now)
        admins = await uow.grants.organisation_members(org.id)
        view = await _view_of(uow, org)
        await uow.commit()
    message = "organisation.verified" if approve else "organisation.refused"
    await notifier.send(
        [Notice(p, message, {"name": view.name, "reason": reason or "-"}) for p in admins]
    )
    return view


async def _verifiable(uow: UnitOfWork, principal: Principal, organisation_id: int) -> Organisation:
    """The organisation (locked), if the principal verifies in its community."""
    org = await uow.organisations.get(organisation_id, lock=True)
    if org is None or org.community_id is None:
        raise NotFound("organisation", organisation_id)
    community = await uow.places.community(org.community_id)
    assert community is not None
    if not principal.can_act_in(place_of(community), *VERIFYING_ROLES):
        raise PermissionDenied()
    return org


def _decide(
    uow: UnitOfWork,
    principal: Principal,
    org: Organisation,
    approve: bool,
    reason: str,
    now: datetime,
) -> None:
    if approve:
        org.verified_at, org.verified_by, org.rejection_reason = now, principal.person_id, None
    else:
        org.rejection_reason = reason
    _audit(
        uow,
        principal,
        "organisation.verify" if approve else "organisation.refuse",
        org.id,
        note=reason or None,
    )
