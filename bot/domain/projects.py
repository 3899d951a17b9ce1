"""Service projects (项目化运作): their kinds, their lifecycle and who moves them. Pure rules.

draft → submitted → approved → published (recruiting) → running → completed → evaluated
            └── rejected (with a reason) → draft

A project flagged as a "major matter" (重大事项) is approved only after a party-organisation
reviewer has recorded a decision (decision, date, minutes); the policy puts such matters with the
community Party organisation.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

from bot.domain.errors import Conflict, InvalidInput

MAX_BUDGET_FEN = 10**12  # ten billion yuan: far above any community project, below BIGINT


class ProjectKind(StrEnum):
    SERVICE = "service"  # 服务项目
    MICRO_VENTURE = "micro_venture"  # 微创投
    GOVERNMENT_PURCHASED = "government_purchased"  # 政府购买服务
    CHARITY_FUNDED = "charity_funded"  # 慈善资金资助


class ProjectState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PUBLISHED = "published"
    RUNNING = "running"
    COMPLETED = "completed"
    EVALUATED = "evaluated"


class ProjectAction(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    PUBLISH = "publish"
    START = "start"
    COMPLETE = "complete"
    EVALUATE = "evaluate"


class Actor(StrEnum):
    """Who may take an action: the project's own side, or a worker covering its community."""

    OWNER = "owner"  # the organisation's members (or the social worker who drafted it)
    WORKER = "worker"  # a community worker (or above) covering the project's community


TRANSITIONS: dict[tuple[ProjectState, ProjectAction], tuple[ProjectState, Actor]] = {
    (ProjectState.DRAFT, ProjectAction.SUBMIT): (ProjectState.SUBMITTED, Actor.OWNER),
    (ProjectState.SUBMITTED, ProjectAction.APPROVE): (ProjectState.APPROVED, Actor.WORKER),
    (ProjectState.SUBMITTED, ProjectAction.REJECT): (ProjectState.DRAFT, Actor.WORKER),
    (ProjectState.APPROVED, ProjectAction.PUBLISH): (ProjectState.PUBLISHED, Actor.OWNER),
    (ProjectState.PUBLISHED, ProjectAction.START): (ProjectState.RUNNING, Actor.OWNER),
    (ProjectState.RUNNING, ProjectAction.COMPLETE): (ProjectState.COMPLETED, Actor.OWNER),
    (ProjectState.COMPLETED, ProjectAction.EVALUATE): (ProjectState.EVALUATED, Actor.OWNER),
}

# Volunteers can sign up while the project recruits and while it runs.
RECRUITING = frozenset({ProjectState.PUBLISHED, ProjectState.RUNNING})
# Visible to residents and volunteers (the rest only to its owners and the workers).
PUBLIC = frozenset(
    {ProjectState.PUBLISHED, ProjectState.RUNNING, ProjectState.COMPLETED, ProjectState.EVALUATED}
)


def next_state(
    state: ProjectState,
    action: ProjectAction,
    actor: Actor,
    *,
    major: bool = False,
    party_approved: bool = False,
) -> ProjectState:
    """The state after `action`, or a Conflict naming why not."""
    found = TRANSITIONS.get((state, action))
    if found is None:
        raise Conflict(f"project_transition:{state.value}:{action.value}")
    target, allowed = found
    if actor is not allowed:
        raise Conflict("project_not_yours")
    if action is ProjectAction.APPROVE and major and not party_approved:
        raise Conflict("party_decision_needed")
    return target


def actions_for(state: ProjectState, actor: Actor) -> tuple[ProjectAction, ...]:
    """Buttons to show: derived from the transitions, so they can never offer a refused step."""
    return tuple(a for (s, a), (_, who) in TRANSITIONS.items() if s is state and who is actor)


def parse_yuan(text: str) -> int:
    """Money typed in yuan ("12000", "12,000.50", "¥3.5") as exact fen; never a float."""
    cleaned = text.strip().replace(",", "").replace("，", "").lstrip("¥￥").removesuffix("元")
    whole, _, cents = cleaned.strip().partition(".")
    if not whole.isdigit() or not whole.isascii() or len(cents) > 2:
        raise InvalidInput("amount", "format")
    if cents and not (cents.isdigit() and cents.isascii()):
        raise InvalidInput("amount", "format")
    fen = int(whole) * 100 + int(cents.ljust(2, "0") or "0")
    if not 0 <= fen <= MAX_BUDGET_FEN:
        raise InvalidInput("amount", "range")
    return fen


def yuan_text(fen: int) -> str:
    """12000050 -> "120,000.50"; whole yuan without decimals."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}" + (f".{cents:02d}" if cents else "")


_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_period(text: str) -> tuple[date, date]:
    """Two dates in any words: "2026-12-01 2027-03-31", "2026-12-01 至 2027-03-31"."""
    found = _DATE.findall(text)
    if len(found) != 2:
        raise InvalidInput("period", "shape")
    try:
        start, end = (date(int(y), int(m), int(d)) for y, m, d in found)
    except ValueError:
        raise InvalidInput("period", "date") from None
    if end < start:
        raise InvalidInput("period", "range")
    return start, end
