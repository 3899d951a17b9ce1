from bot.domain.enums import Role, ScopeLevel
from bot.domain.principal import Grant, Place, Principal

HOME = Place(community_id=11, street_id=5, district_id=1)
ELSEWHERE = Place(community_id=21, street_id=6, district_id=1)


def street_admin() -> Principal:
    return Principal(1, "zh", grants=(Grant(Role.STREET_ADMIN, ScopeLevel.STREET, 5),))


def test_a_street_grant_covers_its_communities_only() -> None:
    grant = Grant(Role.COMMUNITY_WORKER, ScopeLevel.STREET, 5)
    assert grant.covers(HOME)
    assert not grant.covers(ELSEWHERE)


def test_a_community_worker_acts_in_their_community_not_the_next() -> None:
    worker = Principal(1, "zh", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, 11),))
    assert worker.can_act_in(HOME, Role.COMMUNITY_WORKER)
    assert not worker.can_act_in(ELSEWHERE, Role.COMMUNITY_WORKER)
    assert not worker.can_act_in(HOME, Role.SOCIAL_WORKER)


def test_street_admin_grants_below_their_level_within_their_street() -> None:
    admin = street_admin()
    parents = Place(0, 5, 1)
    assert admin.can_grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, 11, HOME)
    assert not admin.can_grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, 21, ELSEWHERE)
    assert not admin.can_grant(Role.STREET_ADMIN, ScopeLevel.STREET, 5, parents)
    assert not admin.can_grant(Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, 1, Place(0, 0, 1))


def test_district_admin_grants_street_admins_in_their_district() -> None:
    admin = Principal(1, "zh", grants=(Grant(Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, 1),))
    assert admin.can_grant(Role.STREET_ADMIN, ScopeLevel.STREET, 6, Place(0, 6, 1))
    assert not admin.can_grant(Role.STREET_ADMIN, ScopeLevel.STREET, 9, Place(0, 9, 2))


def test_residents_grant_nothing_and_superadmins_everything() -> None:
    resident = Principal(1, "zh", grants=(Grant(Role.RESIDENT, ScopeLevel.COMMUNITY, 11),))
    assert not resident.can_grant(Role.VOLUNTEER, ScopeLevel.COMMUNITY, 11, HOME)
    assert not resident.is_admin
    root = Principal(1, "zh", is_superadmin=True)
    assert root.can_grant(Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, 7, Place(0, 0, 7))
