"""Government purchase of services (政府购买服务; policy 四.(三)). Pure rules.

A street or district buys a service from a provider organisation for an amount from one
funding source, over a period, paid by milestones: each milestone names its deliverable and its
share of the amount, the shares summing to 100%. The provider reports a milestone with the
evidence counted from the records, the buyer accepts it (never the provider itself), then pays
it; a milestone is paid once, in exact fen, the last one taking the rounding remainder so the
payments add up to the amount. At the end a performance evaluation (绩效评估) scores weighted
indicators 0–100.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import Conflict, InvalidInput

MAX_MILESTONES = 12


class FundingSource(StrEnum):
    GENERAL_BUDGET = "general_budget"  # 一般公共预算
    WELFARE_LOTTERY = "welfare_lottery"  # 福彩公益金
    SOCIAL_ASSISTANCE = "social_assistance"  # 社会救助专项资金
    OTHER = "other"


class MilestoneState(StrEnum):
    PENDING = "pending"
    REPORTED = "reported"
    ACCEPTED = "accepted"
    PAID = "paid"


@dataclass(frozen=True, slots=True)
class MilestoneSpec:
    deliverable: str
    share: int  # per cent of the amount


_LINE = re.compile(r"^(?P<name>.+?)\s*[:：]?\s*(?P<share>\d{1,3})\s*%?$")


def check_milestones(milestones: Sequence[MilestoneSpec]) -> tuple[MilestoneSpec, ...]:
    if not 1 <= len(milestones) <= MAX_MILESTONES:
        raise InvalidInput("milestones", "count")
    if any(not m.deliverable or len(m.deliverable) > 200 for m in milestones):
        raise InvalidInput("milestones", "names")
    if any(m.share <= 0 for m in milestones) or sum(m.share for m in milestones) != 100:
        raise InvalidInput("milestones", "shares")
    return tuple(milestones)


def parse_milestones(text: str) -> tuple[MilestoneSpec, ...]:
    """One per line or separated by ；: "需求调研报告 30；中期服务 40；结项报告 30"."""
    parts = [p.strip() for p in re.split(r"[;；\n]+", text) if p.strip()]
    found = []
    for part in parts:
        match = _LINE.match(part)
        if match is None:
            raise InvalidInput("milestones", "shape")
        found.append(MilestoneSpec(" ".join(match["name"].split()), int(match["share"])))
    return check_milestones(found)


def payments(amount_fen: int, shares: Sequence[int]) -> tuple[int, ...]:
    """What each milestone pays: its share, rounded down, the remainder on the last one."""
    if amount_fen <= 0 or sum(shares) != 100:
        raise InvalidInput("amount", "range")
    parts = [amount_fen * s // 100 for s in shares]
    parts[-1] += amount_fen - sum(parts)
    return tuple(parts)


def report(state: MilestoneState, *, provider: bool) -> MilestoneState:
    """The provider reports (again, while not accepted); the buyer accepts, then pays. Someone
    who is both (a buyer's worker in the provider) may not accept their own report."""
    if not provider:
        raise Conflict("milestone_not_provider")
    if state not in (MilestoneState.PENDING, MilestoneState.REPORTED):
        raise Conflict(f"milestone_transition:{state.value}")
    return MilestoneState.REPORTED


def accept(state: MilestoneState, *, provider: bool, buyer: bool) -> MilestoneState:
    if provider or not buyer:
        raise Conflict("milestone_own_acceptance" if provider else "milestone_not_buyer")
    if state is not MilestoneState.REPORTED:
        raise Conflict(f"milestone_transition:{state.value}")
    return MilestoneState.ACCEPTED


def pay(state: MilestoneState, *, buyer: bool) -> MilestoneState:
    if not buyer:
        raise Conflict("milestone_not_buyer")
    if state is not MilestoneState.ACCEPTED:
        raise Conflict(f"milestone_transition:{state.value}")
    return MilestoneState.PAID


def evaluation_score(indicators: Sequence[tuple[str, int, int]]) -> int:
    """(indicator, weight, score 0–100) with weights summing to 100 → the score in hundredths."""
    if not indicators or sum(w for _, w, _ in indicators) != 100:
        raise InvalidInput("indicators", "weights")
    if any(not 0 <= s <= 100 or w <= 0 for _, w, s in indicators):
        raise InvalidInput("indicators", "range")
    return sum(w * s for _, w, s in indicators)


_INDICATOR = re.compile(r"^(?P<name>.+?)\s+(?P<weight>\d{1,3})\s*%?\s+(?P<score>\d{1,3})$")


def parse_indicators(text: str) -> tuple[tuple[str, int, int], ...]:
    """One per line or separated by ；: "<indicator> <weight> <score>", e.g. "服务人次 40 90"."""
    parts = [p.strip() for p in re.split(r"[;；\n]+", text) if p.strip()]
    found = []
    for part in parts:
        match = _INDICATOR.match(part)
        if match is None:
            raise InvalidInput("indicators", "shape")
        found.append(
            (" ".join(match["name"].split())[:60], int(match["weight"]), int(match["score"]))
        )
    evaluation_score(found)
    return tuple(found)
