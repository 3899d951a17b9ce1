"""People and their channel accounts: who is writing, their language, their community."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import SUPPORTED_LOCALES
from bot.domain.contacts import clean_name, is_channel_label, shown_name
from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.principal import Grant, Place, Principal
from bot.services.identity_cache import IdentityCache
from bot.services.places import community_view
from bot.services.views import (
    AccountView,
    CommunityView,
    GrantView,
    Identity,
    Named,
    ProfileView,
)
from storage.models import ChannelAccount, LinkCode, Person, RoleGrant
from storage.types import utcnow
from storage.uow import UnitOfWork

LINK_CODE_TTL = timedelta(minutes=10)
LINK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or retyped


def grant_of(row: RoleGrant) -> Grant:
    return Grant(
        role=row.role,
        level=row.scope_level,
        scope_id=row.scope_id,
        organisation_id=row.organisation_id,
        certified=row.certified,
    )


async def _principal(
    uow: UnitOfWork, person: Person, *, fallback_locale: str, superadmin: bool
) -> Principal:
    home: Place | None = None
    if person.community_id is not None:
        home = await uow.places.place(person.community_id)
    grants = tuple(grant_of(g) for g in await uow.grants.active_for(person.id))
    return Principal(
        person_id=person.id,
        locale=person.locale or fallback_locale,
        home=home,
        grants=grants,
        is_superadmin=superadmin,
    )


async def principal_of(uow: UnitOfWork, person_id: int) -> Principal | None:
    """Another person as a principal (inside an entered unit of work), e.g. the resident a
    worker records a paper vote for."""
    person = await uow.people.get(person_id)
    if person is None:
        return None
    return await _principal(uow, person, fallback_locale="zh", superadmin=False)


LAST_SEEN_PRECISION = timedelta(minutes=1)


async def identify(
    uow: UnitOfWork,
    *,
    channel: Channel,
    external_id: str,
    chat_id: str,
    display_name: str,
    fallback_locale: str,
    superadmin: bool = False,
    now: datetime | None = None,
    cache: IdentityCache | None = None,
) -> Identity:
    """Find (or create, on first contact) the person behind a channel account.

    `display_name` is the platform's profile name; only Telegram has real ones (the web page
    and WeChat know no name), and a label made up from a chat id is never taken as a name."""
    identity = await _identify(
        uow,
        channel=channel,
        external_id=external_id,
        chat_id=chat_id,
        display_name=display_name,
        fallback_locale=fallback_locale,
        superadmin=superadmin,
        now=now,
        create=True,
        cache=cache,
    )
    assert identity is not None, "created when unknown"
    return identity


async def identify_known(
    uow: UnitOfWork,
    *,
    channel: Channel,
    external_id: str,
    chat_id: str,
    display_name: str,
    fallback_locale: str,
    superadmin: bool = False,
    now: datetime | None = None,
    cache: IdentityCache | None = None,
) -> Identity | None:
    """The person behind a channel account, or None when nobody has started from it: a
    person is created only when someone starts (a message), not for a tap or a status
    change from an unknown account."""
    return await _identify(
        uow,
        channel=channel,
        external_id=external_id,
        chat_id=chat_id,
        display_name=display_name,
        fallback_locale=fallback_locale,
        superadmin=superadmin,
        now=now,
        create=False,
        cache=cache,
    )


async def _identify(
    uow: UnitOfWork,
    *,
    channel: Channel,
    external_id: str,
    chat_id: str,
    display_name: str,
    fallback_locale: str,
    superadmin: bool,
    now: datetime | None,
    create: bool,
    cache: IdentityCache | None = None,
) -> Identity | None:
    seen = now or utcnow()
    key = (channel.value, external_id, fallback_locale, superadmin)
    if cache is not None:
        known = cache.get(key)
        # A known chat within the minute: nothing to write, nothing to read.
        if known and known.chat_id == chat_id and seen - known.last_seen_at < LAST_SEEN_PRECISION:
            return known.identity
    ticket = cache.ticket() if cache is not None else 0
    found = await _identify_in_store(
        uow,
        channel=channel,
        external_id=external_id,
        chat_id=chat_id,
        display_name=display_name,
        fallback_locale=fallback_locale,
        superadmin=superadmin,
        seen=seen,
        create=create,
    )
    if found is None:
        return None
    identity, last_seen_at = found
    if cache is not None:
        cache.put(key, identity, chat_id=chat_id, last_seen_at=last_seen_at, ticket=ticket)
    return identity


async def _identify_in_store(
    uow: UnitOfWork,
    *,
    channel: Channel,
    external_id: str,
    chat_id: str,
    display_name: str,
    fallback_locale: str,
    superadmin: bool,
    seen: datetime,
    create: bool,
) -> tuple[Identity, datetime] | None:
    async with uow:
        account = await uow.people.account(channel, external_id)
        if account is None and not create:
            return None
        if account is None:
            person, account = await _first_contact(uow, channel, external_id, chat_id, display_name)
        else:
            loaded = await uow.people.get(account.person_id)
            assert loaded is not None, "channel accounts always point at a person"
            person = loaded
            if account.chat_id != chat_id:
                account.chat_id = chat_id
        # Written at most once a minute: otherwise every update would be a write.
        if account.last_seen_at is None or seen - account.last_seen_at >= LAST_SEEN_PRECISION:
            account.last_seen_at = seen
        if account.blocked_at is not None:
            account.blocked_at = None  # writing to the bot again undoes a block
        principal = await _principal(
            uow, person, fallback_locale=fallback_locale, superadmin=superadmin
        )
        identity = Identity(
            principal=principal,
            language_chosen=person.locale is not None,
            onboarded=person.locale is not None and person.community_id is not None,
        )
        await uow.commit()
    return identity, account.last_seen_at or seen


async def _first_contact(
    uow: UnitOfWork, channel: Channel, external_id: str, chat_id: str, display_name: str
) -> tuple[Person, ChannelAccount]:
    name = platform_name(channel, display_name)
    person = await uow.people.add_person(Person(display_name=name))
    account = await uow.people.add_account(
        ChannelAccount(
            person_id=person.id, channel=channel, external_id=external_id, chat_id=chat_id
        )
    )
    uow.audit.record(
        actor_id=person.id,
        action="person.first_contact",
        entity="person",
        entity_id=person.id,
        details={"channel": channel.value},
    )
    return person, account


async def _person(uow: UnitOfWork, person_id: int) -> Person:
    person = await uow.people.get(person_id)
    if person is None:
        raise NotFound("person", person_id)
    return person


def platform_name(channel: Channel, display_name: str) -> str:
    name = " ".join(display_name.split())[:200]
    if channel is not Channel.TELEGRAM or is_channel_label(name):
        return ""
    return name


async def own_name(uow: UnitOfWork, principal: Principal) -> str:
    """The name the person goes by now ("" when none)."""
    async with uow:
        person = await _person(uow, principal.person_id)
        return "" if is_channel_label(person.display_name) else person.display_name


async def set_name(uow: UnitOfWork, principal: Principal, *, name: str) -> str:
    """How the person wants to be called (称呼): shown to workers on their requests."""
    name = clean_name(name)
    async with uow:
        person = await _person(uow, principal.person_id)
        person.display_name = name
        # The name itself stays out of the audit details (personal data).
        uow.audit.record(
            actor_id=person.id, action="person.set_name", entity="person", entity_id=person.id
        )
        await uow.commit()
    return name


@dataclass(frozen=True, slots=True)
class ContactDefaults:
    """What a request's contact step offers: the last phone and address given, else the
    phone registered as a volunteer."""

    phone: str | None
    address: str | None


async def contact_defaults(uow: UnitOfWork, principal: Principal) -> ContactDefaults:
    async with uow:
        person = await _person(uow, principal.person_id)
        phone = person.phone
        if not phone:
            volunteer = await uow.volunteers.of_person(person.id)
            phone = volunteer.phone if volunteer else None
        return ContactDefaults(phone=phone or None, address=person.address or None)


async def set_locale(uow: UnitOfWork, principal: Principal, *, locale: str) -> None:
    if locale not in SUPPORTED_LOCALES:
        raise InvalidInput("locale", locale)
    async with uow:
        person = await _person(uow, principal.person_id)
        person.locale = locale
        uow.audit.record(
            actor_id=person.id,
            action="person.set_locale",
            entity="person",
            entity_id=person.id,
            details={"locale": locale},
        )
        await uow.commit()


async def join_community(uow: UnitOfWork, principal: Principal, *, community_id: int) -> Named:
    """Make the person a resident of one community (moving them if they lived elsewhere)."""
    async with uow:
        person = await _person(uow, principal.person_id)
        community = await uow.places.community(community_id)
        if community is None:
            raise NotFound("community", community_id)
        if person.community_id != community_id:
            await _move(uow, person, community_id)
        await uow.commit()
        return Named(community.id, community.name, community.name_en)


async def _move(uow: UnitOfWork, person: Person, community_id: int) -> None:
    """A resident of another community now (no grid there yet), audited."""
    previous = person.community_id
    await _move_resident_grant(uow, person, previous, community_id)
    person.community_id = community_id
    person.grid_id = None
    uow.audit.record(
        actor_id=person.id,
        action="person.join_community",
        entity="person",
        entity_id=person.id,
        details={"from": previous, "to": community_id},
    )


async def _move_resident_grant(
    uow: UnitOfWork, person: Person, previous: int | None, community_id: int
) -> None:
    now = utcnow()
    if previous is not None:
        old = await uow.grants.find_active(person.id, Role.RESIDENT, ScopeLevel.COMMUNITY, previous)
        if old is not None:
            old.revoked_at = now
            old.revoked_by = person.id
    await uow.grants.add(
        RoleGrant(
            person_id=person.id,
            role=Role.RESIDENT,
            scope_level=ScopeLevel.COMMUNITY,
            community_id=community_id,
            granted_by=person.id,
        )
    )


async def profile(uow: UnitOfWork, principal: Principal) -> ProfileView:
    async with uow:
        person = await _person(uow, principal.person_id)
        community = await _home_view(uow, person)
        grants = tuple([await grant_view(uow, g) for g in await uow.grants.active_for(person.id)])
        accounts = tuple(
            AccountView(channel=a.channel, chat_id=a.chat_id)
            for a in await uow.people.accounts_of(person.id)
        )
        return ProfileView(
            person_id=person.id,
            display_name=person.display_name,
            locale=person.locale,
            community=community,
            grants=grants,
            accounts=accounts,
        )


async def _home_view(uow: UnitOfWork, person: Person) -> CommunityView | None:
    if person.community_id is None:
        return None
    row = await uow.places.community(person.community_id)
    return community_view(row) if row else None


async def grant_view(uow: UnitOfWork, grant: RoleGrant) -> GrantView:
    scope = await _scope_of(uow, grant)
    organisation = None
    if grant.organisation_id is not None:
        org = await uow.organisations.get(grant.organisation_id)
        organisation = Named(org.id, org.name, None) if org else None
    return GrantView(
        id=grant.id,
        role=grant.role,
        level=grant.scope_level,
        scope=Named(grant.scope_id, getattr(scope, "name", "?"), getattr(scope, "name_en", None)),
        organisation=organisation,
        certified=grant.certified,
    )


async def _scope_of(uow: UnitOfWork, grant: RoleGrant) -> object:
    """The district, street or community the grant is over (None: gone)."""
    if grant.scope_level is ScopeLevel.DISTRICT:
        return await uow.places.district(grant.scope_id)
    if grant.scope_level is ScopeLevel.STREET:
        return await uow.places.street(grant.scope_id)
    return await uow.places.community(grant.scope_id)


async def create_link_code(uow: UnitOfWork, principal: Principal) -> str:
    """A one-time code that joins another chat account to this person."""
    # 50 random bits: a code cannot be guessed in its ten minutes, however many tries.
    code = "".join(secrets.choice(LINK_ALPHABET) for _ in range(10))
    async with uow:
        await uow.people.add_link_code(
            LinkCode(code=code, person_id=principal.person_id, expires_at=utcnow() + LINK_CODE_TTL)
        )
        await uow.commit()
    return code


async def _usable_link(uow: UnitOfWork, code: str) -> LinkCode:
    """The /link code typed (any case, spaces around), if it is still good (inside an entered
    unit of work)."""
    code = code.strip().upper()
    valid = len(code) == 10 and all(ch in LINK_ALPHABET for ch in code)
    link = await uow.people.link_code(code) if valid else None
    if link is None or link.used_at is not None or link.expires_at < utcnow():
        raise InvalidInput("link_code", "unknown, used or expired")
    return link


async def redeem_link_code(
    uow: UnitOfWork, principal: Principal, *, channel: Channel, external_id: str, code: str
) -> None:
    """Move this chat account to the person who made the code."""
    async with uow:
        link = await _usable_link(uow, code)
        account = await _account_to_move(uow, principal, link, channel, external_id)
        account.person_id = link.person_id
        link.used_at = utcnow()
        uow.audit.record(
            actor_id=link.person_id,
            action="person.link_account",
            entity="person",
            entity_id=link.person_id,
            details={"channel": channel.value, "from_person": principal.person_id},
        )
        await uow.commit()


async def _account_to_move(
    uow: UnitOfWork, principal: Principal, link: LinkCode, channel: Channel, external_id: str
) -> ChannelAccount:
    """This chat account, if the code's person is someone else with no account on the channel."""
    if link.person_id == principal.person_id:
        raise Conflict("already_linked")
    account = await uow.people.account(channel, external_id)
    if account is None:
        raise NotFound("channel_account", external_id)
    if any(a.channel == channel for a in await uow.people.accounts_of(link.person_id)):
        raise Conflict("channel_taken")
    return account


async def link_code_home(uow: UnitOfWork, *, code: str) -> Place | None:
    """Where the person who asked for a valid /link code lives (None: no community), without
    using the code up: a city app may join only people of its area."""
    async with uow:
        link = await _usable_link(uow, code)
        person = await uow.people.get(link.person_id)
        if person is None or person.community_id is None:
            return None
        return await uow.places.place(person.community_id)


async def person_for_link_code(uow: UnitOfWork, *, code: str) -> int:
    """The person who asked for this /link code (`admin grant --code`): the code is used up,
    so it names the person who is at the keyboard now, on any channel."""
    async with uow:
        link = await _usable_link(uow, code)
        link.used_at = utcnow()
        uow.audit.record(
            actor_id=None,
            action="person.identified_by_code",
            entity="person",
            entity_id=link.person_id,
        )
        await uow.commit()
        return link.person_id


async def name_of(uow: UnitOfWork, principal: Principal, *, person_id: int) -> str:
    """An admin looks someone up by their number before granting a role."""
    if not principal.is_admin:
        raise PermissionDenied()
    async with uow:
        person = await _person(uow, person_id)
        return shown_name(person.display_name, person.id)


async def locale_of_account(uow: UnitOfWork, *, channel: Channel, external_id: str) -> str | None:
    """The language a chat account's person chose, if any (the web page speaks it too)."""
    async with uow:
        account = await uow.people.account(channel, external_id)
        if account is None:
            return None
        person = await uow.people.get(account.person_id)
        return person.locale if person else None


@dataclass(frozen=True, slots=True)
class PersonSummary:
    person_id: int
    display_name: str
    community_id: int | None
    roles: tuple[str, ...]
    channels: tuple[str, ...]


async def directory(uow: UnitOfWork, *, limit: int = 500) -> list[PersonSummary]:
    """Everyone (for the command-line admin), newest last."""
    async with uow:
        result = []
        for person in await uow.people.all(limit):
            grants = await uow.grants.active_for(person.id)
            accounts = await uow.people.accounts_of(person.id)
            result.append(
                PersonSummary(
                    person_id=person.id,
                    display_name=person.display_name,
                    community_id=person.community_id,
                    roles=tuple(
                        f"{g.role.value}@{g.scope_level.value}:{g.scope_id}" for g in grants
                    ),
                    channels=tuple(f"{a.channel.value}:{a.external_id}" for a in accounts),
                )
            )
        return result


async def person_for_account(uow: UnitOfWork, *, channel: Channel, external_id: str) -> int:
    """The person behind a chat account, created if they have not written yet (first admin)."""
    async with uow:
        account = await uow.people.account(channel, external_id)
        if account is not None:
            return account.person_id
        person = await uow.people.add_person(Person(display_name=""))
        await uow.people.add_account(
            ChannelAccount(
                person_id=person.id, channel=channel, external_id=external_id, chat_id=external_id
            )
        )
        await uow.commit()
        return person.id


async def open_web_as(
    uow: UnitOfWork, *, channel: Channel, external_id: str, web_chat_id: str
) -> str | None:
    """The web chat page opened as the person behind a chat account (WeChat OAuth: the
    platform vouched for the account): the web chat `web_chat_id` is joined to that person
    (made if missing); their locale, or None when nobody has that account."""
    async with uow:
        account = await uow.people.account(channel, external_id)
        if account is None:
            return None
        web = await uow.people.account(Channel.WEB, web_chat_id)
        if web is None:
            await uow.people.add_account(
                ChannelAccount(
                    person_id=account.person_id,
                    channel=Channel.WEB,
                    external_id=web_chat_id,
                    chat_id=web_chat_id,
                )
            )
        elif web.person_id != account.person_id:
            web.person_id = account.person_id
        uow.audit.record(
            actor_id=account.person_id,
            action="person.web_sign_in",
            entity="person",
            entity_id=account.person_id,
            details={"by": channel.value},
        )
        person = await uow.people.get(account.person_id)
        await uow.commit()
        return person.locale if person is not None and person.locale else ""


@dataclass(frozen=True, slots=True)
class Contact:
    locale: str
    accounts: tuple[AccountView, ...]  # most recently used first


async def contact(uow: UnitOfWork, *, person_id: int, fallback_locale: str) -> Contact | None:
    """How to reach a person: their language and chat accounts (for notifications)."""
    async with uow:
        person = await uow.people.get(person_id)
        if person is None:
            return None
        accounts = sorted(
            await uow.people.accounts_of(person_id),
            key=lambda a: a.last_seen_at or a.created_at,
            reverse=True,
        )
        return Contact(
            locale=person.locale or fallback_locale,
            accounts=tuple(AccountView(channel=a.channel, chat_id=a.chat_id) for a in accounts),
        )


@dataclass(frozen=True, slots=True)
class PageSettings:
    """How a person likes the chat page (kept on the person: every device, every reload)."""

    large_text: bool


async def page_settings(uow: UnitOfWork, *, channel: Channel, external_id: str) -> PageSettings:
    async with uow:
        account = await uow.people.account(channel, external_id)
        person = await uow.people.get(account.person_id) if account else None
        return PageSettings(large_text=bool(person and person.large_text))


async def set_large_text(
    uow: UnitOfWork, *, channel: Channel, external_id: str, display_name: str, on: bool
) -> PageSettings:
    """Large text on or off for the person behind a chat account (who may not have written
    yet: the toggle is on the first screen)."""
    async with uow:
        account = await uow.people.account(channel, external_id)
        if account is None:
            person = await uow.people.add_person(
                Person(display_name=platform_name(channel, display_name))
            )
            await uow.people.add_account(
                ChannelAccount(
                    person_id=person.id,
                    channel=channel,
                    external_id=external_id,
                    chat_id=external_id,
                )
            )
            uow.audit.record(
                actor_id=person.id,
                action="person.first_contact",
                entity="person",
                entity_id=person.id,
                details={"channel": channel.value},
            )
        else:
            found = await uow.people.get(account.person_id)
            assert found is not None, "channel accounts always point at a person"
            person = found
        person.large_text = on
        await uow.commit()
        return PageSettings(large_text=on)
