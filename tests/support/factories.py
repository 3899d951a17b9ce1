"""Small, explicit data for tests (the demo data is for people, not for assertions)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.enums import Channel, CommunityKind, Role, ScopeLevel
from bot.domain.principal import Grant, Place, Principal
from bot.domain.volunteers import Skill, check_character
from bot.services import volunteers
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import RecordingNotifier
from storage.models import ChannelAccount, Community, District, Person, RoleGrant, Street
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class Map:
    district: int
    street_a: int
    street_b: int
    community_a1: int
    community_a2: int
    community_b1: int


async def make_map(uow: UnitOfWork, *, extra_communities_in_a: int = 0) -> Map:
    """District 渝北区 with street A (two communities, plus extras) and street B (one)."""
    async with uow:
        district = District(name="渝北区", name_en="Yubei District")
        street_a = Street(district=district, name="甲街道", name_en="Street A")
        street_b = Street(district=district, name="乙街道", name_en="Street B")
        a1 = Community(
            street=street_a,
            name="甲一社区",
            name_en="A-One",
            code="A1",
            kind=CommunityKind.URBAN,
            resident_population=5000,
        )
        a2 = Community(
            street=street_a,
            name="甲二社区",
            name_en="A-Two",
            code="A2",
            kind=CommunityKind.URBAN,
            resident_population=4000,
        )
        b1 = Community(
            street=street_b,
            name="乙一村",
            name_en="B-One Village",
            code="B1",
            kind=CommunityKind.RURAL,
            resident_population=1500,
        )
        for obj in (district, street_a, street_b, a1, a2, b1):
            uow.places.add(obj)
        for n in range(extra_communities_in_a):
            uow.places.add(
                Community(
                    street=street_a,
                    name=f"甲附{n:02d}社区",
                    name_en=f"A-Extra {n:02d}",
                    code=f"AX{n:02d}",
                    kind=CommunityKind.URBAN,
                )
            )
        await uow.places.flush()
        result = Map(district.id, street_a.id, street_b.id, a1.id, a2.id, b1.id)
        await uow.commit()
        return result


async def make_person(
    uow: UnitOfWork,
    name: str,
    *,
    community: int | None = None,
    grants: tuple[tuple[Role, ScopeLevel, int], ...] = (),
    web_id: int | None = None,
    locale: str | None = "zh",
) -> int:
    async with uow:
        person = await uow.people.add_person(
            Person(display_name=name, community_id=community, locale=locale)
        )
        for role, level, scope in grants:
            await uow.grants.add(
                RoleGrant(
                    person_id=person.id,
                    role=role,
                    scope_level=level,
                    district_id=scope if level is ScopeLevel.DISTRICT else None,
                    street_id=scope if level is ScopeLevel.STREET else None,
                    community_id=scope if level is ScopeLevel.COMMUNITY else None,
                )
            )
        if web_id is not None:
            await uow.people.add_account(
                ChannelAccount(
                    person_id=person.id,
                    channel=Channel.WEB,
                    external_id=str(web_id),
                    chat_id=str(web_id),
                )
            )
        await uow.commit()
        return person.id


async def make_volunteer(
    uow: UnitOfWork,
    w: Map,
    web_id: int,
    name: str,
    n: int,
    skill: Skill,
    *,
    community: int | None = None,
    locale: str = "zh",
) -> int:
    """A resident of community A1 (or `community`), registered and verified as a volunteer
    through the services; `n` (1-99) makes the ID number unique."""
    home = community or w.community_a1
    street = w.street_b if home == w.community_b1 else w.street_a
    person = await make_person(uow, name, community=home, web_id=web_id, locale=locale)
    principal = Principal(person, locale, home=Place(home, street, w.district))
    first17 = f"500106198506{n:02d}123"
    view = await volunteers.register(
        uow,
        PersonalDataCipher(b"test-secret"),
        RecordingNotifier(),
        principal,
        real_name=name,
        id_number=first17 + check_character(first17),
        phone="13800138000",
        skills=[skill],
        tags=[],
        availability=[],
        community_ids=[],
    )
    admin = Principal(
        0, "zh", grants=(Grant(Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, w.district),)
    )
    await volunteers.verify(uow, RecordingNotifier(), admin, volunteer_id=view.id, approve=True)
    return person
