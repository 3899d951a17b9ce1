"""An ID number already registered to another volunteer: the person learns nothing about it,
the workers of their community are told (once a day per person), nothing is saved, and the
number itself is written nowhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import Conflict
from bot.domain.principal import Place, Principal
from bot.domain.volunteers import Skill, check_character
from bot.services import volunteers
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import Notice, RecordingNotifier
from storage.models import AuditEntry, Volunteer
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.support.factories import make_map, make_person

CIPHER = PersonalDataCipher(b"test-secret")
FIRST17 = "50010619850612123"
NUMBER = FIRST17 + check_character(FIRST17)


async def register(uow: UnitOfWork, principal: Principal, notifier: RecordingNotifier) -> None:
    await volunteers.register(
        uow,
        CIPHER,
        notifier,
        principal,
        real_name="李 明",
        id_number=NUMBER,
        phone="13800138000",
        skills=[Skill.COOKING],
        tags=[],
        availability=[],
        community_ids=[],
    )


async def test_a_second_person_with_the_same_id_number_is_refused_and_the_workers_are_told(
    uow: UnitOfWork,
) -> None:
    world = await make_map(uow)
    home = Place(world.community_a1, world.street_a, world.district)
    first = await make_person(uow, "甲", community=world.community_a1)
    second = await make_person(uow, "乙", community=world.community_a1)
    c = ScopeLevel.COMMUNITY
    worker = await make_person(
        uow, "李社工", grants=((Role.COMMUNITY_WORKER, c, world.community_a1),)
    )
    await make_person(uow, "外村干部", grants=((Role.COMMUNITY_WORKER, c, world.community_b1),))
    await register(uow, Principal(first, "zh", home=home), RecordingNotifier())

    notifier = RecordingNotifier()
    with pytest.raises(Conflict) as error:
        await register(uow, Principal(second, "zh", home=home), notifier)
    assert error.value.reason == "id_registered"
    masked = NUMBER[:4] + "*" * 10 + NUMBER[-4:]
    assert notifier.sent == [
        Notice(
            worker,
            "volunteer.id_conflict",
            {"name": "李 明", "phone": "13800138000", "masked": masked},
        )
    ]
    async with uow:
        rows = (await uow.session.scalars(select(Volunteer))).all()
        assert [r.person_id for r in rows] == [first]
        audit = (
            await uow.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "volunteer.id_conflict")
            )
        ).all()
        assert [(a.actor_id, a.entity_id) for a in audit] == [(second, rows[0].id)]
        assert NUMBER not in repr([(a.details, a.note) for a in audit])

    # Tapping Confirm again the same day: refused alike, the workers are not told twice…
    again = RecordingNotifier()
    with pytest.raises(Conflict):
        await register(uow, Principal(second, "zh", home=home), again)
    assert again.sent == []
    # …but they are the next day.
    async with uow:
        await uow.session.execute(
            update(AuditEntry)
            .where(AuditEntry.action == "volunteer.id_conflict")
            .values(at=utcnow() - timedelta(days=2))
            .execution_options(synchronize_session=False)
        )
        await uow.commit()
    later = RecordingNotifier()
    with pytest.raises(Conflict):
        await register(uow, Principal(second, "zh", home=home), later)
    assert [n.person_id for n in later.sent] == [worker]
