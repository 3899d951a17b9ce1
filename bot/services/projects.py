"""Service projects: drafted by an organisation (or a social worker), approved by a community
worker — for a major matter only after the party organisation's recorded decision — published to
recruit volunteers, run, completed and evaluated with figures counted from the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial

from bot.domain.contacts import shown_name
from bot.domain.enums import Role
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.needs import NeedCategory
from bot.domain.policy import APPROVING_ROLES, AREA_READ_ROLES
from bot.domain.principal import Principal
from bot.domain.projects import (
    MAX_BUDGET_FEN,
    PUBLIC,
    Actor,
    ProjectAction,
    ProjectKind,
    ProjectState,
    actions_for,
    next_state,
)
from bot.services import audit
from bot.services.organisations import member_of
from bot.services.places import acts_in, area_of, place_of
from bot.services.ports import Notice, Notifier
from bot.services.views import Named, Page
from storage.models import Need, PartyDecision, Project, ProjectEvaluation
from storage.uow import UnitOfWork

PER_PAGE = 5
MAX_TEXT = 2000


@dataclass(frozen=True, slots=True)
class Decision:
    approve: bool
    decided_on: date
    minutes: str
    reviewer: str


@dataclass(frozen=True, slots=True)
class Results:
    beneficiaries: int | None
    summary: str | None
    confirmed_minutes: int  # counted from confirmed service records of its shifts
    volunteers: int
    needs_linked: int
    needs_solved: int
    satisfaction: float | None  # mean rating of the linked needs (1–5)
    allocated_fen: int
    spent_fen: int
    # Where its money came from and where it went: (fund, allocated, spent) per allocation.
    money: tuple[tuple[str, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ProjectView:
    id: int
    title: str
    purpose: str
    kind: ProjectKind
    state: ProjectState
    organisation: str | None
    community: Named
    categories: tuple[NeedCategory, ...]
    budget_fen: int
    starts_on: date
    ends_on: date
    major: bool
    rejection_reason: str | None
    decision: Decision | None
    results: Results
    shift_ids: tuple[int, ...]
    # For the viewer: the steps they may take, and whether they may review or add shifts.
    actions: tuple[ProjectAction, ...] = ()
    can_decide: bool = False
    can_add_shift: bool = False


def _checked_text(text: str, field: str) -> str:
    checked = text.strip()[:MAX_TEXT]
    if not checked:
        raise InvalidInput(field, "empty")
    return checked


_audit = partial(audit.step, entity="project")


def _clean(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def _actors(principal: Principal, project: Project, place_ok: bool) -> set[Actor]:
    actors = set()
    owner = project.created_by == principal.person_id or (
        project.organisation_id is not None and member_of(principal, project.organisation_id)
    )
    if owner or principal.is_superadmin:
        actors.add(Actor.OWNER)
    if place_ok:
        actors.add(Actor.WORKER)
    return actors


async def _load(uow: UnitOfWork, project_id: int, *, lock: bool = False) -> Project:
    project = await uow.projects.get(project_id, lock=lock)
    if project is None:
        raise NotFound("project", project_id)
    return project


async def _place_ok(uow: UnitOfWork, principal: Principal, project: Project, *roles: Role) -> bool:
    return await acts_in(uow, principal, project.community_id, roles or APPROVING_ROLES)


async def _view(uow: UnitOfWork, project: Project, principal: Principal | None) -> ProjectView:
    community = await uow.places.community(project.community_id)
    assert community is not None
    org = await uow.organisations.get(project.organisation_id) if project.organisation_id else None
    actions, can_decide, can_add_shift = await _viewer_steps(uow, project, principal)
    return ProjectView(
        id=project.id,
        title=project.title,
        purpose=project.purpose,
        kind=project.kind,
        state=project.state,
        organisation=org.name if org else None,
        community=Named(community.id, community.name, community.name_en),
        categories=tuple(
            NeedCategory(c) for c in project.categories if c in NeedCategory._value2member_map_
        ),
        budget_fen=project.budget_fen,
        starts_on=project.starts_on,
        ends_on=project.ends_on,
        major=project.major,
        rejection_reason=project.rejection_reason,
        decision=await _decision(uow, project),
        results=await _results(uow, project),
        shift_ids=tuple(s.id for s in await uow.projects.shifts_of(project.id)),
        actions=actions,
        can_decide=can_decide,
        can_add_shift=can_add_shift,
    )


async def _decision(uow: UnitOfWork, project: Project) -> Decision | None:
    """The party organisation's latest recorded decision, with its reviewer's name."""
    row = await uow.projects.latest_decision(project.id)
    if row is None:
        return None
    reviewer = await uow.people.get(row.reviewer_id)
    name = shown_name(reviewer.display_name, reviewer.id) if reviewer else ""
    return Decision(row.approve, row.decided_on, row.minutes, name)


async def _results(uow: UnitOfWork, project: Project) -> Results:
    """The evaluation, and the figures counted from the store (service, needs, money)."""
    evaluation = await uow.projects.evaluation(project.id)
    minutes, volunteers = await uow.projects.service_figures(project.id)
    linked, solved, rating = await uow.projects.need_figures(project.id)
    allocations = await uow.funds.allocations_to(project.id)
    expenditures = await uow.funds.expenditures([a.id for a in allocations])
    money = []
    for allocation in allocations:
        fund = await uow.funds.get(allocation.fund_id)
        used = sum(e.amount_fen for e in expenditures if e.allocation_id == allocation.id)
        money.append((fund.name if fund else "", allocation.amount_fen, used))
    return Results(
        beneficiaries=evaluation.beneficiaries if evaluation else None,
        summary=evaluation.summary if evaluation else None,
        confirmed_minutes=minutes,
        volunteers=volunteers,
        needs_linked=linked,
        needs_solved=solved,
        satisfaction=rating,
        allocated_fen=sum(a.amount_fen for a in allocations),
        spent_fen=sum(e.amount_fen for e in expenditures),
        money=tuple(money),
    )


async def _viewer_steps(
    uow: UnitOfWork, project: Project, principal: Principal | None
) -> tuple[tuple[ProjectAction, ...], bool, bool]:
    """What the viewer may do: the lifecycle steps, review it, add shifts to it."""
    if principal is None:
        return (), False, False
    place_ok = await _place_ok(uow, principal, project)
    actors = _actors(principal, project, place_ok)
    actions = tuple(a for actor in sorted(actors) for a in actions_for(project.state, actor))
    can_decide = (
        project.major
        and project.state is ProjectState.SUBMITTED
        and await _place_ok(uow, principal, project, Role.PARTY_REVIEWER)
    )
    can_add_shift = Actor.OWNER in actors and project.state in (
        ProjectState.APPROVED,
        ProjectState.PUBLISHED,
        ProjectState.RUNNING,
    )
    return actions, can_decide, can_add_shift


async def draft(
    uow: UnitOfWork,
    principal: Principal,
    *,
    organisation_id: int | None,
    title: str,
    purpose: str,
    kind: ProjectKind,
    categories: Sequence[NeedCategory],
    community_ids: Sequence[int],
    budget_fen: int,
    starts_on: date,
    ends_on: date,
    major: bool,
) -> ProjectView:
    title, purpose = _checked_draft(title, purpose, budget_fen, starts_on, ends_on, community_ids)
    async with uow:
        await _check_draft_communities(uow, principal, organisation_id, community_ids)
        project = await uow.projects.add(
            Project(
                organisation_id=organisation_id,
                created_by=principal.person_id,
                community_id=community_ids[0],
                title=title,
                purpose=purpose,
                kind=kind,
                categories=[c.value for c in categories],
                budget_fen=budget_fen,
                starts_on=starts_on,
                ends_on=ends_on,
                major=major,
                state=ProjectState.DRAFT,
            ),
            community_ids,
        )
        details = {"major": major, "budget_fen": budget_fen}
        _audit(uow, principal, "project.draft", project.id, details=details)
        view = await _view(uow, project, principal)
        await uow.commit()
        return view


def _checked_draft(
    title: str,
    purpose: str,
    budget_fen: int,
    starts_on: date,
    ends_on: date,
    community_ids: Sequence[int],
) -> tuple[str, str]:
    """The title and purpose cleaned, the budget, period and communities checked."""
    title, purpose = _clean(title, 200), purpose.strip()[:MAX_TEXT]
    if not title or not purpose:
        raise InvalidInput("project", "title and purpose")
    if not 0 <= budget_fen <= MAX_BUDGET_FEN:
        raise InvalidInput("amount", "range")
    if ends_on < starts_on:
        raise InvalidInput("period", "range")
    if not community_ids:
        raise InvalidInput("communities", "empty")
    return title, purpose


async def _check_draft_communities(
    uow: UnitOfWork, principal: Principal, organisation_id: int | None, community_ids: Sequence[int]
) -> None:
    allowed = await _draft_communities(uow, principal, organisation_id)
    if not allowed or not set(community_ids) <= allowed:
        raise PermissionDenied()


async def _draft_communities(
    uow: UnitOfWork, principal: Principal, organisation_id: int | None
) -> set[int]:
    """Where the drafter may run a project: the organisation's communities (for its
    members), or those the social worker covers."""
    if organisation_id is None:
        return set(await uow.places.communities_covered(principal, (Role.SOCIAL_WORKER,)))
    if not member_of(principal, organisation_id):
        raise PermissionDenied()
    return set(await uow.org_directory.communities_of(organisation_id))


async def view(uow: UnitOfWork, principal: Principal, *, project_id: int) -> ProjectView:
    """Public projects for anyone; drafts and submissions only for their owners and workers."""
    async with uow:
        project = await _load(uow, project_id)
        result = await _view(uow, project, principal)
        if not await _visible(uow, principal, project, result):
            raise NotFound("project", project_id)
        return result


async def _visible(
    uow: UnitOfWork, principal: Principal, project: Project, shown: ProjectView
) -> bool:
    return bool(
        project.state in PUBLIC
        or shown.actions
        or shown.can_decide
        or Actor.OWNER in _actors(principal, project, False)
        or await _place_ok(uow, principal, project)
    )


async def act(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    project_id: int,
    action: ProjectAction,
    reason: str = "",
) -> ProjectView:
    """One lifecycle step (the evaluation has its own function: it carries figures)."""
    if action is ProjectAction.EVALUATE:
        raise InvalidInput("action", "use evaluate()")
    reason = _clean(reason, 500)
    if action is ProjectAction.REJECT and not reason:
        raise InvalidInput("reason", "empty")
    async with uow:
        project = await _load(uow, project_id, lock=True)
        place_ok = await _place_ok(uow, principal, project)
        actors = _actors(principal, project, place_ok)
        if not actors:
            raise PermissionDenied()
        decision = await uow.projects.latest_decision(project.id)
        target = _step(project, action, actors, decision is not None and decision.approve)
        if action is ProjectAction.PUBLISH:
            await _check_organisation_verified(uow, project)
        project.state = target
        project.rejection_reason = reason if action is ProjectAction.REJECT else None
        _audit(uow, principal, f"project.{action.value}", project.id, note=reason or None)
        notices = await _notices(uow, project, action, reason)
        await uow.projects.flush()
        result = await _view(uow, project, principal)
        await uow.commit()
    await notifier.send(notices)
    return result


async def _check_organisation_verified(uow: UnitOfWork, project: Project) -> None:
    """An organisation's project is published only once the organisation is verified."""
    if project.organisation_id is None:
        return
    org = await uow.organisations.get(project.organisation_id)
    if org is None or org.verified_at is None:
        raise Conflict("organisation_not_verified")


def _step(
    project: Project, action: ProjectAction, actors: set[Actor], party_approved: bool
) -> ProjectState:
    """Try the step as each role the person holds here; the first that is allowed wins."""
    if not actors:
        raise PermissionDenied()
    refusal: Conflict | None = None
    for actor in sorted(actors):
        try:
            return next_state(
                project.state, action, actor, major=project.major, party_approved=party_approved
            )
        except Conflict as error:
            refusal = refusal if refusal and refusal.reason != "project_not_yours" else error
    assert refusal is not None
    raise refusal


async def _notices(
    uow: UnitOfWork, project: Project, action: ProjectAction, reason: str
) -> list[Notice]:
    params: dict[str, str | int] = {"title": project.title, "reason": reason or "-"}
    if action is ProjectAction.SUBMIT:
        community = await uow.places.community(project.community_id)
        assert community is not None
        roles = (
            (Role.COMMUNITY_WORKER, Role.PARTY_REVIEWER) if project.major else APPROVING_ROLES[:1]
        )
        people = await uow.grants.people_with_roles_covering(place_of(community), roles)
        return [
            Notice(
                person_id,
                "project.needs_decision" if role is Role.PARTY_REVIEWER else "project.submitted",
                params,
                actions=(("project", project.id),),
            )
            for person_id, _, role in people
        ]
    if action in (ProjectAction.APPROVE, ProjectAction.REJECT):
        message = "project.approved" if action is ProjectAction.APPROVE else "project.rejected"
        return [Notice(project.created_by, message, params, actions=(("project", project.id),))]
    return []


async def record_decision(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    project_id: int,
    approve: bool,
    decided_on: date,
    minutes: str,
) -> ProjectView:
    """The party-organisation reviewer records the decision on a major matter."""
    minutes = _checked_text(minutes, "minutes_text")
    async with uow:
        project = await _load(uow, project_id, lock=True)
        if not await _place_ok(uow, principal, project, Role.PARTY_REVIEWER):
            raise PermissionDenied()
        _check_decidable(project)
        _add_decision(uow, principal, project, approve, decided_on, minutes)
        workers = await _community_workers(uow, project)
        await uow.projects.flush()
        result = await _view(uow, project, principal)
        await uow.commit()
    message = "project.decided_yes" if approve else "project.decided_no"
    params: dict[str, str | int] = {"title": result.title}
    await notifier.send(
        [Notice(p, message, params, actions=(("project", project_id),)) for p in workers]
    )
    return result


def _add_decision(
    uow: UnitOfWork,
    principal: Principal,
    project: Project,
    approve: bool,
    decided_on: date,
    minutes: str,
) -> None:
    uow.projects.add_decision(
        PartyDecision(
            project_id=project.id,
            reviewer_id=principal.person_id,
            approve=approve,
            decided_on=decided_on,
            minutes=minutes,
        )
    )
    details = {"approve": approve, "decided_on": decided_on.isoformat()}
    _audit(uow, principal, "project.party_decision", project.id, details=details)


async def _community_workers(uow: UnitOfWork, project: Project) -> list[int]:
    community = await uow.places.community(project.community_id)
    assert community is not None
    workers = await uow.grants.people_with_roles_covering(
        place_of(community), (Role.COMMUNITY_WORKER,)
    )
    return [person_id for person_id, _, _ in workers]


def _check_decidable(project: Project) -> None:
    """The party organisation decides only a major matter, while it is submitted."""
    if not project.major:
        raise Conflict("not_a_major_matter")
    if project.state is not ProjectState.SUBMITTED:
        raise Conflict("project_not_submitted")


async def evaluate(
    uow: UnitOfWork,
    principal: Principal,
    *,
    project_id: int,
    beneficiaries: int,
    summary: str,
) -> ProjectView:
    """Close a completed project with what only people know; the rest is counted."""
    summary = _checked_text(summary, "summary")
    if not 0 <= beneficiaries <= 10_000_000:
        raise InvalidInput("number", "range")
    async with uow:
        project = await _load(uow, project_id, lock=True)
        actors = _actors(principal, project, await _place_ok(uow, principal, project))
        target = _step(project, ProjectAction.EVALUATE, actors, party_approved=True)
        project.state = target
        uow.projects.set_evaluation(
            ProjectEvaluation(
                project_id=project.id,
                beneficiaries=beneficiaries,
                summary=summary,
                evaluated_by=principal.person_id,
            )
        )
        details = {"beneficiaries": beneficiaries}
        _audit(uow, principal, "project.evaluate", project.id, details=details)
        await uow.projects.flush()
        result = await _view(uow, project, principal)
        await uow.commit()
        return result


async def listing(uow: UnitOfWork, principal: Principal, *, page: int = 0) -> Page[ProjectView]:
    """What the person manages (drafts, approvals) first, then public projects near them."""
    async with uow:
        organisations = [
            g.organisation_id for g in principal.grants if g.organisation_id is not None
        ]
        reviewing = await uow.places.communities_covered(
            principal, (*APPROVING_ROLES, Role.PARTY_REVIEWER, Role.SOCIAL_WORKER)
        )
        communities = await _near(uow, principal, set(reviewing))
        managed, _ = await uow.projects.managed(
            principal.person_id, organisations, reviewing, 0, 50
        )
        public, _ = await uow.projects.public_in(sorted(communities), 0, 200)
        seen: dict[int, Project] = {p.id: p for p in managed}
        for p in public:
            seen.setdefault(p.id, p)
        ordered = list(seen.values())
        start = max(0, page) * PER_PAGE
        items = tuple([await _view(uow, p, principal) for p in ordered[start : start + PER_PAGE]])
        return Page(items, max(0, page), PER_PAGE, len(ordered))


async def _near(uow: UnitOfWork, principal: Principal, communities: set[int]) -> set[int]:
    """`communities` with the person's home and those they serve as a volunteer."""
    if principal.home is not None:
        communities.add(principal.home.community_id)
    volunteer = await uow.volunteers.of_person(principal.person_id)
    if volunteer is not None:
        communities |= set(await uow.volunteers.communities_of(volunteer.id))
    return communities


async def area_listing(
    uow: UnitOfWork,
    principal: Principal,
    *,
    kind: ProjectKind | None = None,
    state: ProjectState | None = None,
    community_id: int | None = None,
    page: int = 0,
    per_page: int = PER_PAGE,
) -> Page[ProjectView]:
    """The project list (项目清单) of the communities the principal reads: the public
    projects (published, running, completed, evaluated), as residents see them."""
    page = max(0, page)
    async with uow:
        communities = await area_of(uow, principal, AREA_READ_ROLES, community_id)
        rows, total = await uow.projects.public_in(
            communities, page * per_page, per_page, kind=kind, state=state
        )
        items = tuple([await _view(uow, p, None) for p in rows])
        return Page(items, page, per_page, total)


async def link_need(
    uow: UnitOfWork, principal: Principal, *, project_id: int, reference: str
) -> ProjectView:
    """Tie a need to the project (workers of the need's community, or the project's owners)."""
    async with uow:
        project = await _load(uow, project_id, lock=True)
        need = await uow.needs.by_reference(reference.strip().upper())
        if need is None:
            raise InvalidInput("need_reference", "unknown")
        await _check_may_link(uow, principal, project, need)
        if need.community_id not in await uow.projects.communities_of(project.id):
            raise Conflict("need_outside_project")
        await uow.projects.link_need(project.id, need.id)
        _audit(uow, principal, "project.link_need", project.id, details={"need": need.reference})
        result = await _view(uow, project, principal)
        await uow.commit()
        return result


async def _check_may_link(
    uow: UnitOfWork, principal: Principal, project: Project, need: Need
) -> None:
    """The project's owners, or the workers of the need's community."""
    community = await uow.places.community(need.community_id)
    assert community is not None
    owner = Actor.OWNER in _actors(principal, project, False)
    worker = principal.can_act_in(place_of(community), *APPROVING_ROLES, Role.SOCIAL_WORKER)
    if not (owner or worker):
        raise PermissionDenied()
