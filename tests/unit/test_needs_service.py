"""The needs loop in the services: scope, honest states, feedback, deadlines on a fake clock."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, PermissionDenied
from bot.domain.needs import Beneficiary, ClosureReason, NeedCategory, NeedState, Urgency
from bot.domain.principal import Grant, Place, Principal
from bot.services import needs
from bot.services.ports import RecordingNotifier
from storage.uow import UnitOfWork
from tests.support.factories import Map, make_map, make_person

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class People:
    def __init__(self, world: Map, ids: dict[str, int]) -> None:
        self.world = world
        self.ids = ids

    def resident(self, name: str = "resident_a", community: str = "a1") -> Principal:
        c = {"a1": self.world.community_a1, "b1": self.world.community_b1}[community]
        street = self.world.street_a if community == "a1" else self.world.street_b
        return Principal(
            self.ids[name],
            "zh",
            home=Place(c, street, self.world.district),
            grants=(Grant(Role.RESIDENT, ScopeLevel.COMMUNITY, c),),
        )

    def worker_a(self) -> Principal:
        return Principal(
            self.ids["worker_a"],
            "zh",
            grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, self.world.community_a1),),
        )

    def worker_b(self) -> Principal:
        return Principal(
            self.ids["worker_b"],
            "zh",
            grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, self.world.community_b1),),
        )

    def social_worker(self) -> Principal:
        return Principal(
            self.ids["social"],
            "zh",
            grants=(Grant(Role.SOCIAL_WORKER, ScopeLevel.COMMUNITY, self.world.community_a1),),
        )


@pytest.fixture
async def people(uow: UnitOfWork) -> People:
    world = await make_map(uow)
    c = ScopeLevel.COMMUNITY
    ids = {
        "resident_a": await make_person(uow, "居民甲", community=world.community_a1),
        "neighbour_a": await make_person(uow, "邻居", community=world.community_a1),
        "resident_b": await make_person(uow, "居民乙", community=world.community_b1),
        "worker_a": await make_person(
            uow, "社工甲", grants=((Role.COMMUNITY_WORKER, c, world.community_a1),)
        ),
        "worker_b": await make_person(
            uow, "社工乙", grants=((Role.COMMUNITY_WORKER, c, world.community_b1),)
        ),
        "social": await make_person(
            uow, "刘社工", grants=((Role.SOCIAL_WORKER, c, world.community_a1),)
        ),
        "street_admin": await make_person(
            uow, "街道", grants=((Role.STREET_ADMIN, ScopeLevel.STREET, world.street_a),)
        ),
    }
    return People(world, ids)


async def file(
    uow: UnitOfWork,
    people: People,
    text: str = "楼道灯坏了，老人晚上出门不方便",
    urgency: Urgency = Urgency.NORMAL,
    who: str = "resident_a",
    now: datetime = T0,
):
    return await needs.file_need(
        uow,
        RecordingNotifier(),
        people.resident(who, "b1" if who == "resident_b" else "a1"),
        category=NeedCategory.ELDERLY_CARE,
        description=text,
        urgency=urgency,
        beneficiary=Beneficiary.SELF,
        now=now,
    )


async def test_a_filed_need_gets_a_reference_per_community_and_year(
    uow: UnitOfWork, people: People
) -> None:
    first = await file(uow, people)
    second = await file(uow, people, "需要有人陪老人去医院")
    other = await file(uow, people, who="resident_b")
    assert (first.need.reference, second.need.reference) == ("A1-2026-00001", "A1-2026-00002")
    assert other.need.reference == "B1-2026-00001"
    assert first.need.state is NeedState.NEW
    assert first.need.due_at - T0 == timedelta(hours=72)
    assert not first.emergency


async def test_an_emergency_is_recognised(uow: UnitOfWork, people: People) -> None:
    filed = await file(uow, people, "楼下着火了，冒烟很大")
    assert filed.emergency


async def test_similar_open_needs_are_offered_and_me_too_counts(
    uow: UnitOfWork, people: People
) -> None:
    filed = await file(uow, people, "楼道灯坏了，晚上太黑")
    neighbour = people.resident("neighbour_a")
    similar = await needs.similar_open_needs(
        uow, neighbour, category=NeedCategory.ELDERLY_CARE, description="我们楼道的灯坏了好几天"
    )
    assert [s.reference for s in similar] == [filed.need.reference]
    supported = await needs.support_need(uow, neighbour, need_id=filed.need.id)
    assert supported.supporters == 1
    with pytest.raises(Conflict):
        await needs.support_need(uow, neighbour, need_id=filed.need.id)
    page = await needs.my_needs(uow, neighbour)
    assert [n.reference for n in page.items] == [filed.need.reference]


async def test_my_needs_pages_through_own_and_supported_needs_newest_first(
    uow: UnitOfWork, people: People
) -> None:
    """Own needs and the ones said "me too" to, on pages of PER_PAGE, counted in all."""
    neighbours = [await file(uow, people, "楼道灯坏了，晚上太黑", who="neighbour_a")]
    resident = people.resident()
    own = []
    for n in range(needs.PER_PAGE + 1):
        own.append(await file(uow, people, f"需要帮忙第{n}次", now=T0 + timedelta(hours=n + 1)))
    await needs.support_need(uow, resident, need_id=neighbours[0].need.id)
    first = await needs.my_needs(uow, resident)
    second = await needs.my_needs(uow, resident, page=1)
    newest_first = [f.need.reference for f in reversed(own)] + [neighbours[0].need.reference]
    assert first.total == second.total == needs.PER_PAGE + 2
    assert [n.reference for n in first.items + second.items] == newest_first
    assert len(first.items) == needs.PER_PAGE and first.has_next and not second.has_next
    assert (await needs.my_needs(uow, people.resident("neighbour_a"))).total == 1


async def test_residents_of_another_community_never_see_or_support_a_need(
    uow: UnitOfWork, people: People
) -> None:
    filed = await file(uow, people)
    outsider = people.resident("resident_b", "b1")
    assert (
        await needs.similar_open_needs(
            uow, outsider, category=NeedCategory.ELDERLY_CARE, description="楼道灯坏了"
        )
        == ()
    )
    with pytest.raises(PermissionDenied):
        await needs.need_detail(uow, outsider, need_id=filed.need.id)
    with pytest.raises(PermissionDenied):
        await needs.support_need(uow, outsider, need_id=filed.need.id)


async def test_a_worker_never_acts_outside_their_scope(uow: UnitOfWork, people: People) -> None:
    filed = await file(uow, people)
    other = people.worker_b()
    assert (await needs.queue(uow, other)).items == ()
    for action in (
        needs.accept(uow, RecordingNotifier(), other, need_id=filed.need.id),
        needs.refer(uow, RecordingNotifier(), other, need_id=filed.need.id, department="派出所"),
        needs.need_detail(uow, other, need_id=filed.need.id),
    ):
        with pytest.raises(PermissionDenied):
            await action
    mine = await needs.queue(uow, people.worker_a())
    assert [n.id for n in mine.items] == [filed.need.id]


async def test_the_whole_loop_with_honest_states(uow: UnitOfWork, people: People) -> None:
    notifier = RecordingNotifier()
    filed = await file(uow, people)
    worker, social, resident = people.worker_a(), people.social_worker(), people.resident()
    await needs.accept(uow, notifier, worker, need_id=filed.need.id, now=T0)
    candidates = await needs.assignee_candidates(uow, worker, need_id=filed.need.id)
    assert social.person_id in [c.id for c in candidates if c.kind == "person"]
    await needs.assign(uow, notifier, worker, need_id=filed.need.id, person_id=social.person_id)
    with pytest.raises(PermissionDenied):  # only the assignee takes it
        await needs.take(uow, notifier, resident, need_id=filed.need.id)
    await needs.take(uow, notifier, social, need_id=filed.need.id)
    await needs.add_note(
        uow, notifier, social, need_id=filed.need.id, text="已联系物业", public=True
    )
    await needs.add_note(
        uow, notifier, social, need_id=filed.need.id, text="物业推诿", public=False
    )
    resolved = await needs.resolve(
        uow, notifier, social, need_id=filed.need.id, resolution="物业已换灯", now=T0
    )
    assert resolved.state is NeedState.RESOLVED
    closed = await needs.give_feedback(
        uow, notifier, resident, need_id=filed.need.id, solved=True, rating=5, now=T0
    )
    assert closed.state is NeedState.CLOSED
    messages = [n.message for n in notifier.sent if n.person_id == resident.person_id]
    # accepted, assigned, in progress, the public note, resolved (asking for feedback);
    # the resident's own confirmation is answered in their chat, not pushed.
    assert messages == [
        "need.state",
        "need.state",
        "need.state",
        "need.public_note",
        "need.resolved",
    ]
    assigned = [n for n in notifier.sent if n.message == "need.assigned_to_you"]
    assert [n.person_id for n in assigned] == [social.person_id]
    detail = await needs.need_detail(uow, resident, need_id=filed.need.id)
    assert "物业推诿" not in [e.text for e in detail.events]  # internal note hidden
    assert detail.closure_reason is ClosureReason.CONFIRMED_SOLVED
    internal = await needs.need_detail(uow, worker, need_id=filed.need.id)
    assert "物业推诿" in [e.text for e in internal.events]


async def test_no_transition_outside_the_state_machine(uow: UnitOfWork, people: People) -> None:
    filed = await file(uow, people)
    with pytest.raises(Conflict):  # a new need cannot be resolved-and-confirmed by the resident
        await needs.give_feedback(
            uow, RecordingNotifier(), people.resident(), need_id=filed.need.id, solved=True
        )
    await needs.reject(
        uow,
        RecordingNotifier(),
        people.worker_a(),
        need_id=filed.need.id,
        reason=ClosureReason.OUT_OF_SCOPE,
        text="请联系物业公司",
    )
    with pytest.raises(Conflict):
        await needs.accept(uow, RecordingNotifier(), people.worker_a(), need_id=filed.need.id)


async def test_not_solved_reopens_within_the_window_and_tells_the_handler(
    uow: UnitOfWork, people: People
) -> None:
    notifier = RecordingNotifier()
    filed = await file(uow, people)
    worker, social = people.worker_a(), people.social_worker()
    await needs.assign(uow, notifier, worker, need_id=filed.need.id, person_id=social.person_id)
    await needs.resolve(uow, notifier, social, need_id=filed.need.id, resolution="done", now=T0)
    reopened = await needs.give_feedback(
        uow,
        notifier,
        people.resident(),
        need_id=filed.need.id,
        solved=False,
        comment="灯还是不亮",
        now=T0 + timedelta(days=3),
    )
    assert reopened.state is NeedState.REOPENED
    assert notifier.sent[-1].message == "need.reopened"
    assert notifier.sent[-1].person_id == social.person_id
    await needs.resolve(
        uow, notifier, social, need_id=filed.need.id, resolution="again", now=T0 + timedelta(days=4)
    )
    with pytest.raises(Conflict):
        await needs.give_feedback(
            uow,
            notifier,
            people.resident(),
            need_id=filed.need.id,
            solved=False,
            now=T0 + timedelta(days=19),
        )


async def test_deadlines_remind_then_escalate_once_on_a_fake_clock(
    uow: UnitOfWork, people: People
) -> None:
    filed = await file(uow, people, urgency=Urgency.URGENT)
    notifier = RecordingNotifier()
    early = await needs.run_deadlines(uow, notifier, now=T0 + timedelta(hours=1))
    assert early == needs.DeadlineRun(0, 0, 0)
    reminded = await needs.run_deadlines(uow, notifier, now=T0 + timedelta(hours=20))
    assert (reminded.reminded, reminded.escalated) == (1, 0)
    assert [n.message for n in notifier.sent] == ["need.reminder"]
    assert notifier.sent[0].person_id == people.ids["worker_a"]
    overdue = await needs.run_deadlines(uow, notifier, now=T0 + timedelta(hours=25))
    assert overdue.escalated == 1
    assert notifier.sent[-1].message == "need.escalated"
    assert notifier.sent[-1].person_id == people.ids["street_admin"]
    again = await needs.run_deadlines(uow, notifier, now=T0 + timedelta(hours=30))
    assert again == needs.DeadlineRun(0, 0, 0)
    overdue_queue = await needs.queue(
        uow,
        people.worker_a(),
        filters=needs.QueueFilter(group="overdue"),
        now=T0 + timedelta(hours=30),
    )
    assert [n.id for n in overdue_queue.items] == [filed.need.id]


async def test_resolved_needs_nobody_confirms_close_as_unconfirmed(
    uow: UnitOfWork, people: People
) -> None:
    filed = await file(uow, people)
    await needs.accept(uow, RecordingNotifier(), people.worker_a(), need_id=filed.need.id)
    await needs.resolve(
        uow,
        RecordingNotifier(),
        people.worker_a(),
        need_id=filed.need.id,
        resolution="ok",
        now=T0,
    )
    run = await needs.run_deadlines(uow, RecordingNotifier(), now=T0 + timedelta(days=15))
    assert run.closed_unconfirmed == 1
    detail = await needs.need_detail(uow, people.resident(), need_id=filed.need.id)
    assert detail.brief.state is NeedState.CLOSED
    assert detail.closure_reason is ClosureReason.NOT_CONFIRMED


async def test_urgent_needs_come_first_in_the_queue(uow: UnitOfWork, people: People) -> None:
    normal = await file(uow, people, "普通的事", now=T0 + timedelta(hours=2))
    urgent = await file(uow, people, "急事", urgency=Urgency.URGENT, now=T0)
    page = await needs.queue(uow, people.worker_a(), now=T0 + timedelta(hours=3))
    assert [n.id for n in page.items] == [urgent.need.id, normal.need.id]


async def test_a_community_can_shorten_its_deadlines(uow: UnitOfWork, people: People) -> None:
    from bot.services import places

    await places.set_due_hours(
        uow, community_id=people.world.community_a1, urgent=6, normal=None, can_wait=None
    )
    urgent = await file(uow, people, urgency=Urgency.URGENT)
    normal = await file(uow, people, "另一件事")
    assert urgent.need.due_at - T0 == timedelta(hours=6)
    assert normal.need.due_at - T0 == timedelta(hours=72)


def test_a_long_history_still_fits_in_one_message() -> None:
    from zoneinfo import ZoneInfo

    from bot.services.needs import EventView, NeedBrief, NeedDetail
    from bot.services.views import Named
    from handlers.needs.texts import detail_text

    brief = NeedBrief(
        1,
        "A1-2026-00001",
        NeedCategory.OTHER,
        Urgency.NORMAL,
        NeedState.ASSIGNED,
        "描述" * 1000,
        T0,
        T0,
        0,
        "某人",
        Named(1, "甲一社区", None),
    )
    events = tuple(
        EventView(T0, "note", None, None, True, f"第{i}条进展" * 20, "某人") for i in range(300)
    )
    detail = NeedDetail(
        brief, Beneficiary.SELF, None, None, None, None, None, None, events, True, False, False
    )
    from aiogram.utils.i18n import I18n

    from bot.i18n import LOCALES_DIR

    i18n = I18n(path=LOCALES_DIR, default_locale="zh")
    with i18n.context(), i18n.use_locale("zh"):
        text = detail_text(detail, ZoneInfo("Asia/Shanghai"), "zh")
    assert len(text) <= 4096
    assert "第299条进展" in text  # the newest is kept
    assert "第0条进展" not in text


async def test_the_first_needs_of_a_year_filed_at_once_get_distinct_numbers(
    uow: UnitOfWork, people: People
) -> None:
    sessions = uow._session_factory

    async def one(n: int) -> str:
        filed = await needs.file_need(
            UnitOfWork(sessions),
            RecordingNotifier(),
            people.resident(),
            category=NeedCategory.OTHER,
            description=f"事情{n}",
            urgency=Urgency.NORMAL,
            beneficiary=Beneficiary.SELF,
            now=T0,
        )
        return filed.need.reference

    references = await asyncio.gather(*(one(n) for n in range(5)))
    assert sorted(references) == [f"A1-2026-0000{n}" for n in range(1, 6)]


async def test_overlong_texts_are_refused_not_stored(uow: UnitOfWork, people: People) -> None:
    filed = await file(uow, people)
    await needs.accept(uow, RecordingNotifier(), people.worker_a(), need_id=filed.need.id)
    with pytest.raises(InvalidInput):
        await needs.resolve(
            uow,
            RecordingNotifier(),
            people.worker_a(),
            need_id=filed.need.id,
            resolution="很长" * 600,
        )


async def test_a_hand_back_reason_stays_internal(uow: UnitOfWork, people: People) -> None:
    filed = await file(uow, people)
    social = people.social_worker()
    await needs.assign(
        uow,
        RecordingNotifier(),
        people.worker_a(),
        need_id=filed.need.id,
        person_id=social.person_id,
    )
    await needs.hand_back(
        uow, RecordingNotifier(), social, need_id=filed.need.id, reason="居民态度不好"
    )
    seen = await needs.need_detail(uow, people.resident(), need_id=filed.need.id)
    assert "居民态度不好" not in [e.text for e in seen.events]
