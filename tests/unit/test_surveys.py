import asyncio

import pytest

from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, PermissionDenied
from bot.domain.principal import Grant, Place, Principal
from bot.domain.surveys import MULTI, SINGLE, TEXT, parse_survey
from bot.services import surveys
from storage.uow import UnitOfWork
from tests.support.factories import Map, make_map, make_person

SOURCE = """老年居民需求调研
? 您是否独居？
- 是
- 否
?* 哪些服务对您有帮助？
- 助餐
- 健康检查
- 陪伴
?? 还有其他需要吗？
"""


def test_the_text_format_is_parsed() -> None:
    spec = parse_survey(SOURCE)
    assert spec.title == "老年居民需求调研"
    assert [(q.kind, len(q.options)) for q in spec.questions] == [
        (SINGLE, 2),
        (MULTI, 3),
        (TEXT, 0),
    ]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("? no title\n- a\n- b", "line 1: title"),
        ("Title\n? one option only\n- a", "line 4: options"),
        ("Title\n- an option without a question", "line 2: option"),
        ("Title\n?? a\n?? b", "one free-text question at most"),
        ("Title\nwhat is this", "line 2: unknown"),
        ("Title", "questions"),
    ],
)
def test_a_bad_survey_names_the_problem(source: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_survey(source)
    assert error.value.reason == reason


def worker(world: Map, person: int) -> Principal:
    return Principal(
        person,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, world.community_a1),),
    )


def resident(world: Map, person: int, community: int | None = None) -> Principal:
    c = community or world.community_a1
    return Principal(person, "zh", home=Place(c, world.street_a, world.district))


async def test_each_resident_answers_once_and_results_add_up(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    w = await make_person(uow, "社工")
    r1 = await make_person(uow, "甲", community=world.community_a1)
    r2 = await make_person(uow, "乙", community=world.community_a1)
    outsider = await make_person(uow, "丙", community=world.community_b1)
    survey = await surveys.create_survey(
        uow, worker(world, w), spec=parse_survey(SOURCE), community_ids=[world.community_a1]
    )
    view = await surveys.survey_for_answering(uow, resident(world, r1), survey_id=survey.id)
    alone, services, _free = view.questions
    await surveys.submit(
        uow,
        resident(world, r1),
        survey_id=survey.id,
        choices={
            alone.id: [alone.options[0].id],
            services.id: [o.id for o in services.options[:2]],
        },
        text="希望有理发服务",
    )
    await surveys.submit(
        uow,
        resident(world, r2),
        survey_id=survey.id,
        choices={alone.id: [alone.options[1].id], services.id: [services.options[0].id]},
    )
    with pytest.raises(Conflict):
        await surveys.submit(
            uow,
            resident(world, r1),
            survey_id=survey.id,
            choices={alone.id: [alone.options[0].id], services.id: [services.options[0].id]},
        )
    with pytest.raises(PermissionDenied):
        await surveys.survey_for_answering(
            uow, resident(world, outsider, world.community_b1), survey_id=survey.id
        )
    assert await surveys.open_for_me(uow, resident(world, r1)) == ()
    results = await surveys.results(uow, worker(world, w), survey_id=survey.id)
    assert results.responses == 2
    counts = [[o.count for o in q.options] for q in results.questions]
    assert counts == [[1, 1], [2, 1, 0], []]
    assert results.questions[2].texts == ("希望有理发服务",)


async def test_two_submissions_at_once_record_one(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    w = await make_person(uow, "社工")
    r = await make_person(uow, "甲", community=world.community_a1)
    survey = await surveys.create_survey(
        uow,
        worker(world, w),
        spec=parse_survey("T\n? q\n- a\n- b"),
        community_ids=[world.community_a1],
    )
    view = await surveys.survey_for_answering(uow, resident(world, r), survey_id=survey.id)
    question = view.questions[0]
    sessions = uow._session_factory

    async def submit_once() -> str:
        try:
            await surveys.submit(
                UnitOfWork(sessions),
                resident(world, r),
                survey_id=survey.id,
                choices={question.id: [question.options[0].id]},
            )
            return "ok"
        except Conflict:
            return "refused"

    outcomes = await asyncio.gather(submit_once(), submit_once())
    assert sorted(outcomes) == ["ok", "refused"]
    results = await surveys.results(uow, worker(world, w), survey_id=survey.id)
    assert results.responses == 1


async def test_bad_answers_and_foreign_communities_are_refused(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    w = await make_person(uow, "社工")
    r = await make_person(uow, "甲", community=world.community_a1)
    with pytest.raises(PermissionDenied):
        await surveys.create_survey(
            uow,
            worker(world, w),
            spec=parse_survey("T\n? q\n- a\n- b"),
            community_ids=[world.community_b1],
        )
    survey = await surveys.create_survey(
        uow,
        worker(world, w),
        spec=parse_survey("T\n? q\n- a\n- b"),
        community_ids=[world.community_a1],
    )
    view = await surveys.survey_for_answering(uow, resident(world, r), survey_id=survey.id)
    question = view.questions[0]
    with pytest.raises(InvalidInput):  # two options on a single-choice question
        await surveys.submit(
            uow,
            resident(world, r),
            survey_id=survey.id,
            choices={question.id: [o.id for o in question.options]},
        )
    with pytest.raises(InvalidInput):  # an option of no question here
        await surveys.submit(
            uow, resident(world, r), survey_id=survey.id, choices={question.id: [99999]}
        )


async def test_a_worker_sees_only_the_answers_of_their_own_communities(uow: UnitOfWork) -> None:
    world = await make_map(uow)
    admin_id = await make_person(uow, "区管理员")
    admin = Principal(
        admin_id, "zh", grants=(Grant(Role.DISTRICT_ADMIN, ScopeLevel.DISTRICT, world.district),)
    )
    survey = await surveys.create_survey(
        uow,
        admin,
        spec=parse_survey("T\n? q\n- a\n- b\n?? why"),
        community_ids=[world.community_a1, world.community_b1],
    )
    for community, option, text in (
        (world.community_a1, 0, "甲的理由"),
        (world.community_b1, 1, "乙的理由"),
    ):
        person = await make_person(uow, "居民", community=community)
        principal = resident(world, person, community)
        view = await surveys.survey_for_answering(uow, principal, survey_id=survey.id)
        question = view.questions[0]
        await surveys.submit(
            uow,
            principal,
            survey_id=survey.id,
            choices={question.id: [question.options[option].id]},
            text=text,
        )
    w = await make_person(uow, "社工")
    seen = await surveys.results(uow, worker(world, w), survey_id=survey.id)
    assert seen.responses == 1
    assert [o.count for o in seen.questions[0].options] == [1, 0]
    assert seen.questions[1].texts == ("甲的理由",)
    everything = await surveys.results(uow, admin, survey_id=survey.id)
    assert everything.responses == 2
