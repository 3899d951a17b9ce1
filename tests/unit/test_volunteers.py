"""Volunteer registration: ID numbers (GB 11643), encryption at rest, verification in scope."""

from datetime import date

import pytest
from sqlalchemy import select

from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, PermissionDenied
from bot.domain.principal import Grant, Place, Principal
from bot.domain.volunteers import (
    Skill,
    VolunteerStatus,
    check_character,
    clean_tags,
    mask_id_number,
    normalise_id_number,
    normalise_phone,
)
from bot.services import volunteers
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import RecordingNotifier
from storage.models import RoleGrant, Volunteer
from storage.uow import UnitOfWork
from tests.support.factories import Map, make_map, make_person


def valid_id(first17: str = "50010619850612123") -> str:
    return first17 + check_character(first17)


def test_a_valid_id_number_passes_and_is_normalised() -> None:
    number = valid_id("11010519491231002")  # the standard's own example: ...002X
    assert number == "11010519491231002X"
    assert normalise_id_number(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("12345", "shape"),
        ("5001061985061212A4", "shape"),
        ("500106198513121234", "birth_date"),  # month 13
        ("500106203001011234", "birth_date"),  # born in the future
    ],
)
def test_bad_id_numbers_name_the_problem(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as error:
        normalise_id_number(raw, today=date(2026, 11, 27))
    assert error.value.reason == reason


def test_a_wrong_check_digit_is_refused() -> None:
    good = valid_id()
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(InvalidInput) as error:
        normalise_id_number(wrong)
    assert error.value.reason == "check_digit"


def test_masking_keeps_four_digits_at_each_end() -> None:
    assert mask_id_number("500106198506121234") == "5001**********1234"


@pytest.mark.parametrize("raw", ["138 0013 8000", "+86 13800138000", "138-0013-8000"])
def test_phone_numbers_are_normalised(raw: str) -> None:
    assert normalise_phone(raw) == "13800138000"


@pytest.mark.parametrize("raw", ["12345", "23800138000", "1380013800"])
def test_bad_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_phone(raw)


def test_free_tags_are_split_and_deduplicated() -> None:
    assert clean_tags("理发，书法, 理发 象棋") == ("理发", "书法", "象棋")


CIPHER = PersonalDataCipher(b"test-secret")


def resident(world: Map, person: int) -> Principal:
    return Principal(person, "zh", home=Place(world.community_a1, world.street_a, world.district))


def worker(world: Map, person: int, community: int) -> Principal:
    return Principal(
        person, "zh", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, community),)
    )


async def register(uow: UnitOfWork, principal: Principal, number: str) -> volunteers.VolunteerView:
    return await volunteers.register(
        uow,
        CIPHER,
        RecordingNotifier(),
        principal,
        real_name="李 明",
        id_number=number,
        phone="13800138000",
        skills=[Skill.ELDERLY_CARE, Skill.COOKING],
        tags=["理发"],
        availability=["sat_am", "mon_eve"],
        community_ids=[],
    )


async def test_registration_stores_the_id_encrypted_and_shows_it_masked(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    person = await make_person(uow, "李明", community=world.community_a1)
    number = valid_id()
    view = await register(uow, resident(world, person), number)
    assert view.status is VolunteerStatus.PENDING
    assert view.masked_id == mask_id_number(number) and view.real_name == "李 明"
    assert view.availability == ("mon_eve", "sat_am")  # in calendar order
    async with uow:
        row = (await uow.session.scalars(select(Volunteer))).one()
        assert number not in row.id_number_encrypted
        assert CIPHER.decrypt(row.id_number_encrypted) == number


async def test_one_id_number_registers_one_person(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    first = await make_person(uow, "甲", community=world.community_a1)
    second = await make_person(uow, "乙", community=world.community_a1)
    number = valid_id()
    await register(uow, resident(world, first), number)
    with pytest.raises(Conflict):
        await register(uow, resident(world, second), number)


async def test_a_bad_id_changes_nothing(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    person = await make_person(uow, "甲", community=world.community_a1)
    good = valid_id()
    with pytest.raises(InvalidInput):
        await register(uow, resident(world, person), good[:17] + ("0" if good[17] != "0" else "1"))
    assert await volunteers.my_registration(uow, resident(world, person)) is None


async def test_a_worker_verifies_in_scope_and_a_number_is_issued(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    person = await make_person(uow, "甲", community=world.community_a1)
    worker_a = await make_person(uow, "社工甲")
    worker_b = await make_person(uow, "社工乙")
    view = await register(uow, resident(world, person), valid_id())
    assert [
        v.id for v in await volunteers.pending(uow, worker(world, worker_a, world.community_a1))
    ] == [view.id]
    with pytest.raises(PermissionDenied):
        await volunteers.verify(
            uow,
            RecordingNotifier(),
            worker(world, worker_b, world.community_b1),
            volunteer_id=view.id,
            approve=True,
        )
    notifier = RecordingNotifier()
    verified = await volunteers.verify(
        uow,
        notifier,
        worker(world, worker_a, world.community_a1),
        volunteer_id=view.id,
        approve=True,
    )
    assert verified.status is VolunteerStatus.VERIFIED and verified.number == "A1-V-000001"
    assert notifier.sent[0].message == "volunteer.verified"
    async with uow:
        roles = (
            await uow.session.scalars(select(RoleGrant.role).where(RoleGrant.person_id == person))
        ).all()
    assert Role.VOLUNTEER in roles
    with pytest.raises(Conflict):
        await register(uow, resident(world, person), valid_id())


async def test_a_refusal_needs_a_reason_and_allows_a_corrected_registration(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    person = await make_person(uow, "甲", community=world.community_a1)
    w = await make_person(uow, "社工")
    view = await register(uow, resident(world, person), valid_id())
    with pytest.raises(InvalidInput):
        await volunteers.verify(
            uow,
            RecordingNotifier(),
            worker(world, w, world.community_a1),
            volunteer_id=view.id,
            approve=False,
        )
    refused = await volunteers.verify(
        uow,
        RecordingNotifier(),
        worker(world, w, world.community_a1),
        volunteer_id=view.id,
        approve=False,
        reason="证件照片与本人不符",
    )
    assert refused.status is VolunteerStatus.REJECTED
    again = await register(uow, resident(world, person), valid_id())
    assert again.status is VolunteerStatus.PENDING and again.rejection_reason is None
