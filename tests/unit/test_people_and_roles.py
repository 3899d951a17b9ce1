from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.domain.enums import Channel, Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.principal import Grant, Principal
from bot.services import demo, people, places, roles
from storage.models import AuditEntry, LinkCode, RoleGrant
from storage.uow import UnitOfWork
from tests.support.factories import make_map, make_person


async def identify(uow: UnitOfWork, external_id: str = "42", channel: Channel = Channel.WEB):
    return await people.identify(
        uow,
        channel=channel,
        external_id=external_id,
        chat_id=external_id,
        display_name="Li Ming",
        fallback_locale="zh",
    )


async def audit_actions(uow: UnitOfWork) -> list[str]:
    async with uow:
        return list(
            (await uow.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
        )


async def test_first_contact_creates_one_person_per_channel_account(uow: UnitOfWork) -> None:
    first = await identify(uow)
    again = await identify(uow)
    other = await identify(uow, external_id="43")
    assert first.principal.person_id == again.principal.person_id
    assert other.principal.person_id != first.principal.person_id
    assert not first.language_chosen and not first.onboarded
    assert await audit_actions(uow) == ["person.first_contact", "person.first_contact"]


async def test_onboarding_makes_a_resident_and_moving_revokes_the_old_grant(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    principal = (await identify(uow)).principal
    await people.set_locale(uow, principal, locale="en")
    await people.join_community(uow, principal, community_id=world.community_a1)
    identity = await identify(uow)
    assert identity.onboarded and identity.principal.locale == "en"
    assert identity.principal.home is not None
    assert identity.principal.home.street_id == world.street_a

    await people.join_community(uow, identity.principal, community_id=world.community_b1)
    async with uow:
        grants = (await uow.session.scalars(select(RoleGrant).order_by(RoleGrant.id))).all()
        states = [(g.community_id, g.revoked_at is None) for g in grants]
    assert states == [
        (world.community_a1, False),
        (world.community_b1, True),
    ]
    profile = await people.profile(uow, identity.principal)
    assert profile.community is not None and profile.community.id == world.community_b1
    assert [g.role for g in profile.grants] == [Role.RESIDENT]


async def test_joining_a_community_that_does_not_exist_is_refused(uow: UnitOfWork) -> None:
    principal = (await identify(uow)).principal
    with pytest.raises(NotFound):
        await people.join_community(uow, principal, community_id=999)


async def test_unsupported_language_is_refused(uow: UnitOfWork) -> None:
    principal = (await identify(uow)).principal
    with pytest.raises(InvalidInput):
        await people.set_locale(uow, principal, locale="fr")


async def test_street_admin_grants_within_the_street_only(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    admin_id = await make_person(
        uow, "admin", grants=((Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),)
    )
    target = await make_person(uow, "worker")
    admin = Principal(
        admin_id, "zh", grants=(Grant(Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),)
    )
    view = await roles.grant_role(
        uow,
        admin,
        person_id=target,
        role=Role.COMMUNITY_WORKER,
        level=ScopeLevel.COMMUNITY,
        scope_id=world.community_a2,
    )
    assert view.role is Role.COMMUNITY_WORKER and view.scope.name == "甲二社区"
    with pytest.raises(PermissionDenied):
        await roles.grant_role(
            uow,
            admin,
            person_id=target,
            role=Role.COMMUNITY_WORKER,
            level=ScopeLevel.COMMUNITY,
            scope_id=world.community_b1,
        )
    with pytest.raises(PermissionDenied):
        await roles.grant_role(
            uow,
            admin,
            person_id=target,
            role=Role.STREET_ADMIN,
            level=ScopeLevel.STREET,
            scope_id=world.street_a,
        )
    with pytest.raises(Conflict):
        await roles.grant_role(
            uow,
            admin,
            person_id=target,
            role=Role.COMMUNITY_WORKER,
            level=ScopeLevel.COMMUNITY,
            scope_id=world.community_a2,
        )
    assert (await audit_actions(uow)).count("role.grant") == 1


async def test_a_role_needs_a_scope_wide_enough(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    target = await make_person(uow, "someone")
    with pytest.raises(InvalidInput):
        await roles.grant_role(
            uow,
            roles.SYSTEM,
            person_id=target,
            role=Role.STREET_ADMIN,
            level=ScopeLevel.COMMUNITY,
            scope_id=world.community_a1,
        )


async def test_revoking_keeps_the_grant_on_record(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    target = await make_person(uow, "someone")
    view = await roles.grant_role(
        uow,
        roles.SYSTEM,
        person_id=target,
        role=Role.SOCIAL_WORKER,
        level=ScopeLevel.COMMUNITY,
        scope_id=world.community_a1,
        certified=True,
    )
    assert view.certified
    await roles.revoke_role(uow, roles.SYSTEM, grant_id=view.id)
    with pytest.raises(NotFound):
        await roles.revoke_role(uow, roles.SYSTEM, grant_id=view.id)
    async with uow:
        grant = await uow.grants.get(view.id)
        assert grant is not None and grant.revoked_at is not None
    assert (await audit_actions(uow))[-2:] == ["role.grant", "role.revoke"]


async def test_a_link_code_moves_the_second_account_to_the_first_person(uow: UnitOfWork) -> None:
    web = (await identify(uow, "7", Channel.WEB)).principal
    telegram = (await identify(uow, "8", Channel.TELEGRAM)).principal
    code = await people.create_link_code(uow, web)
    await people.redeem_link_code(
        uow, telegram, channel=Channel.TELEGRAM, external_id="8", code=code
    )
    assert (await identify(uow, "8", Channel.TELEGRAM)).principal.person_id == web.person_id
    with pytest.raises(InvalidInput):  # used already
        await people.redeem_link_code(
            uow, telegram, channel=Channel.TELEGRAM, external_id="8", code=code
        )


async def test_an_expired_link_code_is_refused(uow: UnitOfWork) -> None:
    web = (await identify(uow, "7", Channel.WEB)).principal
    telegram = (await identify(uow, "8", Channel.TELEGRAM)).principal
    code = await people.create_link_code(uow, web)
    async with uow:
        link = (await uow.session.scalars(select(LinkCode))).one()
        link.expires_at -= timedelta(minutes=11)
        await uow.commit()
    with pytest.raises(InvalidInput):
        await people.redeem_link_code(
            uow, telegram, channel=Channel.TELEGRAM, external_id="8", code=code
        )


async def test_demo_data_loads_once(uow: UnitOfWork) -> None:
    first = await demo.load_demo(uow)
    second = await demo.load_demo(uow)
    assert first.created and (first.streets, first.communities) == (2, 4)
    assert not second.created
    communities = await places.all_communities(uow)
    assert len(communities) == 4
    assert {c.kind.value for c in communities} == {"urban", "rural"}


async def test_the_audit_log_cannot_be_rewritten(uow: UnitOfWork) -> None:
    await identify(uow)
    async with uow:
        entry = (await uow.session.scalars(select(AuditEntry))).one()
        entry.action = "forged"
        with pytest.raises(RuntimeError, match="append-only"):
            await uow.session.flush()


async def test_last_seen_is_written_at_most_once_a_minute_and_a_block_is_undone_at_once(
    uow: UnitOfWork,
) -> None:
    from datetime import UTC, datetime

    start = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    async def seen_at(now: datetime) -> tuple[datetime | None, datetime | None]:
        await people.identify(
            uow,
            channel=Channel.WEB,
            external_id="42",
            chat_id="42",
            display_name="",
            fallback_locale="zh",
            now=now,
        )
        async with uow:
            account = await uow.people.account(Channel.WEB, "42")
            assert account is not None
            return account.last_seen_at, account.blocked_at

    assert await seen_at(start) == (start, None)
    assert await seen_at(start + timedelta(seconds=30)) == (start, None)
    async with uow:
        account = await uow.people.account(Channel.WEB, "42")
        assert account is not None
        account.blocked_at = start
        await uow.commit()
    assert await seen_at(start + timedelta(seconds=40)) == (start, None)
    later = start + timedelta(seconds=61)
    assert await seen_at(later) == (later, None)
