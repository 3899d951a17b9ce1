"""Project competitions and micro-grants (微创投、公益创投、项目大赛; policy 三.(四)). Pure rules.

A call names scoring criteria whose weights sum to 100. Each reviewer of the panel scores each
proposal 0–100 per criterion; a reviewer who belongs to the proposing organisation is excluded
(conflict of interest). A proposal's panel score is the mean over its reviewers of the weighted
sum; an optional resident vote (a consultation, one ballot per person) adds its share of the
score: votes for the proposal over the most votes any proposal got. Proposals are ranked by score
(ties: the earlier submission first) and awarded what they asked for, in rank order, while the
budget lasts and when they reach the pass mark. Scores are exact: hundredths of a point, integers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from bot.domain.errors import Conflict, InvalidInput

MAX_CRITERIA = 8
MAX_SCORE = 100
MAX_VOTE_WEIGHT = 50  # residents' votes are part of the score, never most of it
DEFAULT_PASS_MARK = 60


class CallState(StrEnum):
    OPEN = "open"  # proposals are taken (and revised) until the proposal deadline
    REVIEWING = "reviewing"  # the panel scores; scores hidden
    CLOSED = "closed"  # the panel closed: scores and ranking visible to the organiser
    PUBLISHED = "published"  # ranking, awards and reasons published; money allocated


class AwardReason(StrEnum):
    AWARDED = "awarded"
    BELOW_PASS_MARK = "below_pass_mark"
    BUDGET_EXHAUSTED = "budget_exhausted"
    NOT_SCORED = "not_scored"


@dataclass(frozen=True, slots=True)
class Criterion:
    name: str
    weight: int


@dataclass(frozen=True, slots=True)
class Entry:
    """A proposal as the ranking sees it."""

    proposal_id: int
    order: int  # submission order (ties)
    requested_fen: int
    panel_centi: int | None  # the panel's score in hundredths (None: nobody scored it)
    votes: int = 0


@dataclass(frozen=True, slots=True)
class Award:
    proposal_id: int
    rank: int
    score_centi: int | None
    amount_fen: int
    reason: AwardReason


_CRITERION = re.compile(r"^(?P<name>.+?)\s*[:：]?\s*(?P<weight>\d{1,3})\s*%?$")


def check_criteria(criteria: Sequence[Criterion]) -> tuple[Criterion, ...]:
    if not 1 <= len(criteria) <= MAX_CRITERIA:
        raise InvalidInput("criteria", "count")
    names = [c.name for c in criteria]
    if len(set(names)) != len(names) or any(not n or len(n) > 40 for n in names):
        raise InvalidInput("criteria", "names")
    if any(c.weight <= 0 for c in criteria) or sum(c.weight for c in criteria) != 100:
        raise InvalidInput("criteria", "weights")
    return tuple(criteria)


def parse_criteria(text: str) -> tuple[Criterion, ...]:
    """ "创新性 30，需求契合 40，可行性 30" or one per line: a name and a weight each."""
    parts = [p.strip() for p in re.split(r"[,，;；、\n]+", text) if p.strip()]
    criteria = []
    for part in parts:
        match = _CRITERION.match(part)
        if match is None:
            raise InvalidInput("criteria", "shape")
        criteria.append(Criterion(" ".join(match["name"].split()), int(match["weight"])))
    return check_criteria(criteria)


def parse_scores(text: str, count: int) -> tuple[int, ...]:
    """One whole number 0–100 per criterion, in the call's order: "80 75 90"."""
    parts = re.split(r"[\s,，]+", text.strip())
    if len(parts) != count or not all(p.isascii() and p.isdigit() for p in parts):
        raise InvalidInput("scores", "shape")
    scores = tuple(int(p) for p in parts)
    if any(s > MAX_SCORE for s in scores):
        raise InvalidInput("scores", "range")
    return scores


def conflicted(reviewer_organisations: Sequence[int], proposer: int | None) -> bool:
    """A reviewer who belongs to the proposing organisation does not score its proposal."""
    return proposer is not None and proposer in set(reviewer_organisations)


def weighted(criteria: Sequence[Criterion], scores: Mapping[str, int]) -> Fraction:
    """One reviewer's score of one proposal, 0–100."""
    if set(scores) != {c.name for c in criteria}:
        raise InvalidInput("scores", "criteria")
    return Fraction(sum(c.weight * scores[c.name] for c in criteria), 100)


def panel_score(criteria: Sequence[Criterion], sheets: Sequence[Mapping[str, int]]) -> int | None:
    """The mean of the reviewers' weighted scores, in hundredths (None without any sheet)."""
    if not sheets:
        return None
    mean = sum((weighted(criteria, s) for s in sheets), Fraction(0)) / len(sheets)
    return round(mean * 100)


def final_score(entry: Entry, vote_weight: int, most_votes: int) -> int | None:
    """The panel's score with the residents' vote as `vote_weight` per cent of it."""
    if entry.panel_centi is None:
        return None
    if not vote_weight:
        return entry.panel_centi
    share = Fraction(entry.votes, most_votes) if most_votes else Fraction(0)
    score = Fraction(entry.panel_centi * (100 - vote_weight), 100) + share * vote_weight * 100
    return round(score)


def award(
    entries: Sequence[Entry],
    budget_fen: int,
    *,
    vote_weight: int = 0,
    pass_mark: int = DEFAULT_PASS_MARK,
) -> tuple[Award, ...]:
    """Rank and award within the budget; each award says why it got what it got."""
    if not 0 <= vote_weight <= MAX_VOTE_WEIGHT:
        raise InvalidInput("vote_weight", "range")
    if budget_fen < 0:
        raise InvalidInput("amount", "range")
    if len({e.proposal_id for e in entries}) != len(entries):
        raise Conflict("duplicate_proposal")
    most = max((e.votes for e in entries), default=0)
    scored = [(final_score(e, vote_weight, most), e) for e in entries]
    scored.sort(key=lambda pair: (pair[0] is None, -(pair[0] or 0), pair[1].order))
    left = budget_fen
    result = []
    for rank, (score, entry) in enumerate(scored, 1):
        if score is None:
            reason, amount = AwardReason.NOT_SCORED, 0
        elif score < pass_mark * 100:
            reason, amount = AwardReason.BELOW_PASS_MARK, 0
        elif entry.requested_fen > left:
            reason, amount = AwardReason.BUDGET_EXHAUSTED, 0
        else:
            reason, amount = AwardReason.AWARDED, entry.requested_fen
            left -= amount
        result.append(Award(entry.proposal_id, rank, score, amount, reason))
    return tuple(result)


def score_text(centi: int | None) -> str:
    """8125 → "81.25"; None → "—"."""
    if centi is None:
        return "—"
    return f"{centi // 100}.{centi % 100:02d}"
