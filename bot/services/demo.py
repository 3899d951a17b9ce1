"""A small, realistic district so that a newcomer sees a living system (`python -m bot demo-data`).

The names are illustrative; the data is loaded once (running it again changes nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.enums import CommunityKind, OrganisationType, RegistrationStatus, Role, ScopeLevel
from bot.services import people, places
from storage.models import Community, District, Grid, Organisation, Person, RoleGrant, Street
from storage.uow import UnitOfWork

DISTRICT = ("沙坪坝区", "Shapingba District")
STREETS: dict[tuple[str, str, bool], list[tuple[str, str, str, CommunityKind, int]]] = {
    ("磁器口街道", "Ciqikou Street", False): [
        ("磁器口社区", "Ciqikou Community", "CQK", CommunityKind.URBAN, 8200),
        ("金碧正街社区", "Jinbi Zhengjie Community", "JBZ", CommunityKind.URBAN, 6500),
    ],
    ("中梁镇", "Zhongliang Township", True): [
        ("龙泉村", "Longquan Village", "LQC", CommunityKind.RURAL, 2300),
        ("中梁村", "Zhongliang Village", "ZLC", CommunityKind.RURAL, 1800),
    ],
}
ORGANISATIONS = [
    (
        "沙坪坝区和光社会工作服务中心",
        OrganisationType.SOCIAL_WORK_AGENCY,
        RegistrationStatus.REGISTERED,
    ),
    ("磁器口邻里互助会", OrganisationType.COMMUNITY_SOCIAL_ORG, RegistrationStatus.FILED),
    ("金碧银龄志愿服务队", OrganisationType.COMMUNITY_SOCIAL_ORG, RegistrationStatus.FILED),
    ("沙坪坝区慈善会", OrganisationType.CHARITY, RegistrationStatus.REGISTERED),
    ("磁器口社区基金会", OrganisationType.COMMUNITY_FOUNDATION, RegistrationStatus.REGISTERED),
]
# (name, role, index of the community or street it works in)
WORKERS = [
    ("王丽", Role.COMMUNITY_WORKER, 0),
    ("陈刚", Role.GRID_WORKER, 0),
    ("刘芳", Role.SOCIAL_WORKER, 0),
    ("赵敏", Role.COMMUNITY_WORKER, 1),
    ("孙强", Role.COMMUNITY_WORKER, 2),
    ("周静", Role.SOCIAL_WORKER, 2),
    ("吴书记", Role.PARTY_REVIEWER, 0),
]
VOLUNTEERS = ["李明", "张伟", "黄秀英", "何志强", "罗婷", "郑海"]
RESIDENTS = [
    "杨大爷",
    "马阿姨",
    "胡先生",
    "林女士",
    "高奶奶",
    "谢师傅",
    "冯同学",
    "唐阿姨",
    "陈会长",
]


@dataclass(frozen=True, slots=True)
class DemoSummary:
    created: bool
    districts: int
    streets: int
    communities: int
    organisations: int
    people: int


async def demo_names(uow: UnitOfWork) -> tuple[dict[str, int], dict[str, int]]:
    """The demo district's communities and people by name, for demo_activity."""
    communities = {
        c.name: c.id for c in await places.all_communities(uow) if c.district.name == DISTRICT[0]
    }
    names = {name for name, _role, _where in WORKERS} | set(VOLUNTEERS) | set(RESIDENTS)
    found: dict[str, int] = {}
    for person in await people.directory(uow, limit=5000):
        if person.display_name in names and person.community_id in communities.values():
            found.setdefault(person.display_name, person.person_id)
    ordered = {name: communities[name] for rows in STREETS.values() for name, *_ in rows}
    return ordered, found


async def load_demo(uow: UnitOfWork) -> DemoSummary:
    async with uow:
        if await uow.places.district_by_name(DISTRICT[0]) is not None:
            return DemoSummary(False, 0, 0, 0, 0, 0)
        district = District(name=DISTRICT[0], name_en=DISTRICT[1])
        uow.places.add(district)
        streets, communities = _places(uow, district)
        await uow.places.flush()
        for org_name, org_type, registration in ORGANISATIONS:
            await uow.organisations.add(
                Organisation(
                    name=org_name,
                    type=org_type,
                    registration=registration,
                    registration_number=None,
                    community_id=communities[0].id,
                    street_id=streets[0].id,
                )
            )
        people = await _people(uow, communities, streets)
        uow.audit.record(
            actor_id=None, action="demo.load", entity="district", entity_id=district.id
        )
        await uow.commit()
        return DemoSummary(True, 1, len(streets), len(communities), len(ORGANISATIONS), people)


def _places(uow: UnitOfWork, district: District) -> tuple[list[Street], list[Community]]:
    """The district's streets and their communities, each with three grids."""
    communities: list[Community] = []
    streets: list[Street] = []
    for (name, name_en, township), rows in STREETS.items():
        street = Street(district=district, name=name, name_en=name_en, is_township=township)
        streets.append(street)
        uow.places.add(street)
        for c_name, c_name_en, code, kind, population in rows:
            community = Community(
                street=street,
                name=c_name,
                name_en=c_name_en,
                code=code,
                kind=kind,
                resident_population=population,
            )
            communities.append(community)
            uow.places.add(community)
            for n in range(1, 4):
                uow.places.add(Grid(community=community, name=f"第{n}网格"))
    return streets, communities


async def _people(uow: UnitOfWork, communities: list[Community], streets: list[Street]) -> int:
    count = 0
    for index, (name, role, where) in enumerate(WORKERS):
        await _person(uow, name, communities[where], role, certified=index % 2 == 0)
        count += 1
    for index, name in enumerate(VOLUNTEERS):
        await _person(uow, name, communities[index % len(communities)], Role.VOLUNTEER)
        count += 1
    for index, name in enumerate(RESIDENTS):
        await _person(uow, name, communities[index % len(communities)])
        count += 1
    await _street_admin(uow, communities[0], streets[0])
    return count + 1


async def _person(
    uow: UnitOfWork, name: str, community: Community, *roles: Role, certified: bool = False
) -> None:
    """A resident of the community, with the roles given there as well."""
    row = await uow.people.add_person(
        Person(display_name=name, locale="zh", community_id=community.id)
    )
    for role in (Role.RESIDENT, *roles):
        await uow.grants.add(
            RoleGrant(
                person_id=row.id,
                role=role,
                scope_level=ScopeLevel.COMMUNITY,
                community_id=community.id,
                certified=certified and role is Role.SOCIAL_WORKER,
            )
        )


async def _street_admin(uow: UnitOfWork, community: Community, street: Street) -> None:
    admin = await uow.people.add_person(
        Person(display_name="街道管理员（演示）", locale="zh", community_id=community.id)
    )
    await uow.grants.add(
        RoleGrant(
            person_id=admin.id,
            role=Role.STREET_ADMIN,
            scope_level=ScopeLevel.STREET,
            street_id=street.id,
        )
    )
