"""Competitions and micro-grants (policy 三.(四)): a street or district opens a call funded from
a fund of the ledger and announced through the broadcast outbox; organisations put their draft
projects forward and revise them until the deadline; a panel named by the organiser scores each
proposal per criterion (a reviewer never scores their own organisation's), the scores hidden
until the panel closes; the ranking, the awards within the budget and their reasons are
published, each award an allocation from the call's fund (募用分离 kept: the fund's organisation
never receives) and each awarded project approved. Rules in bot.domain.competitions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from bot.domain.broadcasts import Audience, AudienceKind, clean_text
from bot.domain.competitions import (
    MAX_VOTE_WEIGHT,
    AwardReason,
    CallState,
    Criterion,
    Entry,
    award,
    check_criteria,
    conflicted,
    panel_score,
)
from bot.domain.enums import OrganisationType, ScopeLevel
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.funds import FundBook
from bot.domain.principal import Principal
from bot.domain.projects import MAX_BUDGET_FEN, ProjectState
from bot.services import audit, broadcasts, buyers
from bot.services.funds import replay
from bot.services.organisations import member_of
from storage.models import (
    Competition,
    CompetitionAward,
    CompetitionProposal,
    CompetitionReviewer,
    CompetitionScore,
    Fund,
    FundAllocation,
    Project,
)
from storage.types import utcnow
from storage.uow import UnitOfWork

MAX_TEXT = 2000
MAX_LINES = 20


@dataclass(frozen=True, slots=True)
class NewCall:
    level: ScopeLevel
    scope_id: int
    title: str
    theme: str
    budget_fen: int
    fund_id: int
    eligible_types: Sequence[OrganisationType]
    criteria: Sequence[Criterion]
    proposals_due_at: datetime
    review_due_at: datetime
    vote_weight: int = 0
    pass_mark: int = 60


@dataclass(frozen=True, slots=True)
class BudgetLine:
    item: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class ProposalView:
    id: int
    project_id: int
    title: str
    organisation: str
    requested_fen: int
    budget_lines: tuple[BudgetLine, ...]
    needs: tuple[str, ...]  # references of the needs it answers
    expected_results: str
    revised: bool
    # For a reviewer: whether they scored it, and whether they are excluded (conflict).
    my_scores: dict[str, int] | None = None
    excluded: bool = False


@dataclass(frozen=True, slots=True)
class RankedView:
    proposal: ProposalView
    rank: int
    score_centi: int | None
    panel_centi: int | None
    votes: int
    amount_fen: int
    reason: AwardReason
    sheets: int  # how many reviewers scored it


@dataclass(frozen=True, slots=True)
class CallView:
    id: int
    level: ScopeLevel
    scope_id: int
    title: str
    theme: str
    budget_fen: int
    fund: str
    fund_id: int
    eligible_types: tuple[OrganisationType, ...]
    criteria: tuple[Criterion, ...]
    proposals_due_at: datetime
    review_due_at: datetime
    vote_weight: int
    pass_mark: int
    phase: CallState
    proposals: int
    reviewers: tuple[str, ...]
    consultation_id: int | None
    # About the reader:
    organiser: bool
    reviewer: bool


_audit = partial(audit.step, entity="competition")


def _phase(call: Competition, now: datetime) -> CallState:
    if call.state is CallState.OPEN and now >= call.proposals_due_at:
        return CallState.REVIEWING
    return call.state


def _criteria(call: Competition) -> tuple[Criterion, ...]:
    return tuple(Criterion(c["name"], int(c["weight"])) for c in call.criteria)


async def _load(uow: UnitOfWork, competition_id: int, *, lock: bool = False) -> Competition:
    call = await uow.competitions.get(competition_id, lock=lock)
    if call is None:
        raise NotFound("competition", competition_id)
    return call


async def _organiser(uow: UnitOfWork, principal: Principal, call: Competition) -> bool:
    return await buyers.acts_for(uow, principal, call.level, call.scope_id)


async def _organised(uow: UnitOfWork, principal: Principal, competition_id: int) -> Competition:
    """The call (locked), if the principal organises it (buys for its unit)."""
    call = await _load(uow, competition_id, lock=True)
    if not await _organiser(uow, principal, call):
        raise PermissionDenied()
    return call


async def _call_view(
    uow: UnitOfWork, principal: Principal, call: Competition, now: datetime
) -> CallView:
    fund = await uow.funds.get(call.fund_id)
    reviewers = await uow.competitions.reviewers(call.id)
    return CallView(
        id=call.id,
        level=call.level,
        scope_id=call.scope_id,
        title=call.title,
        theme=call.theme,
        budget_fen=call.budget_fen,
        fund=fund.name if fund else "",
        fund_id=call.fund_id,
        eligible_types=tuple(OrganisationType(t) for t in call.eligible_types),
        criteria=_criteria(call),
        proposals_due_at=call.proposals_due_at,
        review_due_at=call.review_due_at,
        vote_weight=call.vote_weight,
        pass_mark=call.pass_mark,
        phase=_phase(call, now),
        proposals=len(await uow.competitions.proposals(call.id)),
        reviewers=tuple([await _reviewer_name(uow, r.person_id) for r in reviewers]),
        consultation_id=call.consultation_id,
        organiser=await _organiser(uow, principal, call),
        reviewer=any(r.person_id == principal.person_id for r in reviewers),
    )


async def _reviewer_name(uow: UnitOfWork, person_id: int) -> str:
    person = await uow.people.get(person_id)
    return person.display_name if person and person.display_name else f"#{person_id}"


def _check_call(spec: NewCall, now: datetime) -> tuple[str, str]:
    title = " ".join(spec.title.split())[:200]
    theme = spec.theme.strip()[:MAX_TEXT]
    if not title or not theme:
        raise InvalidInput("competition", "title and theme")
    if not 0 < spec.budget_fen <= MAX_BUDGET_FEN:
        raise InvalidInput("amount", "range")
    if not spec.eligible_types:
        raise InvalidInput("eligible", "empty")
    check_criteria(spec.criteria)
    _check_deadlines(spec, now)
    if not 0 <= spec.vote_weight <= MAX_VOTE_WEIGHT or not 0 <= spec.pass_mark <= 100:
        raise InvalidInput("vote_weight", "range")
    return title, theme


def _check_deadlines(spec: NewCall, now: datetime) -> None:
    """Proposals are due in the future, the review after them."""
    if spec.proposals_due_at <= now:
        raise InvalidInput("deadline", "past")
    if spec.review_due_at <= spec.proposals_due_at:
        raise InvalidInput("deadline", "order")


async def open_call(
    uow: UnitOfWork,
    principal: Principal,
    spec: NewCall,
    *,
    texts: tuple[str, str],
    now: datetime | None = None,
) -> CallView:
    """Open a call and queue its announcement (`texts`: zh, en) to the unit's communities."""
    now = now or utcnow()
    title, theme = _check_call(spec, now)
    async with uow:
        await buyers.require(uow, principal, spec.level, spec.scope_id)
        communities = await buyers.communities(uow, spec.level, spec.scope_id)
        fund = await _fund_for(uow, spec, communities)
        call = _new_call(spec, title, theme, fund.id, principal)
        uow.competitions.add(call)
        await uow.competitions.flush()
        details = {"budget_fen": spec.budget_fen, "fund": fund.id}
        _audit(uow, principal, "competition.open", call.id, details=details)
        await _announce(uow, principal, communities, texts, now)
        view = await _call_view(uow, principal, call, now)
        await uow.commit()
        return view


def _new_call(
    spec: NewCall, title: str, theme: str, fund_id: int, principal: Principal
) -> Competition:
    return Competition(
        level=spec.level,
        scope_id=spec.scope_id,
        title=title,
        theme=theme,
        budget_fen=spec.budget_fen,
        fund_id=fund_id,
        eligible_types=[t.value for t in dict.fromkeys(spec.eligible_types)],
        criteria=[{"name": c.name, "weight": c.weight} for c in spec.criteria],
        proposals_due_at=spec.proposals_due_at,
        review_due_at=spec.review_due_at,
        vote_weight=spec.vote_weight,
        pass_mark=spec.pass_mark,
        state=CallState.OPEN,
        created_by=principal.person_id,
    )


async def _fund_for(uow: UnitOfWork, spec: NewCall, communities: Sequence[int]) -> Fund:
    """The call's fund: of the unit (or the district's), holding the whole budget."""
    fund = await uow.funds.get(spec.fund_id)
    if fund is None:
        raise NotFound("fund", spec.fund_id)
    if fund.community_id is not None and fund.community_id not in communities:
        raise Conflict("fund_outside_unit")
    if spec.budget_fen > (await replay(uow, fund.id)).statement().balance:
        raise Conflict("fund_insufficient")
    return fund


async def _announce(
    uow: UnitOfWork,
    principal: Principal,
    communities: Sequence[int],
    texts: tuple[str, str],
    now: datetime,
) -> None:
    """Through the outbox, in the transaction of what it announces."""
    if not communities:
        return
    draft = broadcasts.Draft(
        audience=Audience(AudienceKind.EVERYONE, tuple(communities)),
        text_zh=clean_text(texts[0]),
        text_en=clean_text(texts[1]),
    )
    await broadcasts.add_checked(uow, principal, draft, now=now)


async def view(
    uow: UnitOfWork, principal: Principal, *, competition_id: int, now: datetime | None = None
) -> CallView:
    async with uow:
        call = await _load(uow, competition_id)
        return await _call_view(uow, principal, call, now or utcnow())


async def listing(
    uow: UnitOfWork, principal: Principal, *, now: datetime | None = None
) -> list[CallView]:
    """Calls the person organises or reviews, and open calls for organisations."""
    now = now or utcnow()
    async with uow:
        found = {c.id: c for c in await uow.competitions.in_scopes(buyers.units_of(principal))}
        for c in await uow.competitions.reviewing(principal.person_id):
            found.setdefault(c.id, c)
        if any(g.organisation_id is not None for g in principal.grants):
            for c in await uow.competitions.open_calls():
                found.setdefault(c.id, c)
        ordered = sorted(found.values(), key=lambda c: -c.id)[:10]
        return [await _call_view(uow, principal, c, now) for c in ordered]


# ------------------------------------------------------------------ proposals


def _checked_text(text: str, field: str) -> str:
    checked = text.strip()[:MAX_TEXT]
    if not checked:
        raise InvalidInput(field, "empty")
    return checked


def _check_lines(lines: Sequence[BudgetLine]) -> int:
    if not 1 <= len(lines) <= MAX_LINES:
        raise InvalidInput("budget_lines", "count")
    if any(not line.item or line.amount_fen <= 0 for line in lines):
        raise InvalidInput("budget_lines", "shape")
    return sum(line.amount_fen for line in lines)


async def _need_ids(
    uow: UnitOfWork, references: Sequence[str], communities: list[int]
) -> list[int]:
    ids = []
    for reference in dict.fromkeys(r.strip().upper() for r in references if r.strip()):
        need = await uow.needs.by_reference(reference)
        if need is None or need.community_id not in communities:
            raise InvalidInput("need_reference", "unknown")
        ids.append(need.id)
    return ids


async def submit(
    uow: UnitOfWork,
    principal: Principal,
    *,
    competition_id: int,
    project_id: int,
    budget_lines: Sequence[BudgetLine],
    need_references: Sequence[str],
    expected_results: str,
    now: datetime | None = None,
) -> ProposalView:
    """Put a draft project forward, or revise its proposal, until the proposal deadline."""
    now = now or utcnow()
    expected = _checked_text(expected_results, "expected_results")
    requested = _check_lines(budget_lines)
    async with uow:
        call = await _load(uow, competition_id, lock=True)
        project, organisation_id = await _proposable(uow, principal, call, project_id, now)
        if requested > call.budget_fen:
            raise Conflict("over_budget")
        communities = await uow.projects.communities_of(project.id)
        needs = await _need_ids(uow, need_references, communities)
        proposal = await _upsert(uow, principal, call.id, project.id, organisation_id, now)
        _fill(proposal, budget_lines, needs, expected, requested)
        await uow.competitions.flush()
        for need_id in needs:
            await uow.projects.link_need(project.id, need_id)
        action = "competition.revise" if proposal.revised_at else "competition.submit"
        details = {"proposal": proposal.id, "requested_fen": requested}
        _audit(uow, principal, action, call.id, details=details)
        result = await _proposal_view(uow, proposal)
        await uow.commit()
        return result


def _fill(
    proposal: CompetitionProposal,
    budget_lines: Sequence[BudgetLine],
    needs: list[int],
    expected: str,
    requested: int,
) -> None:
    proposal.budget_lines = [{"item": b.item, "amount_fen": b.amount_fen} for b in budget_lines]
    proposal.need_ids, proposal.expected_results = needs, expected
    proposal.requested_fen = requested


async def _proposable(
    uow: UnitOfWork, principal: Principal, call: Competition, project_id: int, now: datetime
) -> tuple[Project, int]:
    """The project (locked) and its organisation, if the principal's organisation may put
    it forward to the call now: an eligible draft, not a major matter, while the call is open."""
    project = await uow.projects.get(project_id, lock=True)
    if project is None or project.organisation_id is None:
        raise NotFound("project", project_id)
    if not member_of(principal, project.organisation_id):
        raise PermissionDenied()
    if _phase(call, now) is not CallState.OPEN:
        raise Conflict("call_closed")
    await _check_eligible(uow, call, project.organisation_id, project.community_id)
    if project.state is not ProjectState.DRAFT or project.major:
        raise Conflict("project_not_a_draft")
    return project, project.organisation_id


async def _upsert(
    uow: UnitOfWork,
    principal: Principal,
    call_id: int,
    project_id: int,
    organisation_id: int,
    now: datetime,
) -> CompetitionProposal:
    """The project's proposal to the call: a new one, or the one it revises."""
    proposal = await uow.competitions.proposal_of(call_id, project_id)
    if proposal is not None:
        proposal.revised_at = now
        return proposal
    proposal = CompetitionProposal(
        competition_id=call_id,
        project_id=project_id,
        organisation_id=organisation_id,
        submitted_by=principal.person_id,
        submitted_at=now,
    )
    uow.competitions.add(proposal)
    return proposal


async def _check_eligible(
    uow: UnitOfWork, call: Competition, organisation_id: int, community_id: int
) -> None:
    org = await uow.organisations.get(organisation_id)
    if org is None or org.verified_at is None:
        raise Conflict("organisation_not_verified")
    if org.type.value not in call.eligible_types:
        raise Conflict("organisation_not_eligible")
    if community_id not in await buyers.communities(uow, call.level, call.scope_id):
        raise Conflict("project_outside_unit")


async def _proposal_view(
    uow: UnitOfWork, proposal: CompetitionProposal, reviewer: CompetitionReviewer | None = None
) -> ProposalView:
    project = await uow.projects.get(proposal.project_id)
    org = await uow.organisations.get(proposal.organisation_id)
    references = []
    for need_id in proposal.need_ids:
        need = await uow.needs.get(need_id)
        if need is not None:
            references.append(need.reference)
    mine = None
    excluded = False
    if reviewer is not None:
        excluded = conflicted(reviewer.organisation_ids, proposal.organisation_id)
        sheet = await uow.competitions.score(proposal.id, reviewer.person_id)
        mine = dict(sheet.scores) if sheet else None
    return ProposalView(
        id=proposal.id,
        project_id=proposal.project_id,
        title=project.title if project else "",
        organisation=org.name if org else "",
        requested_fen=proposal.requested_fen,
        budget_lines=tuple(
            BudgetLine(b["item"], int(b["amount_fen"])) for b in proposal.budget_lines
        ),
        needs=tuple(references),
        expected_results=proposal.expected_results,
        revised=proposal.revised_at is not None,
        my_scores=mine,
        excluded=excluded,
    )


async def proposals(
    uow: UnitOfWork, principal: Principal, *, competition_id: int
) -> list[ProposalView]:
    """The organiser and the panel see every proposal; an organisation its own."""
    async with uow:
        call = await _load(uow, competition_id)
        reviewer = await uow.competitions.reviewer(call.id, principal.person_id)
        everything = reviewer is not None or await _organiser(uow, principal, call)
        return [
            await _proposal_view(uow, p, reviewer)
            for p in await uow.competitions.proposals(call.id)
            if everything or member_of(principal, p.organisation_id)
        ]


# ------------------------------------------------------------------ the panel


async def name_reviewer(
    uow: UnitOfWork,
    principal: Principal,
    *,
    competition_id: int,
    person_id: int,
    declared_organisations: Sequence[int] = (),
) -> CallView:
    """The organiser names a reviewer; the organisations they belong to are recorded with what
    they declare, and they will not score those organisations' proposals."""
    async with uow:
        call = await _organised(uow, principal, competition_id)
        if call.state is not CallState.OPEN:
            raise Conflict("panel_closed")
        if await uow.people.get(person_id) is None:
            raise NotFound("person", person_id)
        members = [o.id for o in await uow.org_directory.of_member(person_id)]
        organisations = sorted({*members, *declared_organisations})
        await _seat_reviewer(uow, principal, call, person_id, organisations)
        details = {"reviewer": person_id, "conflicts": organisations}
        _audit(uow, principal, "competition.reviewer", call.id, details=details)
        result = await _call_view(uow, principal, call, utcnow())
        await uow.commit()
        return result


async def _seat_reviewer(
    uow: UnitOfWork,
    principal: Principal,
    call: Competition,
    person_id: int,
    organisations: list[int],
) -> None:
    """Named once; naming again updates the organisations they are conflicted with."""
    row = await uow.competitions.reviewer(call.id, person_id)
    if row is None:
        uow.competitions.add(
            CompetitionReviewer(
                competition_id=call.id,
                person_id=person_id,
                organisation_ids=organisations,
                named_by=principal.person_id,
            )
        )
    else:
        row.organisation_ids = organisations
    await uow.competitions.flush()


async def score(
    uow: UnitOfWork,
    principal: Principal,
    *,
    proposal_id: int,
    scores: Sequence[int],
    now: datetime | None = None,
) -> ProposalView:
    """A reviewer's sheet for one proposal (replaced if scored again) while the panel sits."""
    now = now or utcnow()
    async with uow:
        proposal, call, reviewer = await _scorable(uow, principal, proposal_id, now)
        criteria = _criteria(call)
        if len(scores) != len(criteria) or any(not 0 <= s <= 100 for s in scores):
            raise InvalidInput("scores", "shape")
        sheet = {c.name: int(s) for c, s in zip(criteria, scores, strict=True)}
        row = await uow.competitions.score(proposal.id, principal.person_id)
        if row is None:
            uow.competitions.add(
                CompetitionScore(
                    proposal_id=proposal.id, reviewer_id=principal.person_id, scores=sheet
                )
            )
        else:
            row.scores, row.scored_at = sheet, now
        await uow.competitions.flush()
        _audit(uow, principal, "competition.score", call.id, details={"proposal": proposal.id})
        result = await _proposal_view(uow, proposal, reviewer)
        await uow.commit()
        return result


async def _scorable(
    uow: UnitOfWork, principal: Principal, proposal_id: int, now: datetime
) -> tuple[CompetitionProposal, Competition, CompetitionReviewer]:
    """The proposal, its call and the principal as its reviewer, if they may score it now:
    named to the panel, not conflicted with its organisation, while the panel sits."""
    proposal = await uow.competitions.proposal(proposal_id)
    if proposal is None:
        raise NotFound("proposal", proposal_id)
    call = await _load(uow, proposal.competition_id)
    reviewer = await uow.competitions.reviewer(call.id, principal.person_id)
    if reviewer is None:
        raise PermissionDenied()
    if conflicted(reviewer.organisation_ids, proposal.organisation_id):
        raise Conflict("conflict_of_interest")
    if _phase(call, now) is not CallState.REVIEWING:
        raise Conflict("not_reviewing")
    return proposal, call, reviewer


async def close_panel(
    uow: UnitOfWork, principal: Principal, *, competition_id: int, now: datetime | None = None
) -> list[RankedView]:
    """The organiser closes the panel after the proposal deadline: the scores become visible."""
    now = now or utcnow()
    async with uow:
        call = await _organised(uow, principal, competition_id)
        if _phase(call, now) is not CallState.REVIEWING:
            raise Conflict("not_reviewing")
        call.state, call.closed_at = CallState.CLOSED, now
        _audit(uow, principal, "competition.close", call.id)
        await uow.competitions.flush()
        ranked = await _ranking(uow, call)
        await uow.commit()
        return ranked


async def _votes(uow: UnitOfWork, call: Competition) -> Counter[int]:
    """Residents' ballots per option of the call's consultation (one ballot per person)."""
    if call.consultation_id is None:
        return Counter()
    return Counter(option for option, _, _ in await uow.consultations.ballots(call.consultation_id))


async def _sheets(
    uow: UnitOfWork, proposals: Sequence[CompetitionProposal]
) -> dict[int, list[dict[str, int]]]:
    """The reviewers' score sheets of each proposal."""
    by_proposal: dict[int, list[dict[str, int]]] = {}
    for sheet in await uow.competitions.scores([p.id for p in proposals]):
        by_proposal.setdefault(sheet.proposal_id, []).append(dict(sheet.scores))
    return by_proposal


async def _ranking(uow: UnitOfWork, call: Competition) -> list[RankedView]:
    rows = list(await uow.competitions.proposals(call.id))
    by_proposal = await _sheets(uow, rows)
    votes = await _votes(uow, call)
    criteria = _criteria(call)
    entries = [
        Entry(
            p.id,
            n,
            p.requested_fen,
            panel_score(criteria, by_proposal.get(p.id, [])),
            votes.get(p.option_id or -1, 0),
        )
        for n, p in enumerate(rows)
    ]
    awards = award(entries, call.budget_fen, vote_weight=call.vote_weight, pass_mark=call.pass_mark)
    by_id = {p.id: p for p in rows}
    entry_of = {e.proposal_id: e for e in entries}
    return [
        RankedView(
            proposal=await _proposal_view(uow, by_id[a.proposal_id]),
            rank=a.rank,
            score_centi=a.score_centi,
            panel_centi=entry_of[a.proposal_id].panel_centi,
            votes=entry_of[a.proposal_id].votes,
            amount_fen=a.amount_fen,
            reason=a.reason,
            sheets=len(by_proposal.get(a.proposal_id, [])),
        )
        for a in awards
    ]


async def ranking(
    uow: UnitOfWork, principal: Principal, *, competition_id: int
) -> list[RankedView]:
    """Hidden until the panel closes; then the organiser sees it, and after publishing anyone."""
    async with uow:
        call = await _load(uow, competition_id)
        if call.state is CallState.PUBLISHED:
            return await _published(uow, call)
        if call.state is not CallState.CLOSED:
            raise Conflict("scores_hidden")
        if not await _organiser(uow, principal, call):
            raise PermissionDenied()
        return await _ranking(uow, call)


async def _published(uow: UnitOfWork, call: Competition) -> list[RankedView]:
    rows = {p.id: p for p in await uow.competitions.proposals(call.id)}
    awards = await uow.competitions.awards(list(rows))
    sheets = Counter(s.proposal_id for s in await uow.competitions.scores(list(rows)))
    return [
        RankedView(
            proposal=await _proposal_view(uow, rows[a.proposal_id]),
            rank=a.rank,
            score_centi=a.score_centi,
            panel_centi=None,
            votes=0,
            amount_fen=a.amount_fen,
            reason=a.reason,
            sheets=sheets[a.proposal_id],
        )
        for a in awards
    ]


async def publish(
    uow: UnitOfWork,
    principal: Principal,
    *,
    competition_id: int,
    texts: tuple[str, str],
    now: datetime | None = None,
) -> list[RankedView]:
    """Publish ranking, awards and reasons: each award an allocation from the call's fund and
    its project approved, all in one transaction with the announcement."""
    now = now or utcnow()
    async with uow:
        call = await _organised(uow, principal, competition_id)
        if call.state is not CallState.CLOSED:
            raise Conflict("panel_not_closed")
        ranked = await _ranking(uow, call)
        await _award(uow, principal, call, ranked)
        call.state, call.published_at = CallState.PUBLISHED, now
        details = {"awarded_fen": sum(r.amount_fen for r in ranked)}
        _audit(uow, principal, "competition.publish", call.id, details=details)
        await _announce(
            uow, principal, await buyers.communities(uow, call.level, call.scope_id), texts, now
        )
        await uow.competitions.flush()
        await uow.commit()
        return ranked


async def _award(
    uow: UnitOfWork, principal: Principal, call: Competition, ranked: list[RankedView]
) -> None:
    """One award row per ranked proposal; an awarded one gets its allocation from the fund."""
    fund = await uow.funds.get(call.fund_id, lock=True)
    if fund is None:
        raise NotFound("fund", call.fund_id)
    book = await replay(uow, fund.id)
    for row in ranked:
        allocation_id = None
        if row.reason is AwardReason.AWARDED:
            allocation_id = await _allocate(
                uow, principal, book, fund.id, fund.organisation_id, row
            )
        uow.competitions.add(
            CompetitionAward(
                proposal_id=row.proposal.id,
                rank=row.rank,
                score_centi=row.score_centi,
                amount_fen=row.amount_fen,
                reason=row.reason,
                allocation_id=allocation_id,
            )
        )


async def _allocate(
    uow: UnitOfWork,
    principal: Principal,
    book: FundBook,
    fund_id: int,
    fund_organisation: int,
    row: RankedView,
) -> int:
    """An allocation of the funds ledger (checked by its FundBook) and the project approved."""
    project = await _awardable(uow, row.proposal.project_id, fund_organisation)
    book.allocate(-row.proposal.id, project.id, row.amount_fen, None, project.categories)
    allocation = FundAllocation(
        fund_id=fund_id,
        project_id=project.id,
        amount_fen=row.amount_fen,
        purpose=None,
        allocated_by=principal.person_id,
    )
    await uow.funds.add_row(allocation)
    project.state = ProjectState.APPROVED
    project.rejection_reason = None
    uow.audit.record(
        actor_id=principal.person_id,
        action="project.approve",
        entity="project",
        entity_id=project.id,
        note="competition award",
    )
    return allocation.id


async def _awardable(uow: UnitOfWork, project_id: int, fund_organisation: int) -> Project:
    """The project (locked), still a draft, of another organisation than the fund's."""
    project = await uow.projects.get(project_id, lock=True)
    assert project is not None
    if project.organisation_id == fund_organisation:
        raise Conflict("same_organisation")  # 募用分离: the raiser does not spend
    if project.state is not ProjectState.DRAFT:
        raise Conflict("project_not_a_draft")
    return project


async def open_vote(
    uow: UnitOfWork,
    principal: Principal,
    *,
    competition_id: int,
    consultation_id: int,
) -> CallView:
    """Tie a consultation whose options are the proposals (in their order) to the call: its
    ballots, one per person, count for `vote_weight` per cent of the score."""
    async with uow:
        call = await _organised(uow, principal, competition_id)
        if call.vote_weight == 0 or call.state is CallState.PUBLISHED:
            raise Conflict("no_vote")
        options = await uow.consultations.options(consultation_id)
        rows = list(await uow.competitions.proposals(call.id))
        if len(options) != len(rows):
            raise Conflict("vote_options")
        for proposal, option in zip(rows, options, strict=True):
            proposal.option_id = option.id
        call.consultation_id = consultation_id
        await uow.competitions.flush()
        result = await _call_view(uow, principal, call, utcnow())
        await uow.commit()
        return result


# ------------------------------------------------------------------ choices for the forms


async def funds_for(
    uow: UnitOfWork, principal: Principal, *, level: ScopeLevel, scope_id: int
) -> list[tuple[int, str, int]]:
    """(fund, name, unallocated balance) a call of this unit may draw on."""
    async with uow:
        await buyers.require(uow, principal, level, scope_id)
        communities = await buyers.communities(uow, level, scope_id)
        return [
            (f.id, f.name, (await replay(uow, f.id)).statement().balance)
            for f in await uow.competitions.funds_in(communities)
        ]


async def draft_projects(uow: UnitOfWork, principal: Principal) -> list[tuple[int, str]]:
    """The draft projects of the person's organisations (what they may put forward)."""
    async with uow:
        organisations = [
            g.organisation_id for g in principal.grants if g.organisation_id is not None
        ]
        return [(p.id, p.title) for p in await uow.competitions.drafts_of(organisations)]


async def unit_communities(uow: UnitOfWork, *, level: ScopeLevel, scope_id: int) -> list[int]:
    async with uow:
        return await buyers.communities(uow, level, scope_id)
