"""Scoring, ranking and awarding within the budget (bot.domain.competitions), and the
milestone rules of a purchase (bot.domain.purchases)."""

from __future__ import annotations

import pytest

from bot.domain.competitions import (
    AwardReason,
    Criterion,
    Entry,
    award,
    conflicted,
    panel_score,
    parse_criteria,
    parse_scores,
    score_text,
)
from bot.domain.errors import Conflict, InvalidInput
from bot.domain.purchases import (
    MilestoneState,
    accept,
    evaluation_score,
    parse_indicators,
    parse_milestones,
    pay,
    payments,
    report,
)

CRITERIA = (Criterion("创新性", 30), Criterion("需求契合", 40), Criterion("可行性", 30))


def test_criteria_are_read_in_either_language_and_their_weights_must_make_100() -> None:
    assert parse_criteria("创新性 30，需求契合 40，可行性 30") == CRITERIA
    assert parse_criteria("innovation: 50%\nfeasibility 50") == (
        Criterion("innovation", 50),
        Criterion("feasibility", 50),
    )
    for wrong in ("创新性 30，可行性 30", "创新性 30, 创新性 70", "创新性", "a 0, b 100"):
        with pytest.raises(InvalidInput):
            parse_criteria(wrong)


def test_scores_are_one_whole_number_up_to_100_per_criterion() -> None:
    assert parse_scores("80 75 90", 3) == (80, 75, 90)
    for wrong in ("80 75", "80 75 101", "80 7.5 90", "八十 75 90"):
        with pytest.raises(InvalidInput):
            parse_scores(wrong, 3)


def test_the_panel_score_is_the_mean_of_the_weighted_sheets_in_hundredths() -> None:
    sheets = [
        {"创新性": 80, "需求契合": 90, "可行性": 70},  # 24 + 36 + 21 = 81
        {"创新性": 70, "需求契合": 80, "可行性": 75},  # 21 + 32 + 22.5 = 75.5
    ]
    assert panel_score(CRITERIA, sheets) == 7825
    assert panel_score(CRITERIA, []) is None
    assert score_text(7825) == "78.25" and score_text(None) == "—"
    with pytest.raises(InvalidInput):
        panel_score(CRITERIA, [{"创新性": 80}])


def test_a_reviewer_of_the_proposing_organisation_is_in_conflict() -> None:
    assert conflicted([3, 5], 5)
    assert not conflicted([3], 5)
    assert not conflicted([], None)


def test_awards_follow_the_ranking_within_the_budget_and_say_why() -> None:
    entries = [
        Entry(1, 0, 30_000, 7000),
        Entry(2, 1, 50_000, 9000),
        Entry(3, 2, 40_000, 8000),  # would exceed what is left
        Entry(4, 3, 10_000, 5900),  # below the pass mark
        Entry(5, 4, 10_000, None),  # nobody scored it
        Entry(6, 5, 20_000, 7000),  # same score as 1, submitted later
    ]
    awards = award(entries, 100_000)
    assert [(a.proposal_id, a.rank, a.amount_fen, a.reason) for a in awards] == [
        (2, 1, 50_000, AwardReason.AWARDED),
        (3, 2, 40_000, AwardReason.AWARDED),
        (1, 3, 0, AwardReason.BUDGET_EXHAUSTED),
        (6, 4, 0, AwardReason.BUDGET_EXHAUSTED),
        (4, 5, 0, AwardReason.BELOW_PASS_MARK),
        (5, 6, 0, AwardReason.NOT_SCORED),
    ]
    assert sum(a.amount_fen for a in awards) <= 100_000
    cheap = award([Entry(1, 0, 30_000, 7000), Entry(6, 1, 20_000, 7000)], 20_000)
    assert [(a.proposal_id, a.reason) for a in cheap] == [
        (1, AwardReason.BUDGET_EXHAUSTED),
        (6, AwardReason.AWARDED),
    ]


def test_the_residents_vote_is_its_weight_of_the_score() -> None:
    entries = [Entry(1, 0, 10, 8000, votes=10), Entry(2, 1, 10, 9000, votes=0)]
    assert [a.proposal_id for a in award(entries, 100)] == [2, 1]
    voted = award(entries, 100, vote_weight=20)
    # 1: 80 × 0.8 + 100 × 0.2 = 84; 2: 90 × 0.8 + 0 = 72
    assert [(a.proposal_id, a.score_centi) for a in voted] == [(1, 8400), (2, 7200)]
    with pytest.raises(InvalidInput):
        award(entries, 100, vote_weight=60)
    with pytest.raises(Conflict):
        award([Entry(1, 0, 10, 1), Entry(1, 1, 10, 1)], 100)


def test_milestone_shares_make_100_and_the_payments_add_up_to_the_amount() -> None:
    specs = parse_milestones("需求调研报告 30；中期服务 40%\n结项报告 30")
    assert [(m.deliverable, m.share) for m in specs] == [
        ("需求调研报告", 30),
        ("中期服务", 40),
        ("结项报告", 30),
    ]
    assert payments(100_001, [30, 40, 30]) == (30_000, 40_000, 30_001)
    assert sum(payments(99_999, [33, 33, 34])) == 99_999
    for wrong in ("a 50；b 40", "a", "a 0；b 100"):
        with pytest.raises(InvalidInput):
            parse_milestones(wrong)


def test_a_provider_reports_the_buyer_accepts_then_pays_and_never_the_provider() -> None:
    state = report(MilestoneState.PENDING, provider=True)
    assert state is MilestoneState.REPORTED
    with pytest.raises(Conflict, match="milestone_own_acceptance"):
        accept(state, provider=True, buyer=True)
    with pytest.raises(Conflict, match="milestone_not_buyer"):
        accept(state, provider=False, buyer=False)
    with pytest.raises(Conflict):
        pay(state, buyer=True)
    state = accept(state, provider=False, buyer=True)
    assert pay(state, buyer=True) is MilestoneState.PAID
    with pytest.raises(Conflict):
        report(MilestoneState.PAID, provider=True)
    with pytest.raises(Conflict):
        pay(MilestoneState.PAID, buyer=True)


def test_the_evaluation_score_weighs_its_indicators() -> None:
    indicators = parse_indicators("服务人次 40 90；满意度 30 80；资料规范 30 70")
    assert evaluation_score(indicators) == 8100
    for wrong in ("服务人次 40 90", "服务人次 100 101", "服务人次"):
        with pytest.raises(InvalidInput):
            parse_indicators(wrong)
