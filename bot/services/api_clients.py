"""City apps on the HTTP API: registered with scopes and an area, authenticated by a hashed
secret, acting for their own users (channel account `app`, external id "<client>:<user>")
with the same principal, and so the same permission checks, as in chat."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.policy import APP_AREA_ROLE
from bot.domain.principal import Grant, Place, Principal
from bot.services import people
from bot.services.places import community_row, place_of
from storage.models import ApiClient
from storage.types import utcnow
from storage.uow import UnitOfWork

SCOPES = frozenset(
    {
        "needs:write",
        "needs:read",
        "volunteers:read",
        "volunteers:write",
        "records:read",
        "projects:read",
        "kpis:read",
        "webhooks",
    }
)
# scrypt: memory-hard, in the standard library; a secret is checked once per token.
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
MAX_EXTERNAL_ID = 80
# A retry comes within minutes; the first answers are kept a day, then pruned.
KEYS_KEPT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ClientView:
    id: int
    client_id: str
    name: str
    scopes: frozenset[str]
    area_level: ScopeLevel
    area_id: int
    created_at: datetime
    revoked_at: datetime | None

    def covers(self, place: Place) -> bool:
        if self.area_level is ScopeLevel.DISTRICT:
            return place.district_id == self.area_id
        if self.area_level is ScopeLevel.STREET:
            return place.street_id == self.area_id
        return place.community_id == self.area_id


@dataclass(frozen=True, slots=True)
class Registered:
    client: ClientView
    secret: str  # shown once, never stored


def client_view(row: ApiClient) -> ClientView:
    return ClientView(
        id=row.id,
        client_id=row.client_id,
        name=row.name,
        scopes=frozenset(s for s in row.scopes.split(",") if s),
        area_level=row.area_level,
        area_id=row.area_id,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, **SCRYPT)


async def register(
    uow: UnitOfWork,
    *,
    name: str,
    scopes: list[str],
    area_level: ScopeLevel,
    area_id: int,
    by: int | None = None,
) -> Registered:
    name = _checked_app(name, scopes)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    async with uow:
        await _check_area(uow, area_level, area_id)
        row = await uow.api_clients.add(
            ApiClient(
                client_id="app_" + secrets.token_hex(8),
                name=name,
                secret_salt=salt,
                secret_hash=_hash(secret, salt),
                scopes=",".join(sorted(set(scopes))),
                area_level=area_level,
                area_id=area_id,
                created_at=utcnow(),
            )
        )
        uow.audit.record(
            actor_id=by,
            action="api.register_app",
            entity="api_client",
            entity_id=row.id,
            details={"scopes": row.scopes, "area": f"{area_level.value}:{area_id}"},
        )
        view = client_view(row)
        await uow.commit()
    return Registered(view, secret)


def _checked_app(name: str, scopes: list[str]) -> str:
    """The app's name, tidied, once it names known scopes."""
    name = " ".join(name.split())[:200]
    if not name:
        raise InvalidInput("name", "empty")
    unknown = sorted(set(scopes) - SCOPES)
    if unknown or not scopes:
        raise InvalidInput("scopes", ",".join(unknown) or "empty")
    return name


async def _check_area(uow: UnitOfWork, level: ScopeLevel, area_id: int) -> None:
    """The district, street or community the app is limited to exists."""
    if level is ScopeLevel.DISTRICT:
        found: object = await uow.places.district(area_id)
    elif level is ScopeLevel.STREET:
        found = await uow.places.street(area_id)
    else:
        found = await uow.places.community(area_id)
    if found is None:
        raise NotFound(level.value, area_id)


async def all_clients(uow: UnitOfWork) -> list[ClientView]:
    async with uow:
        return [client_view(row) for row in await uow.api_clients.all()]


async def revoke(uow: UnitOfWork, *, client_id: str, by: int | None = None) -> ClientView:
    async with uow:
        row = await uow.api_clients.by_client_id(client_id)
        if row is None:
            raise NotFound("api_client", client_id)
        if row.revoked_at is not None:
            raise Conflict("already_revoked")
        row.revoked_at = utcnow()
        uow.audit.record(
            actor_id=by, action="api.revoke_app", entity="api_client", entity_id=row.id
        )
        view = client_view(row)
        await uow.commit()
    return view


async def authenticate(uow: UnitOfWork, *, client_id: str, secret: str) -> ClientView | None:
    """The app when the secret is right and the app not revoked (compared in constant time;
    an unknown client id costs one scrypt too)."""
    async with uow:
        row = await uow.api_clients.by_client_id(client_id[:32])
        salt = row.secret_salt if row is not None else b"\0" * 16
        expected = row.secret_hash if row is not None else b"\0" * 32
        good = hmac.compare_digest(_hash(secret, salt), expected)
        if row is None or not good or row.revoked_at is not None:
            return None
        uow.audit.record(actor_id=None, action="api.token", entity="api_client", entity_id=row.id)
        view = client_view(row)
        await uow.commit()
    return view


async def active_client(uow: UnitOfWork, *, pk: int) -> ClientView | None:
    """The app behind a token, or None once it is revoked (its tokens stop working)."""
    async with uow:
        row = await uow.api_clients.get(pk)
        if row is None or row.revoked_at is not None:
            return None
        return client_view(row)


async def act_for(
    uow: UnitOfWork,
    client: ClientView,
    *,
    external_id: str,
    community_id: int | None,
    locale: str,
) -> Principal:
    """The principal of the app's user `external_id`, created on first use like any channel
    account. A person without a community is made a resident of `community_id` (inside the
    app's area); a person who lives outside the area cannot be acted for."""
    external_id = external_id.strip()
    if not external_id or len(external_id) > MAX_EXTERNAL_ID:
        raise InvalidInput("person", "length")
    account = f"{client.client_id}:{external_id}"
    identity = await people.identify(
        uow,
        channel=Channel.APP,
        external_id=account,
        chat_id=account,
        display_name="",
        fallback_locale=locale,
    )
    principal = identity.principal
    if principal.home is None and community_id is not None:
        await _require_in_area(uow, client, community_id)
        await people.join_community(uow, principal, community_id=community_id)
        async with uow:
            refreshed = await people.principal_of(uow, principal.person_id)
        assert refreshed is not None
        principal = refreshed
    if principal.home is not None and not client.covers(principal.home):
        raise PermissionDenied()
    return principal


async def link_person(
    uow: UnitOfWork, client: ClientView, *, external_id: str, code: str, locale: str
) -> Principal:
    """The app's user is the person who asked for this /link code in chat (on WeChat, the web
    page…): their account joins that person, as a second chat account does, so the app files
    and reads as the one person they are. Only a person of the app's area."""
    home = await people.link_code_home(uow, code=code)
    if home is None or not client.covers(home):
        raise PermissionDenied()
    principal = await act_for(
        uow, client, external_id=external_id, community_id=None, locale=locale
    )
    account = f"{client.client_id}:{external_id.strip()}"
    await people.redeem_link_code(
        uow, principal, channel=Channel.APP, external_id=account, code=code
    )
    async with uow:
        moved = await uow.people.account(Channel.APP, account)
        assert moved is not None, "act_for made it"
        linked = await people.principal_of(uow, moved.person_id)
    assert linked is not None
    return linked


def area_principal(client: ClientView, *, locale: str) -> Principal:
    """The app itself, reading its area: no person, one grant of APP_AREA_ROLE over the area,
    so the services' own scope checks bound what it sees."""
    return Principal(0, locale, grants=(Grant(APP_AREA_ROLE, client.area_level, client.area_id),))


async def _require_in_area(uow: UnitOfWork, client: ClientView, community_id: int) -> None:
    async with uow:
        community = await community_row(uow, community_id)
        if not client.covers(place_of(community)):
            raise PermissionDenied()


async def require_shift_in_area(uow: UnitOfWork, client: ClientView, *, shift_id: int) -> None:
    """An app signs people up only for shifts of its area."""
    async with uow:
        shift = await uow.shifts.get(shift_id)
        if shift is None or shift.cancelled_at is not None:
            raise NotFound("shift", shift_id)
        community_id = shift.community_id
    await _require_in_area(uow, client, community_id)


async def require_need_in_area(uow: UnitOfWork, client: ClientView, *, need_id: int) -> None:
    """An app reads and acts only on requests of its area (the services check the person)."""
    async with uow:
        need = await uow.needs.get(need_id)
        if need is None:
            raise NotFound("need", need_id)
        community = await uow.places.community(need.community_id)
        assert community is not None
        if not client.covers(place_of(community)):
            raise PermissionDenied()


def audit_call(
    uow: UnitOfWork, client: ClientView, *, route: str, status: int, person_id: int | None
) -> None:
    uow.audit.record(
        actor_id=person_id,
        action="api.call",
        entity="api_client",
        entity_id=client.id,
        details={"route": route, "status": status},
    )


async def record_call(
    uow: UnitOfWork, client: ClientView, *, route: str, status: int, person_id: int | None
) -> None:
    """Every call of an app in the audit log: the route pattern (no ids), the answer's status."""
    async with uow:
        audit_call(uow, client, route=route, status=status, person_id=person_id)
        await uow.commit()


@dataclass(frozen=True, slots=True)
class Replay:
    status: int | None  # None: the first request with this key is still being handled
    body: dict[str, Any] | None
    same_request: bool


async def claim_key(
    uow: UnitOfWork, client: ClientView, *, key: str, fingerprint: str
) -> Replay | None:
    """None when this request is the first with `key` (the key is now taken); otherwise what
    the first one answered."""
    async with uow:
        if await uow.api_clients.claim(client.id, key, fingerprint):
            await uow.commit()
            return None
        row = await uow.api_clients.idempotent(client.id, key)
        assert row is not None
        return Replay(row.status, row.body, row.fingerprint == fingerprint)


async def store_answer(
    uow: UnitOfWork, client: ClientView, *, key: str, status: int, body: dict[str, Any]
) -> None:
    async with uow:
        await uow.api_clients.answer(client.id, key, status, body)
        await uow.commit()


async def release_key(uow: UnitOfWork, client: ClientView, *, key: str) -> None:
    """The first request failed unexpectedly: a retry may try again."""
    async with uow:
        await uow.api_clients.release(client.id, key)
        await uow.commit()


async def prune_keys(uow: UnitOfWork, *, now: datetime | None = None) -> int:
    """Forget the first answers older than KEYS_KEPT (by the deadline loop)."""
    async with uow:
        gone = await uow.api_clients.prune((now or utcnow()) - KEYS_KEPT)
        await uow.commit()
    return gone


# ------------------------------------------------------------------ apps managed in chat

ADMIN_ROLES = (Role.DISTRICT_ADMIN, Role.STREET_ADMIN)


def admin_area(principal: Principal) -> tuple[ScopeLevel, int]:
    """The widest area the person administers (a district before a street): a new app's
    default area. Nobody else registers apps (a community worker cannot)."""
    for level in (ScopeLevel.DISTRICT, ScopeLevel.STREET):
        for grant in principal.grants:
            if grant.role in ADMIN_ROLES and grant.level is level:
                return level, grant.scope_id
    raise PermissionDenied()


async def _parents(uow: UnitOfWork, level: ScopeLevel, area_id: int) -> Place | None:
    if level is ScopeLevel.COMMUNITY:
        community = await uow.places.community(area_id)
        return place_of(community) if community is not None else None
    if level is ScopeLevel.STREET:
        street = await uow.places.street(area_id)
        return Place(0, street.id, street.district_id) if street is not None else None
    return Place(0, 0, area_id)


async def _manages(uow: UnitOfWork, principal: Principal, app: ClientView) -> bool:
    if principal.is_superadmin:
        return True
    parents = await _parents(uow, app.area_level, app.area_id)
    return any(
        g.role in ADMIN_ROLES and g.covers_scope(app.area_level, app.area_id, parents)
        for g in principal.grants
    )


async def register_by(
    uow: UnitOfWork, principal: Principal, *, name: str, scopes: list[str]
) -> Registered:
    """A district or street admin registers an app for their own area (in chat)."""
    level, area_id = admin_area(principal)
    return await register(
        uow, name=name, scopes=scopes, area_level=level, area_id=area_id, by=principal.person_id
    )


async def managed_by(uow: UnitOfWork, principal: Principal) -> list[ClientView]:
    """The apps of the admin's areas (not revoked)."""
    if not principal.is_admin:
        raise PermissionDenied()
    async with uow:
        views = [client_view(row) for row in await uow.api_clients.all() if not row.revoked_at]
        return [view for view in views if await _manages(uow, principal, view)]


async def revoke_by(uow: UnitOfWork, principal: Principal, *, pk: int) -> ClientView:
    """Revoke an app of the admin's area (the id comes from a button: checked again here)."""
    async with uow:
        row = await uow.api_clients.get(pk)
        if row is None:
            raise NotFound("api_client", pk)
        if not await _manages(uow, principal, client_view(row)):
            raise PermissionDenied()
        client_id = row.client_id
    return await revoke(uow, client_id=client_id, by=principal.person_id)
