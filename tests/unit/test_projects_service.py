"""Organisations and service projects against the real database (SQLite and PostgreSQL):
registration, verification and invitations; a major matter's whole course with the party
decision; evaluation figures counted from confirmed service records and linked needs; who sees
what."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.domain.enums import OrganisationType, RegistrationStatus, Role, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.needs import Beneficiary, NeedCategory, Urgency
from bot.domain.principal import Grant, Place, Principal
from bot.domain.projects import ProjectAction, ProjectKind, ProjectState, parse_yuan
from bot.domain.volunteers import Skill, check_character
from bot.services import attendance, needs, organisations, projects, shifts, volunteers
from bot.services.crypto import PersonalDataCipher
from bot.services.organisations import OrgView
from bot.services.ports import RecordingNotifier
from bot.services.projects import ProjectView
from storage.models import AuditEntry, RoleGrant
from storage.uow import UnitOfWork
from tests.support.factories import Map, make_map, make_person

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
START = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 09:00 in Chongqing
END = START + timedelta(hours=2)
DAY_AFTER, HOUR = START + timedelta(days=1), timedelta(hours=1)
HERE = (29.5630, 106.4650)
CIPHER = PersonalDataCipher(b"test")
COMMUNITY = ScopeLevel.COMMUNITY


# ---------------------------------------------------------------------- the people


@dataclass
class Cast:
    """A map and the people acting on it; principals are built as the middleware would, with
    the grants that are in the database."""

    world: Map
    ids: dict[str, int]

    def place(self, community: int) -> Place:
        w = self.world
        street = w.street_b if community == w.community_b1 else w.street_a
        return Place(community, street, w.district)

    def resident(self, name: str = "resident", community: int | None = None) -> Principal:
        c = community or self.world.community_a1
        return Principal(
            self.ids[name],
            "zh",
            home=self.place(c),
            grants=(Grant(Role.RESIDENT, COMMUNITY, c),),
        )

    def worker(self, community: int | None = None) -> Principal:
        c = community or self.world.community_a1
        name = "worker_b" if c == self.world.community_b1 else "worker_a"
        return Principal(self.ids[name], "zh", grants=(Grant(Role.COMMUNITY_WORKER, COMMUNITY, c),))

    def reviewer(self, community: int | None = None) -> Principal:
        c = community or self.world.community_a1
        name = "reviewer_b" if c == self.world.community_b1 else "reviewer_a"
        return Principal(self.ids[name], "zh", grants=(Grant(Role.PARTY_REVIEWER, COMMUNITY, c),))

    def social_worker(self) -> Principal:
        return Principal(
            self.ids["social"],
            "zh",
            grants=(Grant(Role.SOCIAL_WORKER, COMMUNITY, self.world.community_a1),),
        )


async def cast(uow: UnitOfWork) -> Cast:
    world = await make_map(uow)
    a1, b1 = world.community_a1, world.community_b1
    ids = {
        "worker_a": await make_person(
            uow, "李社工", grants=((Role.COMMUNITY_WORKER, COMMUNITY, a1),)
        ),
        "worker_b": await make_person(
            uow, "乙社工", grants=((Role.COMMUNITY_WORKER, COMMUNITY, b1),)
        ),
        "reviewer_a": await make_person(
            uow, "党委书记", grants=((Role.PARTY_REVIEWER, COMMUNITY, a1),)
        ),
        "reviewer_b": await make_person(
            uow, "乙书记", grants=((Role.PARTY_REVIEWER, COMMUNITY, b1),)
        ),
        "social": await make_person(uow, "刘社工", grants=((Role.SOCIAL_WORKER, COMMUNITY, a1),)),
        "resident": await make_person(uow, "居民甲", community=a1),
        "resident_b": await make_person(uow, "居民乙", community=b1),
        "founder": await make_person(uow, "张会长", community=a1),
        "founder_b": await make_person(uow, "乙会长", community=b1),
        "newcomer": await make_person(uow, "新成员", community=a1),
    }
    return Cast(world, ids)


def org_principal(
    cast: Cast, name: str, org: OrgView, role: Role = Role.ORG_ADMIN, home: int | None = None
) -> Principal:
    """The person with the organisation role they hold in the database."""
    c = home or cast.world.community_a1
    return Principal(
        cast.ids[name],
        "zh",
        home=cast.place(c),
        grants=(Grant(role, COMMUNITY, org.communities[0], organisation_id=org.id),),
    )


async def register_org(
    uow: UnitOfWork,
    cast: Cast,
    *,
    name: str = "阳光助老服务社",
    founder: str = "founder",
    type: OrganisationType = OrganisationType.COMMUNITY_SOCIAL_ORG,
    community_ids: tuple[int, ...] = (),
    home: int | None = None,
    notifier: RecordingNotifier | None = None,
) -> tuple[OrgView, Principal]:
    c = home or cast.world.community_a1
    org = await organisations.register(
        uow,
        notifier or RecordingNotifier(),
        Principal(cast.ids[founder], "zh", home=cast.place(c)),
        name=name,
        type=type,
        registration=RegistrationStatus.FILED,
        registration_number="渝北备 0012",
        contact="13800138000",
        community_ids=community_ids,
    )
    return org, org_principal(cast, founder, org, home=c)


async def verified_org(uow: UnitOfWork, cast: Cast, **kwargs) -> tuple[OrgView, Principal]:
    org, admin = await register_org(uow, cast, **kwargs)
    community = org.communities[0]
    await organisations.verify(
        uow, RecordingNotifier(), cast.worker(community), organisation_id=org.id, approve=True
    )
    return org, admin


async def draft_project(
    uow: UnitOfWork,
    principal: Principal,
    org: OrgView | None,
    communities: list[int],
    *,
    title: str = "银龄食堂",
    major: bool = False,
    categories: tuple[NeedCategory, ...] = (NeedCategory.ELDERLY_CARE,),
    budget: str = "12,000.50",
) -> ProjectView:
    return await projects.draft(
        uow,
        principal,
        organisation_id=org.id if org else None,
        title=title,
        purpose="为社区独居老人提供午餐和送餐服务",
        kind=ProjectKind.SERVICE,
        categories=list(categories),
        community_ids=communities,
        budget_fen=parse_yuan(budget),
        starts_on=date(2026, 12, 1),
        ends_on=date(2027, 3, 31),
        major=major,
    )


async def approved_project(
    uow: UnitOfWork, cast: Cast, admin: Principal, org: OrgView, **kwargs
) -> ProjectView:
    """Drafted, submitted and approved by the worker (not a major matter)."""
    project = await draft_project(uow, admin, org, [org.communities[0]], **kwargs)
    notifier = RecordingNotifier()
    await projects.act(uow, notifier, admin, project_id=project.id, action=ProjectAction.SUBMIT)
    worker = cast.worker(org.communities[0])
    return await projects.act(
        uow, notifier, worker, project_id=project.id, action=ProjectAction.APPROVE
    )


@dataclass(frozen=True)
class Audited:
    action: str
    actor_id: int | None
    note: str | None
    details: dict
    at: datetime


async def audit_of(uow: UnitOfWork, entity: str, entity_id: int) -> list[Audited]:
    """The audit log of one record, oldest first (read as plain values)."""
    async with uow:
        query = (
            select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.id)
        )
        return [
            Audited(e.action, e.actor_id, e.note, dict(e.details), e.at)
            for e in (await uow.session.scalars(query)).all()
        ]


# ---------------------------------------------------------------------- organisations


async def test_an_organisation_is_registered_from_a_home_and_its_name_is_unique(
    uow: UnitOfWork,
) -> None:
    c = await cast(uow)
    homeless = Principal(c.ids["founder"], "zh")
    with pytest.raises(Conflict, match="no_home_community"):
        await organisations.register(
            uow,
            RecordingNotifier(),
            homeless,
            name="阳光助老服务社",
            type=OrganisationType.COMMUNITY_SOCIAL_ORG,
            registration=RegistrationStatus.NONE,
            registration_number=None,
            contact="x",
        )
    with pytest.raises(InvalidInput):  # registered, but no number given
        await organisations.register(
            uow,
            RecordingNotifier(),
            Principal(c.ids["founder"], "zh", home=c.place(c.world.community_a1)),
            name="阳光助老服务社",
            type=OrganisationType.COMMUNITY_SOCIAL_ORG,
            registration=RegistrationStatus.REGISTERED,
            registration_number="  ",
            contact="x",
        )
    notifier = RecordingNotifier()
    org, admin = await register_org(
        uow, c, community_ids=(c.world.community_a2,), notifier=notifier
    )
    assert (org.name, org.verified, org.rejection_reason) == ("阳光助老服务社", False, None)
    assert org.communities == (c.world.community_a1, c.world.community_a2)
    assert [(n.person_id, n.message) for n in notifier.sent] == [
        (c.ids["worker_a"], "organisation.registered")
    ]
    # The founder is its admin in the database.
    async with uow:
        grants = (
            await uow.session.scalars(select(RoleGrant).where(RoleGrant.organisation_id == org.id))
        ).all()
        assert [(g.person_id, g.role) for g in grants] == [(c.ids["founder"], Role.ORG_ADMIN)]
    assert [o.id for o in await organisations.mine(uow, admin)] == [org.id]
    with pytest.raises(Conflict, match="organisation_name_taken"):
        await register_org(uow, c, name="  阳光助老服务社 ", founder="founder_b")


async def test_one_name_registered_twice_at_once_gives_one_organisation(uow: UnitOfWork) -> None:
    """A double tap (or two founders at once): the loser is told the name is taken."""
    c = await cast(uow)
    sessions = uow._session_factory
    outcomes = await asyncio.gather(
        *(
            organisations.register(
                UnitOfWork(sessions),
                RecordingNotifier(),
                Principal(c.ids[who], "zh", home=c.place(c.world.community_a1)),
                name="阳光助老服务社",
                type=OrganisationType.COMMUNITY_SOCIAL_ORG,
                registration=RegistrationStatus.NONE,
                registration_number=None,
                contact="x",
            )
            for who in ("founder", "newcomer")
        ),
        return_exceptions=True,
    )
    created = [o for o in outcomes if isinstance(o, OrgView)]
    refused = [o for o in outcomes if not isinstance(o, OrgView)]
    assert len(created) == 1 and len(refused) == 1, outcomes
    assert isinstance(refused[0], Conflict), refused[0]
    assert refused[0].reason == "organisation_name_taken"


async def test_only_a_worker_of_its_home_community_verifies_and_a_refusal_needs_a_reason(
    uow: UnitOfWork,
) -> None:
    c = await cast(uow)
    org, _ = await register_org(uow, c)
    assert [o.id for o in await organisations.pending(uow, c.worker())] == [org.id]
    assert await organisations.pending(uow, c.worker(c.world.community_b1)) == ()
    with pytest.raises(PermissionDenied):
        await organisations.verify(
            uow,
            RecordingNotifier(),
            c.worker(c.world.community_b1),
            organisation_id=org.id,
            approve=True,
        )
    with pytest.raises(PermissionDenied):  # a resident of the community is no verifier
        await organisations.verify(
            uow, RecordingNotifier(), c.resident(), organisation_id=org.id, approve=True
        )
    with pytest.raises(InvalidInput):
        await organisations.verify(
            uow, RecordingNotifier(), c.worker(), organisation_id=org.id, approve=False, reason=" "
        )
    assert not (await organisations.get(uow, organisation_id=org.id)).verified
    notifier = RecordingNotifier()
    refused = await organisations.verify(
        uow, notifier, c.worker(), organisation_id=org.id, approve=False, reason="缺少备案证明"
    )
    assert (refused.verified, refused.rejection_reason) == (False, "缺少备案证明")
    assert [(n.person_id, n.message) for n in notifier.sent] == [
        (c.ids["founder"], "organisation.refused")
    ]
    assert await organisations.pending(uow, c.worker()) == ()
    verified = await organisations.verify(
        uow, RecordingNotifier(), c.worker(), organisation_id=org.id, approve=True, now=T0
    )
    assert (verified.verified, verified.rejection_reason) == (True, None)
    with pytest.raises(Conflict, match="organisation_verified"):
        await organisations.verify(
            uow, RecordingNotifier(), c.worker(), organisation_id=org.id, approve=True
        )
    actions = [e.action for e in await audit_of(uow, "organisation", org.id)]
    assert actions == ["organisation.register", "organisation.refuse", "organisation.verify"]


async def test_admins_invite_members_by_link_once_and_links_expire(uow: UnitOfWork) -> None:
    c = await cast(uow)
    org, admin = await register_org(uow, c)
    other_org, other_admin = await register_org(
        uow, c, name="乙村互助会", founder="founder_b", home=c.world.community_b1
    )
    with pytest.raises(PermissionDenied):  # an admin of another organisation
        await organisations.invite(uow, other_admin, organisation_id=org.id, now=T0)
    token = await organisations.invite(uow, admin, organisation_id=org.id, now=T0)
    newcomer = Principal(c.ids["newcomer"], "zh", home=c.place(c.world.community_a1))
    joined = await organisations.join(uow, newcomer, token=token, now=T0 + timedelta(days=1))
    assert joined.id == org.id
    async with uow:
        members = await uow.grants.organisation_members(org.id)
        grants = [
            (g.role, g.organisation_id, g.community_id, g.granted_by)
            for g in await uow.session.scalars(
                select(RoleGrant).where(RoleGrant.person_id == c.ids["newcomer"])
            )
        ]
    assert sorted(members) == sorted([c.ids["founder"], c.ids["newcomer"]])
    assert grants == [(Role.ORG_MEMBER, org.id, c.world.community_a1, c.ids["founder"])]
    member = org_principal(c, "newcomer", org, Role.ORG_MEMBER)
    with pytest.raises(Conflict, match="already_member"):
        await organisations.join(uow, member, token=token, now=T0 + timedelta(days=2))
    with pytest.raises(PermissionDenied):  # members do not invite
        await organisations.invite(uow, member, organisation_id=org.id, now=T0)
    assert [o.id for o in await organisations.mine(uow, member)] == [org.id]
    # An expired link and an unknown one are not found.
    stale = await organisations.invite(uow, other_admin, organisation_id=other_org.id, now=T0)
    late = Principal(c.ids["resident"], "zh", home=c.place(c.world.community_a1))
    with pytest.raises(NotFound):
        await organisations.join(uow, late, token=stale, now=T0 + timedelta(days=7, seconds=1))
    with pytest.raises(NotFound):
        await organisations.join(uow, late, token="no-such-token", now=T0)
    async with uow:
        assert await uow.grants.organisation_members(other_org.id) == [c.ids["founder_b"]]


# ---------------------------------------------------------------------- drafting


async def test_only_members_draft_and_only_in_the_organisations_communities(
    uow: UnitOfWork,
) -> None:
    c = await cast(uow)
    w = c.world
    org, admin = await register_org(uow, c, community_ids=(w.community_a2,))
    outsider = Principal(c.ids["resident"], "zh", home=c.place(w.community_a1))
    with pytest.raises(PermissionDenied):
        await draft_project(uow, outsider, org, [w.community_a1])
    _, other_admin = await register_org(
        uow, c, name="乙村互助会", founder="founder_b", home=w.community_b1
    )
    with pytest.raises(PermissionDenied):  # an admin, but of another organisation
        await draft_project(uow, other_admin, org, [w.community_a1])
    with pytest.raises(PermissionDenied):  # b1 is outside the organisation's communities
        await draft_project(uow, admin, org, [w.community_a1, w.community_b1])
    with pytest.raises(InvalidInput):
        await projects.draft(
            uow,
            admin,
            organisation_id=org.id,
            title="倒着的项目",
            purpose="x",
            kind=ProjectKind.SERVICE,
            categories=[],
            community_ids=[w.community_a1],
            budget_fen=0,
            starts_on=date(2027, 1, 1),
            ends_on=date(2026, 1, 1),
            major=False,
        )
    project = await draft_project(uow, admin, org, [w.community_a2, w.community_a1])
    assert project.state is ProjectState.DRAFT
    assert project.community.id == w.community_a2  # the first community approves it
    assert project.organisation == org.name and project.budget_fen == 1_200_050
    assert project.actions == (ProjectAction.SUBMIT,)
    # A social worker drafts on their own in the communities they cover.
    own = await draft_project(uow, c.social_worker(), None, [w.community_a1], title="四点半课堂")
    assert (own.organisation, own.state) == (None, ProjectState.DRAFT)
    with pytest.raises(PermissionDenied):
        await draft_project(uow, c.social_worker(), None, [w.community_a2])


# ---------------------------------------------------------------------- a major matter


async def test_a_major_matter_needs_the_party_decision_and_runs_its_course(
    uow: UnitOfWork,
) -> None:
    c = await cast(uow)
    w = c.world
    org, admin = await register_org(uow, c, community_ids=(w.community_a2,))
    worker, reviewer = c.worker(), c.reviewer()
    notifier = RecordingNotifier()
    project = await draft_project(uow, admin, org, [w.community_a1, w.community_a2], major=True)
    pid = project.id
    assert project.major and project.decision is None

    with pytest.raises(Conflict, match="project_not_yours"):  # workers do not submit
        await projects.act(uow, notifier, worker, project_id=pid, action=ProjectAction.SUBMIT)
    with pytest.raises(Conflict, match="project_not_submitted"):
        await projects.record_decision(
            uow, notifier, reviewer, project_id=pid, approve=True, decided_on=T0.date(), minutes="x"
        )
    submitted = await projects.act(
        uow, notifier, admin, project_id=pid, action=ProjectAction.SUBMIT
    )
    assert submitted.state is ProjectState.SUBMITTED
    assert sorted((n.person_id, n.message) for n in notifier.sent) == sorted(
        [
            (c.ids["worker_a"], "project.submitted"),
            (c.ids["reviewer_a"], "project.needs_decision"),
        ]
    )
    seen_by_worker = await projects.view(uow, worker, project_id=pid)
    assert seen_by_worker.actions == (ProjectAction.APPROVE, ProjectAction.REJECT)
    assert not seen_by_worker.can_decide
    seen_by_reviewer = await projects.view(uow, reviewer, project_id=pid)
    assert seen_by_reviewer.can_decide and seen_by_reviewer.actions == ()

    # No approval before the party organisation decides.
    with pytest.raises(Conflict, match="party_decision_needed"):
        await projects.act(uow, notifier, worker, project_id=pid, action=ProjectAction.APPROVE)
    with pytest.raises(Conflict, match="project_not_yours"):  # nor by its own side
        await projects.act(uow, notifier, admin, project_id=pid, action=ProjectAction.APPROVE)
    with pytest.raises(PermissionDenied):  # the reviewer decides, but does not approve
        await projects.act(uow, notifier, reviewer, project_id=pid, action=ProjectAction.APPROVE)

    # A rejection needs a reason and sends the project back to its draft, with the reason.
    with pytest.raises(InvalidInput):
        await projects.act(
            uow, notifier, worker, project_id=pid, action=ProjectAction.REJECT, reason="  "
        )
    notifier.sent.clear()
    rejected = await projects.act(
        uow, notifier, worker, project_id=pid, action=ProjectAction.REJECT, reason="预算明细不全"
    )
    assert (rejected.state, rejected.rejection_reason) == (ProjectState.DRAFT, "预算明细不全")
    assert [(n.person_id, n.message) for n in notifier.sent] == [
        (c.ids["founder"], "project.rejected")
    ]
    resubmitted = await projects.act(
        uow, notifier, admin, project_id=pid, action=ProjectAction.SUBMIT
    )
    assert (resubmitted.state, resubmitted.rejection_reason) == (ProjectState.SUBMITTED, None)

    # Only a party reviewer covering the community records the decision, with minutes.
    for someone in (worker, c.reviewer(w.community_b1), admin):
        with pytest.raises(PermissionDenied):
            await projects.record_decision(
                uow,
                notifier,
                someone,
                project_id=pid,
                approve=True,
                decided_on=T0.date(),
                minutes="同意",
            )
    with pytest.raises(InvalidInput):
        await projects.record_decision(
            uow, notifier, reviewer, project_id=pid, approve=True, decided_on=T0.date(), minutes=""
        )
    said_no = await projects.record_decision(
        uow,
        notifier,
        reviewer,
        project_id=pid,
        approve=False,
        decided_on=date(2026, 12, 2),
        minutes="党委会议：暂缓，补充安全预案",
    )
    assert said_no.decision is not None and not said_no.decision.approve
    with pytest.raises(Conflict, match="party_decision_needed"):  # a "no" is no approval
        await projects.act(uow, notifier, worker, project_id=pid, action=ProjectAction.APPROVE)
    notifier.sent.clear()
    said_yes = await projects.record_decision(
        uow,
        notifier,
        reviewer,
        project_id=pid,
        approve=True,
        decided_on=date(2026, 12, 3),
        minutes="党委会议：同意实施",
    )
    assert said_yes.decision == projects.Decision(
        True, date(2026, 12, 3), "党委会议：同意实施", "党委书记"
    )
    assert [(n.person_id, n.message) for n in notifier.sent] == [
        (c.ids["worker_a"], "project.decided_yes")
    ]
    approved = await projects.act(
        uow, notifier, worker, project_id=pid, action=ProjectAction.APPROVE
    )
    assert approved.state is ProjectState.APPROVED
    with pytest.raises(Conflict, match="project_not_submitted"):
        await projects.record_decision(
            uow,
            notifier,
            reviewer,
            project_id=pid,
            approve=False,
            decided_on=T0.date(),
            minutes="x",
        )

    # An unverified organisation does not publish; nothing changes.
    with pytest.raises(Conflict, match="organisation_not_verified"):
        await projects.act(uow, notifier, admin, project_id=pid, action=ProjectAction.PUBLISH)
    assert (await projects.view(uow, admin, project_id=pid)).state is ProjectState.APPROVED
    await organisations.verify(
        uow, RecordingNotifier(), worker, organisation_id=org.id, approve=True
    )
    with pytest.raises(Conflict, match="project_not_yours"):  # the worker does not publish
        await projects.act(uow, notifier, worker, project_id=pid, action=ProjectAction.PUBLISH)
    states = []
    for action in (ProjectAction.PUBLISH, ProjectAction.START, ProjectAction.COMPLETE):
        states.append(
            (await projects.act(uow, notifier, admin, project_id=pid, action=action)).state
        )
    assert states == [ProjectState.PUBLISHED, ProjectState.RUNNING, ProjectState.COMPLETED]
    with pytest.raises(InvalidInput):  # the evaluation carries figures: its own function
        await projects.act(uow, notifier, admin, project_id=pid, action=ProjectAction.EVALUATE)
    with pytest.raises(InvalidInput):
        await projects.evaluate(uow, admin, project_id=pid, beneficiaries=40, summary=" ")
    with pytest.raises(Conflict, match="project_not_yours"):
        await projects.evaluate(uow, worker, project_id=pid, beneficiaries=40, summary="好")
    evaluated = await projects.evaluate(
        uow, admin, project_id=pid, beneficiaries=40, summary="服务老人40名，满意度高"
    )
    assert evaluated.state is ProjectState.EVALUATED
    assert (evaluated.results.beneficiaries, evaluated.results.summary) == (
        40,
        "服务老人40名，满意度高",
    )
    with pytest.raises(Conflict, match="project_transition:evaluated:complete"):
        await projects.act(uow, notifier, admin, project_id=pid, action=ProjectAction.COMPLETE)

    entries = await audit_of(uow, "project", pid)
    assert [(e.action, e.actor_id) for e in entries] == [
        ("project.draft", c.ids["founder"]),
        ("project.submit", c.ids["founder"]),
        ("project.reject", c.ids["worker_a"]),
        ("project.submit", c.ids["founder"]),
        ("project.party_decision", c.ids["reviewer_a"]),
        ("project.party_decision", c.ids["reviewer_a"]),
        ("project.approve", c.ids["worker_a"]),
        ("project.publish", c.ids["founder"]),
        ("project.start", c.ids["founder"]),
        ("project.complete", c.ids["founder"]),
        ("project.evaluate", c.ids["founder"]),
    ]
    assert entries[2].note == "预算明细不全"
    assert [e.details["approve"] for e in entries[4:6]] == [False, True]
    assert [e.at for e in entries] == sorted(e.at for e in entries)


async def test_people_with_no_part_in_a_project_cannot_move_or_evaluate_it(
    uow: UnitOfWork,
) -> None:
    c = await cast(uow)
    org, admin = await verified_org(uow, c)
    project = await approved_project(uow, c, admin, org)
    for action in (ProjectAction.PUBLISH, ProjectAction.START, ProjectAction.COMPLETE):
        with pytest.raises(PermissionDenied):
            await projects.act(
                uow, RecordingNotifier(), c.resident(), project_id=project.id, action=action
            )
        await projects.act(uow, RecordingNotifier(), admin, project_id=project.id, action=action)
    # A stranger evaluating is refused as a stranger (not by a crash), and nothing changes.
    with pytest.raises(PermissionDenied):
        await projects.evaluate(
            uow, c.resident(), project_id=project.id, beneficiaries=1, summary="我来评"
        )
    after = await projects.view(uow, admin, project_id=project.id)
    assert (after.state, after.results.beneficiaries) == (ProjectState.COMPLETED, None)


# ---------------------------------------------------------------------- counted figures


async def verified_volunteer(uow: UnitOfWork, cast: Cast, n: int) -> Principal:
    person = await make_person(uow, f"志愿者{n}", community=cast.world.community_a1)
    principal = Principal(person, "zh", home=cast.place(cast.world.community_a1))
    first17 = f"500106198506{n:02d}123"[:17]
    view = await volunteers.register(
        uow,
        CIPHER,
        RecordingNotifier(),
        principal,
        real_name=f"志愿者{n}",
        id_number=first17 + check_character(first17),
        phone="13800138000",
        skills=[Skill.COOKING],
        tags=[],
        availability=[],
        community_ids=[],
    )
    await volunteers.verify(
        uow, RecordingNotifier(), cast.worker(), volunteer_id=view.id, approve=True
    )
    return principal


async def check(uow: UnitOfWork, volunteer: Principal, shift_id: int, at: datetime, out: bool):
    return await attendance.check_by_location(
        uow,
        volunteer,
        shift_id=shift_id,
        latitude=HERE[0],
        longitude=HERE[1],
        check_out=out,
        now=at,
    )


async def test_evaluation_figures_are_counted_from_confirmed_records_and_linked_needs(
    uow: UnitOfWork,
) -> None:
    c = await cast(uow)
    w = c.world
    org, admin = await verified_org(uow, c)
    project = await approved_project(uow, c, admin, org)
    pid = project.id
    draft = await draft_project(uow, admin, org, [w.community_a1], title="还是草稿")
    shift_args = dict(
        community_id=w.community_a1,
        title="银龄食堂送餐",
        place="社区食堂",
        starts_at=START,
        ends_at=END,
        capacity=5,
        latitude=HERE[0],
        longitude=HERE[1],
        now=T0,
    )
    with pytest.raises(Conflict, match="project_not_recruiting"):
        await shifts.create_shift(uow, admin, project_id=draft.id, **shift_args)
    for stranger in (c.worker(), c.resident()):  # neither is the project's owner
        with pytest.raises(PermissionDenied):
            await shifts.create_shift(uow, stranger, project_id=pid, **shift_args)
    shift = await shifts.create_shift(uow, admin, project_id=pid, **shift_args)
    await projects.act(
        uow, RecordingNotifier(), admin, project_id=pid, action=ProjectAction.PUBLISH
    )
    first, second = await verified_volunteer(uow, c, 1), await verified_volunteer(uow, c, 2)
    for v in (first, second):
        await shifts.sign_up(uow, v, shift_id=shift.id, now=T0)
    await projects.act(uow, RecordingNotifier(), admin, project_id=pid, action=ProjectAction.START)
    # A shift outside the project, served and confirmed, must not count for it.
    plain = await shifts.create_shift(
        uow,
        c.worker(),
        **{**shift_args, "title": "普通值班", "starts_at": DAY_AFTER, "ends_at": DAY_AFTER + HOUR},
    )
    await shifts.sign_up(uow, first, shift_id=plain.id, now=T0)

    await check(uow, first, shift.id, START, out=False)
    await check(uow, second, shift.id, START + timedelta(minutes=30), out=False)
    done = await check(uow, first, shift.id, START + timedelta(hours=2), out=True)
    unconfirmed = await check(uow, second, shift.id, END, out=True)
    assert (done.record.minutes, unconfirmed.record.minutes) == (120, 90)
    running = await projects.view(uow, admin, project_id=pid)
    assert (running.results.confirmed_minutes, running.results.volunteers) == (0, 0)

    await attendance.confirm(
        uow, RecordingNotifier(), c.worker(), record_id=done.record.id, points_per_hour=10
    )
    await check(uow, first, plain.id, DAY_AFTER, out=False)
    other = await check(uow, first, plain.id, DAY_AFTER + timedelta(minutes=45), out=True)
    await attendance.confirm(
        uow, RecordingNotifier(), c.worker(), record_id=other.record.id, points_per_hour=10
    )
    counted = await projects.view(uow, admin, project_id=pid)
    assert counted.results.confirmed_minutes == 120
    assert counted.results.volunteers == 1
    assert counted.shift_ids == (shift.id,)

    # Needs: linked by the project's owners, only from its communities, counted once.
    filed = await needs.file_need(
        uow,
        RecordingNotifier(),
        c.resident(),
        category=NeedCategory.ELDERLY_CARE,
        description="独居老人需要送餐",
        urgency=Urgency.NORMAL,
        beneficiary=Beneficiary.NEIGHBOUR,
        now=T0,
    )
    elsewhere = await needs.file_need(
        uow,
        RecordingNotifier(),
        c.resident("resident_b", w.community_b1),
        category=NeedCategory.ELDERLY_CARE,
        description="村里老人需要送餐",
        urgency=Urgency.NORMAL,
        beneficiary=Beneficiary.NEIGHBOUR,
        now=T0,
    )
    assert counted.results.needs_linked == 0
    with pytest.raises(PermissionDenied):
        await projects.link_need(
            uow,
            c.resident("resident_b", w.community_b1),
            project_id=pid,
            reference=filed.need.reference,
        )
    with pytest.raises(Conflict, match="need_outside_project"):
        await projects.link_need(uow, admin, project_id=pid, reference=elsewhere.need.reference)
    with pytest.raises(InvalidInput):
        await projects.link_need(uow, admin, project_id=pid, reference="A1-2026-99999")
    linked = await projects.link_need(
        uow, admin, project_id=pid, reference=f" {filed.need.reference.lower()} "
    )
    assert (linked.results.needs_linked, linked.results.needs_solved) == (1, 0)
    again = await projects.link_need(
        uow, c.worker(), project_id=pid, reference=filed.need.reference
    )
    assert again.results.needs_linked == 1

    await projects.act(
        uow, RecordingNotifier(), admin, project_id=pid, action=ProjectAction.COMPLETE
    )
    evaluated = await projects.evaluate(
        uow, admin, project_id=pid, beneficiaries=12, summary="送餐两小时"
    )
    assert evaluated.results == projects.Results(
        beneficiaries=12,
        summary="送餐两小时",
        confirmed_minutes=120,
        volunteers=1,
        needs_linked=1,
        needs_solved=0,
        satisfaction=None,
        allocated_fen=0,
        spent_fen=0,
    )


# ---------------------------------------------------------------------- visibility


async def test_a_draft_is_hidden_from_residents_and_a_published_project_is_not(
    uow: UnitOfWork,
) -> None:
    c = await cast(uow)
    org, admin = await verified_org(uow, c)
    project = await draft_project(uow, admin, org, [c.world.community_a1])
    resident = c.resident()
    with pytest.raises(NotFound):
        await projects.view(uow, resident, project_id=project.id)
    with pytest.raises(NotFound):  # a worker of another community
        await projects.view(uow, c.worker(c.world.community_b1), project_id=project.id)
    assert (await projects.view(uow, c.worker(), project_id=project.id)).actions == ()
    assert (await projects.view(uow, admin, project_id=project.id)).state is ProjectState.DRAFT
    assert project.id not in [p.id for p in (await projects.listing(uow, resident)).items]

    notifier = RecordingNotifier()
    await projects.act(uow, notifier, admin, project_id=project.id, action=ProjectAction.SUBMIT)
    with pytest.raises(NotFound):  # submitted is not public either
        await projects.view(uow, resident, project_id=project.id)
    with pytest.raises(Conflict, match="not_a_major_matter"):
        await projects.record_decision(
            uow,
            notifier,
            c.reviewer(),
            project_id=project.id,
            approve=True,
            decided_on=T0.date(),
            minutes="不必上会",
        )
    await projects.act(
        uow, notifier, c.worker(), project_id=project.id, action=ProjectAction.APPROVE
    )
    with pytest.raises(NotFound):
        await projects.view(uow, resident, project_id=project.id)
    await projects.act(uow, notifier, admin, project_id=project.id, action=ProjectAction.PUBLISH)
    seen = await projects.view(uow, resident, project_id=project.id)
    assert (seen.state, seen.title, seen.actions, seen.can_add_shift) == (
        ProjectState.PUBLISHED,
        "银龄食堂",
        (),
        False,
    )
    assert project.id in [p.id for p in (await projects.listing(uow, resident)).items]
    with pytest.raises(PermissionDenied):  # seeing it is not moving it
        await projects.act(
            uow, notifier, resident, project_id=project.id, action=ProjectAction.START
        )
    with pytest.raises(NotFound):
        await projects.view(uow, resident, project_id=project.id + 1000)
