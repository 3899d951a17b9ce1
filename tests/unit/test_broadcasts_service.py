"""The broadcast and emergency services on SQLite and PostgreSQL: audiences stay in the sender's
scope, a scheduled broadcast is queued once, organisation admins reach only their projects'
volunteers, emergency mode makes new needs urgent, and only mobilised volunteers answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.domain.broadcasts import (
    Audience,
    AudienceKind,
    BroadcastState,
    ButtonKind,
    RollCallAnswer,
    Topic,
)
from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, PermissionDenied
from bot.domain.needs import Beneficiary, NeedCategory, Urgency
from bot.domain.principal import Grant, Place, Principal
from bot.domain.surveys import parse_survey
from bot.domain.volunteers import Skill
from bot.services import broadcasts, emergencies, needs, surveys
from bot.services.ports import RecordingNotifier
from storage.models import Broadcast, OutboxMessage
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.support.factories import Map, make_map, make_person, make_volunteer


def worker(w: Map, person: int) -> Principal:
    return Principal(
        person, "zh", grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    )


def draft(*communities: int, **changes: object) -> broadcasts.Draft:
    fields: dict[str, object] = {
        "audience": Audience(AudienceKind.EVERYONE, tuple(communities)),
        "text_zh": "通知",
    }
    fields.update(changes)
    return broadcasts.Draft(**fields)  # type: ignore[arg-type]


async def counts(uow: UnitOfWork) -> tuple[int, int]:
    async with uow:
        made = await uow.session.scalar(select(func.count()).select_from(Broadcast))
        rows = await uow.session.scalar(select(func.count()).select_from(OutboxMessage))
        return int(made or 0), int(rows or 0)


RESIDENT, OUTSIDER = "resident", "outsider"


async def setting(uow: UnitOfWork) -> tuple[Map, Principal, dict[str, Principal]]:
    """A worker of A1 (no chat), a resident and a volunteer of A1, a resident of B1."""
    w = await make_map(uow)
    me = await make_person(uow, "韩主任", community=w.community_a1)
    resident = await make_person(uow, "居民", community=w.community_a1, web_id=1)
    await make_volunteer(uow, w, 2, "王芳", 1, Skill.ELDERLY_CARE)
    outsider = await make_person(uow, "乙村居民", community=w.community_b1, web_id=3)
    people = {
        RESIDENT: Principal(resident, "zh", home=Place(w.community_a1, w.street_a, w.district)),
        OUTSIDER: Principal(outsider, "zh", home=Place(w.community_b1, w.street_b, w.district)),
    }
    return w, worker(w, me), people


async def test_a_worker_reaches_only_the_communities_they_cover(uow: UnitOfWork) -> None:
    w, me, people = await setting(uow)
    assert await broadcasts.count(uow, me, draft(w.community_a1)) == 2
    for outside in ((w.community_b1,), (w.community_a1, w.community_b1), ()):
        with pytest.raises(PermissionDenied):
            await broadcasts.create(uow, me, draft(*outside))
    assert await counts(uow) == (0, 0)
    with pytest.raises(PermissionDenied):
        await broadcasts.create(uow, people[RESIDENT], draft(w.community_a1))


async def test_the_skills_filter_and_the_language_filter_narrow_the_audience(
    uow: UnitOfWork,
) -> None:
    w, me, _ = await setting(uow)
    volunteers = Audience(AudienceKind.VOLUNTEERS, (w.community_a1,))
    assert await broadcasts.count(uow, me, draft(audience=volunteers)) == 1
    repairs = Audience(AudienceKind.VOLUNTEERS, (w.community_a1,), skills=("repairs",))
    assert await broadcasts.count(uow, me, draft(audience=repairs)) == 0
    english = Audience(AudienceKind.EVERYONE, (w.community_a1,), locale="en")
    assert await broadcasts.count(uow, me, draft(audience=english)) == 0


async def test_a_scheduled_broadcast_is_queued_once_when_its_time_comes(uow: UnitOfWork) -> None:
    w, me, _ = await setting(uow)
    now = utcnow()
    view = await broadcasts.create(
        uow, me, draft(w.community_a1, scheduled_at=now + timedelta(hours=1)), now=now
    )
    assert view.state is BroadcastState.SCHEDULED and view.progress.total == 0
    assert await broadcasts.queue_due(uow, now=now + timedelta(minutes=59)) == []
    later = now + timedelta(hours=1, seconds=1)
    assert await broadcasts.queue_due(uow, now=later) == [view.id]
    assert await broadcasts.queue_due(uow, now=later) == []
    assert await counts(uow) == (1, 2)


async def test_emergency_topics_cannot_be_opted_out_of(uow: UnitOfWork) -> None:
    _, _, people = await setting(uow)
    resident = people[RESIDENT]
    with pytest.raises(InvalidInput):
        await broadcasts.set_opt_out(uow, resident, topic=Topic.EMERGENCY, out=True)
    assert await broadcasts.set_opt_out(uow, resident, topic=Topic.NEWS, out=True) == {Topic.NEWS}
    assert await broadcasts.set_opt_out(uow, resident, topic=Topic.NEWS, out=False) == set()


async def test_only_recipients_open_a_broadcast_button(uow: UnitOfWork) -> None:
    w, me, people = await setting(uow)
    view = await broadcasts.create(uow, me, draft(w.community_a1))
    with pytest.raises(PermissionDenied):
        await broadcasts.opened(uow, people[OUTSIDER], broadcast_id=view.id)
    opened = await broadcasts.opened(uow, people[RESIDENT], broadcast_id=view.id)
    assert opened.button is ButtonKind.NONE


async def test_in_emergency_mode_new_needs_are_urgent_and_only_the_mobilised_answer(
    uow: UnitOfWork,
) -> None:
    w, me, people = await setting(uow)
    resident = people[RESIDENT]

    async def file() -> Urgency:
        filed = await needs.file_need(
            uow,
            RecordingNotifier(),
            resident,
            category=NeedCategory.OTHER,
            description="楼道积水",
            urgency=Urgency.CAN_WAIT,
            beneficiary=Beneficiary.SELF,
        )
        return filed.need.urgency

    assert await file() is Urgency.CAN_WAIT
    # A community worker cannot switch a whole street, nor another street's community.
    for level, scope in ((ScopeLevel.STREET, w.street_a), (ScopeLevel.COMMUNITY, w.community_b1)):
        with pytest.raises(PermissionDenied):
            await emergencies.start(
                uow, me, level=level, scope_id=scope, description="暴雨", texts=("暴雨", "Rain")
            )
    view, sent = await emergencies.start(
        uow,
        me,
        level=ScopeLevel.COMMUNITY,
        scope_id=w.community_a1,
        description="暴雨",
        texts=("暴雨", "Rain"),
    )
    assert sent.progress.total == 1  # the one verified volunteer
    with pytest.raises(Conflict):
        await emergencies.start(
            uow,
            me,
            level=ScopeLevel.COMMUNITY,
            scope_id=w.community_a1,
            description="又一次",
            texts=("x", "x"),
        )
    assert await file() is Urgency.URGENT
    with pytest.raises(PermissionDenied):  # a resident was not mobilised
        await emergencies.answer(uow, resident, emergency_id=view.id, reply=RollCallAnswer.COMING)
    await emergencies.end(uow, me, emergency_id=view.id, texts=("结束", "Over"))
    assert await file() is Urgency.CAN_WAIT


async def test_a_survey_button_must_be_an_open_survey_of_the_senders_communities(
    uow: UnitOfWork,
) -> None:
    w, me, _ = await setting(uow)
    other = await make_person(uow, "乙村主任")
    theirs = await surveys.create_survey(
        uow,
        Principal(
            other,
            "zh",
            grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_b1),),
        ),
        spec=parse_survey("乙村调查\n? 问题\n- 是\n- 否"),
        community_ids=[w.community_b1],
    )
    forged = draft(w.community_a1, button=ButtonKind.ANSWER, survey_id=theirs.id)
    with pytest.raises(PermissionDenied):
        await broadcasts.create(uow, me, forged)
    with pytest.raises(InvalidInput):  # no such survey
        await broadcasts.create(
            uow, me, draft(w.community_a1, button=ButtonKind.ANSWER, survey_id=999)
        )
    assert await counts(uow) == (0, 0)
