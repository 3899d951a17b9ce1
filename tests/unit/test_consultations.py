"""Consultations on SQLite and PostgreSQL: who may take part, one ballot per person (also two
at once), voting only in its period, anonymous ballots that name nobody, results with turnout
per actor group, and a major matter decided only by the party reviewer."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.domain.consultations import Actor, Ballot, Phase, parse_options, tally, voter_key
from bot.domain.enums import Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.needs import Beneficiary, NeedCategory, Urgency
from bot.domain.principal import Grant, Place, Principal
from bot.services import consultations, needs
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import RecordingNotifier
from storage.models import AuditEntry, ConsultationVote
from storage.types import utcnow
from storage.uow import UnitOfWork
from tests.support.factories import Map, make_map, make_person

CIPHER = PersonalDataCipher(b"test-secret")
TEXTS = ("议事开始", "A consultation opened")


def resident(w: Map, person: int, community: str = "a1") -> Principal:
    if community == "b1":
        return Principal(person, "zh", home=Place(w.community_b1, w.street_b, w.district))
    return Principal(person, "zh", home=Place(w.community_a1, w.street_a, w.district))


async def setting(uow: UnitOfWork) -> tuple[Map, Principal, Principal, list[Principal], Principal]:
    """A worker and a party reviewer of A1, three residents of A1, one of B1."""
    w = await make_map(uow)
    grant = (Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1)
    me = await make_person(uow, "韩主任", grants=(grant,))
    party = await make_person(uow, "党委书记")
    people = [await make_person(uow, f"居民{n}", community=w.community_a1) for n in range(3)]
    outsider = await make_person(uow, "乙村居民", community=w.community_b1)
    worker = Principal(me, "zh", grants=(Grant(*grant),))
    reviewer = Principal(
        party, "zh", grants=(Grant(Role.PARTY_REVIEWER, ScopeLevel.COMMUNITY, w.community_a1),)
    )
    return w, worker, reviewer, [resident(w, p) for p in people], resident(w, outsider, "b1")


async def ballots(uow: UnitOfWork) -> list[ConsultationVote]:
    async with uow:
        found = list(await uow.session.scalars(select(ConsultationVote)))
        uow.session.expunge_all()
        return found


async def open_one(
    uow: UnitOfWork, w: Map, worker: Principal, *, anonymous: bool = True, major: bool = True
) -> consultations.ConsultationView:
    spec = consultations.NewConsultation(
        title="加装电梯方案",
        background="三号楼居民提出加装电梯，费用分摊方案需要商议。",
        options=["按楼层分摊", "平均分摊"],
        community_ids=[w.community_a1],
        discussion_days=3,
        voting_days=2,
        anonymous=anonymous,
        major=major,
    )
    return await consultations.open_consultation(
        uow, worker, spec, texts=TEXTS, reminder=TEXTS, now=utcnow() - timedelta(days=4)
    )


async def test_votes_only_in_the_voting_period_by_the_entitled_once_each(
    uow: UnitOfWork,
) -> None:
    w, worker, _, people, outsider = await setting(uow)
    c = await open_one(uow, w, worker)
    first, second = c.options[0].id, c.options[1].id
    during_discussion = utcnow() - timedelta(days=2)
    with pytest.raises(Conflict):
        await consultations.vote(
            uow, CIPHER, people[0], consultation_id=c.id, option_id=first, now=during_discussion
        )
    with pytest.raises(PermissionDenied):
        await consultations.vote(uow, CIPHER, outsider, consultation_id=c.id, option_id=first)
    with pytest.raises(InvalidInput):  # an option of no consultation of theirs
        await consultations.vote(uow, CIPHER, people[0], consultation_id=c.id, option_id=999)
    await consultations.vote(uow, CIPHER, people[0], consultation_id=c.id, option_id=first)
    await consultations.vote(uow, CIPHER, people[0], consultation_id=c.id, option_id=second)
    assert [(b.option_id, b.person_id) for b in await ballots(uow)] == [(second, None)]
    after = utcnow() + timedelta(days=2)
    with pytest.raises(Conflict):
        await consultations.vote(
            uow, CIPHER, people[1], consultation_id=c.id, option_id=first, now=after
        )


async def test_two_votes_of_one_person_at_once_leave_one_ballot(uow: UnitOfWork) -> None:
    w, worker, _, people, _ = await setting(uow)
    c = await open_one(uow, w, worker)
    sessions = uow._session_factory

    async def cast(option: int) -> None:
        await consultations.vote(
            UnitOfWork(sessions), CIPHER, people[0], consultation_id=c.id, option_id=option
        )

    await asyncio.gather(cast(c.options[0].id), cast(c.options[1].id))
    assert len(await ballots(uow)) == 1


async def test_anonymous_ballots_name_nobody_in_results_minutes_or_audit(
    uow: UnitOfWork,
) -> None:
    w, worker, _, people, _ = await setting(uow)
    c = await open_one(uow, w, worker)
    for person, option in zip(people, (0, 0, 1), strict=True):
        await consultations.vote(
            uow, CIPHER, person, consultation_id=c.id, option_id=c.options[option].id
        )
    now = utcnow() + timedelta(days=2)
    found = await consultations.close(uow, worker, consultation_id=c.id, now=now)
    assert found.named == ()
    assert found.tally.per_option == {c.options[0].id: 2, c.options[1].id: 1}
    async with uow:
        audit = [
            (a.entity, a.details)
            for a in await uow.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "consultation.vote")
            )
        ]
    stored = await ballots(uow)
    people_ids = {p.person_id for p in people}
    for ballot in stored:
        assert ballot.person_id is None and ballot.voter_key.startswith("h")
        # Without the server's key nobody can recompute whose key it is.
        guesses = {voter_key(b"", c.id, p, anonymous=True) for p in people_ids}
        assert ballot.voter_key not in guesses | {f"p{p}" for p in people_ids}
        assert ballot.updated_at == stored[0].updated_at  # no time to match with anything
    assert audit == [("consultation", {})] * 3  # that someone voted, never what
    # A named vote does show who voted what.
    named = await open_one(uow, w, worker, anonymous=False, major=False)
    await consultations.vote(
        uow, CIPHER, people[0], consultation_id=named.id, option_id=named.options[1].id
    )
    shown = await consultations.close(uow, worker, consultation_id=named.id, now=now)
    assert shown.named == (("居民0", named.options[1].id),)


async def test_results_count_turnout_per_actor_group(uow: UnitOfWork) -> None:
    w, worker, _, people, outsider = await setting(uow)
    c = await open_one(uow, w, worker)
    # The outsider takes a social worker's seat through an invitation link.
    token = consultations.invite_token(CIPHER, c.id, Actor.SOCIAL_WORKER)
    with pytest.raises(PermissionDenied):
        await consultations.take_seat(
            uow, CIPHER, outsider, consultation_id=c.id, actor=Actor.CHARITY, token=token
        )
    await consultations.take_seat(
        uow, CIPHER, outsider, consultation_id=c.id, actor=Actor.SOCIAL_WORKER, token=token
    )
    await consultations.vote(uow, CIPHER, outsider, consultation_id=c.id, option_id=c.options[0].id)
    await consultations.record_paper_vote(
        uow,
        CIPHER,
        worker,
        consultation_id=c.id,
        person_id=people[2].person_id,
        option_id=c.options[1].id,
    )
    with pytest.raises(PermissionDenied):  # only workers record paper votes
        await consultations.record_paper_vote(
            uow,
            CIPHER,
            people[0],
            consultation_id=c.id,
            person_id=people[1].person_id,
            option_id=c.options[1].id,
        )
    result = await consultations.close(
        uow, worker, consultation_id=c.id, now=utcnow() + timedelta(days=2)
    )
    counted = result.tally
    assert counted.ballots == 2 and counted.assisted == 1
    assert counted.entitled == 4  # three residents of A1 and the seat
    assert counted.turnout_of(Actor.SOCIAL_WORKER) == 1.0
    assert counted.turnout_of(Actor.RESIDENT) == pytest.approx(1 / 3)


async def test_a_major_matter_is_decided_by_the_party_reviewer_only(uow: UnitOfWork) -> None:
    w, worker, reviewer, people, _ = await setting(uow)
    c = await open_one(uow, w, worker)
    await consultations.vote(
        uow, CIPHER, people[0], consultation_id=c.id, option_id=c.options[0].id
    )
    later = utcnow() + timedelta(days=2)
    with pytest.raises(Conflict):  # not closed yet
        await consultations.decide(
            uow, RecordingNotifier(), reviewer, consultation_id=c.id, decision="按楼层分摊",
            texts=TEXTS, decided_on=later.date(), minutes="党委会议纪要", now=later,
        )  # fmt: skip
    await consultations.close(uow, worker, consultation_id=c.id, now=later)
    with pytest.raises(PermissionDenied):
        await consultations.decide(
            uow, RecordingNotifier(), worker, consultation_id=c.id, decision="按楼层分摊",
            texts=TEXTS, now=later,
        )  # fmt: skip
    with pytest.raises(InvalidInput):  # the party's decision needs its date and minutes
        await consultations.decide(
            uow, RecordingNotifier(), reviewer, consultation_id=c.id, decision="按楼层分摊",
            texts=TEXTS, now=later,
        )  # fmt: skip
    shown = await consultations.decide(
        uow, RecordingNotifier(), reviewer, consultation_id=c.id, decision="按楼层分摊",
        texts=TEXTS, decided_on=later.date(), minutes="党委会议纪要", now=later,
    )  # fmt: skip
    assert shown.phase is Phase.DECIDED and shown.decision == "按楼层分摊"


def test_options_are_read_one_a_line_and_a_dash_means_no_vote() -> None:
    assert parse_options("同意\n- 不同意\n") == ["同意", "不同意"]
    assert parse_options("-") == []
    for bad in ("只有一个", "a\na", "\n".join(str(n) for n in range(9))):
        with pytest.raises(InvalidInput):
            parse_options(bad)


def test_the_tally_counts_every_option_and_ignores_strays() -> None:
    counted = tally(
        [1, 2, 3],
        [Ballot(1, Actor.RESIDENT), Ballot(1, Actor.VOLUNTEER), Ballot(9, Actor.RESIDENT)],
        Counter({Actor.RESIDENT: 10, Actor.VOLUNTEER: 2}),
    )
    assert counted.per_option == {1: 2, 2: 0, 3: 0}
    assert counted.turnout == pytest.approx(2 / 12)
    assert voter_key(b"k", 1, 5, anonymous=False) == "p5"
    assert voter_key(b"k", 1, 5, anonymous=True) != voter_key(b"k", 2, 5, anonymous=True)


async def test_a_consultation_opened_from_a_need_brings_its_outcome_back_to_it(
    uow: UnitOfWork,
) -> None:
    w, worker, _, people, outsider = await setting(uow)
    filed = await needs.file_need(
        uow,
        RecordingNotifier(),
        people[0],
        category=NeedCategory.COMMUNITY_AFFAIRS,
        description="小区停车太乱，希望划车位",
        urgency=Urgency.NORMAL,
        beneficiary=Beneficiary.SELF,
    )
    await needs.support_need(uow, people[1], need_id=filed.need.id)
    spec = consultations.NewConsultation(
        title="停车位划线",
        background="居民反映停车乱，商议划线方案。",
        options=[],
        community_ids=[w.community_a1],
        discussion_days=1,
        voting_days=0,
        major=False,
        need_id=filed.need.id,
    )
    with pytest.raises(NotFound):  # a need of another community cannot be linked
        await consultations.open_consultation(
            uow,
            worker,
            replace(spec, need_id=filed.need.id + 1000),
            texts=TEXTS,
            reminder=None,
        )
    c = await consultations.open_consultation(
        uow, worker, spec, texts=TEXTS, reminder=None, now=utcnow() - timedelta(hours=36)
    )
    await consultations.add_opinion(
        uow, people[1], consultation_id=c.id, text="支持划线", now=utcnow() - timedelta(days=1)
    )
    with pytest.raises(PermissionDenied):
        await consultations.add_opinion(uow, outsider, consultation_id=c.id, text="我也说两句")
    await consultations.close(uow, worker, consultation_id=c.id)
    notifier = RecordingNotifier()
    await consultations.decide(
        uow, notifier, worker, consultation_id=c.id, decision="本月内完成划线", texts=TEXTS
    )
    told = {(n.person_id, n.message, n.params["text"]) for n in notifier.sent}
    assert told == {
        (people[0].person_id, "need.public_note", "本月内完成划线"),
        # The supporter hears of the request they support, not of "your request".
        (people[1].person_id, "need.public_note_supporter", "本月内完成划线"),
    }
    detail = await needs.need_detail(uow, worker, need_id=filed.need.id)
    assert [e.kind for e in detail.events][-1] == "consultation"


async def test_paper_votes_never_replace_a_ballot_and_results_stay_as_closed(
    uow: UnitOfWork,
) -> None:
    w, worker, _, people, _ = await setting(uow)
    c = await open_one(uow, w, worker)
    first, second = c.options[0].id, c.options[1].id
    await consultations.vote(uow, CIPHER, people[0], consultation_id=c.id, option_id=first)
    with pytest.raises(Conflict):  # the resident voted online: a worker cannot change it
        await consultations.record_paper_vote(
            uow, CIPHER, worker, consultation_id=c.id, person_id=people[0].person_id,
            option_id=second,
        )  # fmt: skip
    await consultations.record_paper_vote(
        uow, CIPHER, worker, consultation_id=c.id, person_id=people[1].person_id,
        option_id=second,
    )  # fmt: skip
    with pytest.raises(Conflict):  # nor record a second paper vote for the same person
        await consultations.record_paper_vote(
            uow, CIPHER, worker, consultation_id=c.id, person_id=people[1].person_id,
            option_id=first,
        )  # fmt: skip
    stored = await ballots(uow)
    assert not any(b.assisted for b in stored)  # anonymous: no ballot is marked
    closed = await consultations.close(
        uow, worker, consultation_id=c.id, now=utcnow() + timedelta(days=2)
    )
    assert closed.tally.per_option == {first: 1, second: 1} and closed.tally.assisted == 1
    # People moving in after the close do not change the turnout it recorded.
    for n in range(5):
        await make_person(uow, f"新居民{n}", community=w.community_a1)
    again = await consultations.results(uow, worker, consultation_id=c.id)
    assert (again.tally.ballots, again.tally.entitled) == (2, 3)


async def test_a_worker_of_one_community_does_not_run_a_street_wide_consultation(
    uow: UnitOfWork,
) -> None:
    w, _, _, people, _ = await setting(uow)
    street_admin = Principal(
        await make_person(uow, "街道管理员"),
        "zh",
        grants=(Grant(Role.STREET_ADMIN, ScopeLevel.STREET, w.street_a),),
    )
    spec = consultations.NewConsultation(
        title="街道议事", background="两社区共同议事。", options=["同意", "不同意"],
        community_ids=[w.community_a1, w.community_a2], discussion_days=1, voting_days=1,
    )  # fmt: skip
    c = await consultations.open_consultation(
        uow,
        street_admin,
        spec,
        texts=TEXTS,
        reminder=None,
        now=utcnow() - timedelta(days=1, hours=1),
    )
    a1_worker = await make_person(
        uow, "甲一社工", grants=((Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),)
    )
    worker = Principal(
        a1_worker,
        "zh",
        grants=(Grant(Role.COMMUNITY_WORKER, ScopeLevel.COMMUNITY, w.community_a1),),
    )
    with pytest.raises(PermissionDenied):
        await consultations.record_paper_vote(
            uow, CIPHER, worker, consultation_id=c.id, person_id=people[0].person_id,
            option_id=c.options[0].id,
        )  # fmt: skip
    await consultations.record_paper_vote(
        uow, CIPHER, street_admin, consultation_id=c.id, person_id=people[0].person_id,
        option_id=c.options[0].id,
    )  # fmt: skip
