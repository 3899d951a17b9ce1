"""The charity fund book and the project rules, pure: random donations, allocations and
expenditures always balance to the fen and agree with a model kept by hand; money parsing;
the project lifecycle's refusals."""

from __future__ import annotations

import copy
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from bot.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from bot.domain.funds import MAX_AMOUNT_FEN, FundBook
from bot.domain.projects import (
    MAX_BUDGET_FEN,
    TRANSITIONS,
    Actor,
    ProjectAction,
    ProjectState,
    actions_for,
    next_state,
    parse_yuan,
    yuan_text,
)

PURPOSES = (None, "elderly_care", "child_care")
CATEGORIES = ("elderly_care", "child_care", "disability")

# Mostly small valid amounts (so pools run dry and allocations fill up), sometimes the edges
# and values that are not a positive whole number of fen.
valid_amounts = st.one_of(
    st.integers(min_value=1, max_value=5_000),
    st.sampled_from([1, MAX_AMOUNT_FEN]),
)
invalid_amounts = st.sampled_from([0, -1, -500, MAX_AMOUNT_FEN + 1, 1.5, 100.0, True, "100", None])
amounts = st.one_of(valid_amounts, valid_amounts, valid_amounts, invalid_amounts)


def is_valid_amount(amount: object) -> bool:
    return type(amount) is int and 0 < amount <= MAX_AMOUNT_FEN


def snapshot(book: FundBook) -> tuple:
    """Everything the book holds, as plain values (a deep copy, so later changes show)."""
    return (
        book.statement(),
        copy.deepcopy(book.donated),
        copy.deepcopy(book.allocated),
        {i: (a.project_id, a.amount, a.purpose, a.spent) for i, a in book.allocations.items()},
    )


class FundBookMachine(RuleBasedStateMachine):
    """Random operations on a FundBook against a model of plain dicts and lists."""

    @initialize()
    def start(self) -> None:
        self.book = FundBook()
        self.donated: dict[str | None, int] = defaultdict(int)
        self.allocated: dict[str | None, int] = defaultdict(int)
        # allocation id -> [amount, spent, purpose]
        self.allocations: dict[int, list] = {}
        self.next_id = 1
        self.refusals = 0

    # ------------------------------------------------------------------ helpers

    def model_pool(self, purpose: str | None) -> int:
        return self.donated.get(purpose, 0) - self.allocated.get(purpose, 0)

    def attempt(self, operation, expected_reasons: set[str]) -> bool:
        """Run `operation`; it must be refused (with one of the expected reasons) exactly when
        the model says so, and a refusal must leave the book exactly as it was."""
        before = snapshot(self.book)
        try:
            operation()
        except DomainError as error:
            assert expected_reasons, f"refused unexpectedly: {error!r}"
            reason = (
                error.reason
                if isinstance(error, Conflict)
                else ("invalid" if isinstance(error, InvalidInput) else "not_found")
            )
            assert isinstance(error, Conflict | InvalidInput | NotFound)
            assert reason in expected_reasons, (reason, expected_reasons)
            assert snapshot(self.book) == before
            self.refusals += 1
            return False
        assert not expected_reasons, f"accepted although {expected_reasons}"
        return True

    # ------------------------------------------------------------------ rules

    @rule(amount=amounts, purpose=st.sampled_from(PURPOSES))
    def donate(self, amount: object, purpose: str | None) -> None:
        expected = set() if is_valid_amount(amount) else {"invalid"}
        if self.attempt(lambda: self.book.donate(amount, purpose), expected):  # type: ignore[arg-type]
            self.donated[purpose] += amount  # type: ignore[operator]

    @rule(
        amount=amounts,
        purpose=st.sampled_from(PURPOSES),
        project_purposes=st.frozensets(st.sampled_from(CATEGORIES)),
        project_id=st.integers(min_value=1, max_value=4),
    )
    def allocate(
        self,
        amount: object,
        purpose: str | None,
        project_purposes: frozenset[str],
        project_id: int,
    ) -> None:
        expected: set[str] = set()
        if not is_valid_amount(amount):
            expected.add("invalid")
        if purpose is not None and purpose not in project_purposes:
            expected.add("purpose_mismatch")
        if is_valid_amount(amount) and amount > self.model_pool(purpose):  # type: ignore[operator]
            expected.add("fund_insufficient")
        allocation_id = self.next_id
        done = self.attempt(
            lambda: self.book.allocate(
                allocation_id,
                project_id,
                amount,  # type: ignore[arg-type]
                purpose,
                # a list, a set or a tuple: any iterable of categories will do
                sorted(project_purposes),
            ),
            expected,
        )
        if done:
            self.allocated[purpose] += amount  # type: ignore[operator]
            self.allocations[allocation_id] = [amount, 0, purpose]
            self.next_id += 1

    @precondition(lambda self: self.allocations)
    @rule(data=st.data(), amount=amounts)
    def spend(self, data: st.DataObject, amount: object) -> None:
        allocation_id = data.draw(st.sampled_from(sorted(self.allocations)))
        total, spent, _ = self.allocations[allocation_id]
        expected: set[str] = set()
        if not is_valid_amount(amount):
            expected.add("invalid")
        elif amount > total - spent:  # type: ignore[operator]
            expected.add("allocation_exceeded")
        if self.attempt(lambda: self.book.spend(allocation_id, amount), expected):  # type: ignore[arg-type]
            self.allocations[allocation_id][1] += amount

    @rule(amount=valid_amounts)
    def spend_unknown_allocation(self, amount: int) -> None:
        self.attempt(lambda: self.book.spend(self.next_id + 100, amount), {"not_found"})

    @precondition(lambda self: self.allocations)
    @rule(data=st.data(), amount=valid_amounts)
    def allocate_with_a_used_id(self, data: st.DataObject, amount: int) -> None:
        used = data.draw(st.sampled_from(sorted(self.allocations)))
        expected = {"duplicate_allocation"}
        if amount > self.model_pool(None):
            expected.add("fund_insufficient")
        self.attempt(lambda: self.book.allocate(used, 9, amount, None, ()), expected)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def balances_to_the_fen(self) -> None:
        s = self.book.statement()
        assert s.donated == s.balance + s.allocated
        assert s.allocated == s.spent + s.unspent
        assert sum(s.pools.values()) == s.balance
        assert all(v >= 0 for v in s.pools.values()), s.pools
        assert all(a.unspent >= 0 for a in self.book.allocations.values())
        assert all(isinstance(v, int) for v in (s.donated, s.allocated, s.spent, s.balance))

    @invariant()
    def agrees_with_the_model(self) -> None:
        s = self.book.statement()
        donated = sum(self.donated.values())
        allocated = sum(a[0] for a in self.allocations.values())
        spent = sum(a[1] for a in self.allocations.values())
        assert (s.donated, s.allocated, s.spent) == (donated, allocated, spent)
        assert s.balance == donated - allocated
        assert s.unspent == allocated - spent
        purposes = {p for p, v in self.donated.items() if v} | {
            p for p, v in self.allocated.items() if v
        }
        assert s.pools == {p: self.model_pool(p) for p in purposes}
        assert {i: (a.amount, a.spent, a.purpose) for i, a in self.book.allocations.items()} == {
            i: tuple(a) for i, a in self.allocations.items()
        }


FundBookMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
TestFundBookMachine = FundBookMachine.TestCase


# A second, list-driven run: whole operation sequences drawn up front, replayed in order.
operations = st.lists(
    st.one_of(
        st.tuples(st.just("donate"), amounts, st.sampled_from(PURPOSES)),
        st.tuples(
            st.just("allocate"),
            amounts,
            st.sampled_from(PURPOSES),
            st.frozensets(st.sampled_from(CATEGORIES)),
        ),
        st.tuples(st.just("spend"), st.integers(min_value=0, max_value=8), amounts),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_random_sequences_balance_and_refusals_change_nothing(ops: list[tuple]) -> None:
    machine = FundBookMachine()
    machine.start()
    for op in ops:
        if op[0] == "donate":
            machine.donate(op[1], op[2])
        elif op[0] == "allocate":
            machine.allocate(op[1], op[2], op[3], project_id=1)
        else:
            ids = sorted(machine.allocations)
            if not ids:
                continue
            allocation_id = ids[op[1] % len(ids)]
            total, spent, _ = machine.allocations[allocation_id]
            expected: set[str] = set()
            if not is_valid_amount(op[2]):
                expected.add("invalid")
            elif op[2] > total - spent:
                expected.add("allocation_exceeded")
            if machine.attempt(
                lambda a=allocation_id, amount=op[2]: machine.book.spend(a, amount), expected
            ):
                machine.allocations[allocation_id][1] += op[2]
        machine.balances_to_the_fen()
        machine.agrees_with_the_model()


# ---------------------------------------------------------------------- plain fund rules


def test_restricted_money_goes_only_to_a_project_answering_its_purpose() -> None:
    book = FundBook()
    book.donate(10_000, "elderly_care")
    book.donate(500)
    with pytest.raises(Conflict, match="purpose_mismatch"):
        book.allocate(1, 7, 100, "elderly_care", ["child_care"])
    with pytest.raises(Conflict, match="purpose_mismatch"):
        book.allocate(1, 7, 100, "elderly_care", [])
    # Restricted money does not spill into the general pool either.
    with pytest.raises(Conflict, match="fund_insufficient"):
        book.allocate(1, 7, 501, None, ["elderly_care"])
    book.allocate(1, 7, 10_000, "elderly_care", ["child_care", "elderly_care"])
    s = book.statement()
    assert s.pools == {"elderly_care": 0, None: 500}
    assert (s.balance, s.allocated) == (500, 10_000)


def test_nothing_is_allocated_beyond_the_pool() -> None:
    book = FundBook()
    book.donate(1_000)
    book.allocate(1, 7, 600, None, [])
    with pytest.raises(Conflict, match="fund_insufficient"):
        book.allocate(2, 7, 401, None, [])
    with pytest.raises(Conflict, match="fund_insufficient"):
        book.allocate(2, 7, 1, "child_care", ["child_care"])  # an empty restricted pool
    book.allocate(2, 7, 400, None, [])
    assert book.statement().balance == 0


def test_nothing_is_spent_beyond_the_allocation() -> None:
    book = FundBook()
    book.donate(1_000)
    book.allocate(1, 7, 300, None, [])
    book.spend(1, 200)
    with pytest.raises(Conflict, match="allocation_exceeded"):
        book.spend(1, 101)
    book.spend(1, 100)
    with pytest.raises(Conflict, match="allocation_exceeded"):
        book.spend(1, 1)
    with pytest.raises(NotFound):
        book.spend(2, 1)
    s = book.statement()
    assert (s.allocated, s.spent, s.unspent, s.balance) == (300, 300, 0, 700)


@pytest.mark.parametrize("amount", [0, -1, -10_000, 1.0, 0.5, True, "100", None, 10**12 + 1])
def test_amounts_must_be_positive_whole_fen(amount: object) -> None:
    book = FundBook()
    book.donate(10**12)
    book.allocate(1, 7, 1_000, None, [])
    before = snapshot(book)
    with pytest.raises(InvalidInput):
        book.donate(amount)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        book.allocate(2, 7, amount, None, [])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        book.spend(1, amount)  # type: ignore[arg-type]
    assert snapshot(book) == before


# ---------------------------------------------------------------------- money in yuan


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12000", 1_200_000),
        ("12,000.50", 1_200_050),
        ("12，000.50", 1_200_050),
        ("¥3.5", 350),
        ("￥3.50", 350),
        ("100元", 10_000),
        ("  0.05 ", 5),
        ("0", 0),
        ("10000000000", MAX_BUDGET_FEN),
    ],
)
def test_yuan_are_read_as_exact_fen(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen
    assert isinstance(parse_yuan(text), int)


@pytest.mark.parametrize(
    "text",
    ["3.555", "-1", "abc", "", "1e3", ".5", "1.2.3", "１２", "3.5x", "10000000000.01", "+5"],
)
def test_malformed_or_out_of_range_yuan_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_yuan(text)


def test_fen_are_written_as_yuan() -> None:
    assert yuan_text(1_200_050) == "12,000.50"
    assert yuan_text(100) == "1"
    assert yuan_text(5) == "0.05"
    assert yuan_text(0) == "0"
    assert yuan_text(12_000_050) == "120,000.50"
    assert yuan_text(-150) == "-1.50"


@given(st.integers(min_value=0, max_value=MAX_BUDGET_FEN))
def test_written_yuan_read_back_to_the_same_fen(fen: int) -> None:
    assert parse_yuan(yuan_text(fen)) == fen


# ---------------------------------------------------------------------- project lifecycle


def test_a_major_matter_needs_the_party_decision_before_approval() -> None:
    with pytest.raises(Conflict, match="party_decision_needed"):
        next_state(ProjectState.SUBMITTED, ProjectAction.APPROVE, Actor.WORKER, major=True)
    assert (
        next_state(
            ProjectState.SUBMITTED,
            ProjectAction.APPROVE,
            Actor.WORKER,
            major=True,
            party_approved=True,
        )
        is ProjectState.APPROVED
    )
    # An ordinary project needs none; a rejection of a major matter needs none either.
    assert (
        next_state(ProjectState.SUBMITTED, ProjectAction.APPROVE, Actor.WORKER)
        is ProjectState.APPROVED
    )
    assert (
        next_state(ProjectState.SUBMITTED, ProjectAction.REJECT, Actor.WORKER, major=True)
        is ProjectState.DRAFT
    )


def test_each_side_takes_only_its_own_steps() -> None:
    with pytest.raises(Conflict, match="project_not_yours"):
        next_state(ProjectState.DRAFT, ProjectAction.SUBMIT, Actor.WORKER)
    with pytest.raises(Conflict, match="project_not_yours"):
        next_state(ProjectState.SUBMITTED, ProjectAction.APPROVE, Actor.OWNER)
    with pytest.raises(Conflict, match="project_not_yours"):
        next_state(ProjectState.APPROVED, ProjectAction.PUBLISH, Actor.WORKER)
    # The ownership check comes before the party check: an owner cannot approve at all.
    with pytest.raises(Conflict, match="project_not_yours"):
        next_state(ProjectState.SUBMITTED, ProjectAction.APPROVE, Actor.OWNER, major=True)


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (ProjectState.DRAFT, ProjectAction.APPROVE),
        (ProjectState.DRAFT, ProjectAction.PUBLISH),
        (ProjectState.SUBMITTED, ProjectAction.SUBMIT),
        (ProjectState.APPROVED, ProjectAction.START),
        (ProjectState.EVALUATED, ProjectAction.EVALUATE),
        (ProjectState.COMPLETED, ProjectAction.REJECT),
    ],
)
def test_an_unknown_transition_is_named(state: ProjectState, action: ProjectAction) -> None:
    for actor in Actor:
        with pytest.raises(Conflict) as refused:
            next_state(state, action, actor, major=True, party_approved=True)
        assert refused.value.reason.startswith("project_transition:")
        assert refused.value.reason == f"project_transition:{state.value}:{action.value}"


def test_the_happy_path_runs_from_draft_to_evaluated() -> None:
    steps = [
        (ProjectAction.SUBMIT, Actor.OWNER, ProjectState.SUBMITTED),
        (ProjectAction.APPROVE, Actor.WORKER, ProjectState.APPROVED),
        (ProjectAction.PUBLISH, Actor.OWNER, ProjectState.PUBLISHED),
        (ProjectAction.START, Actor.OWNER, ProjectState.RUNNING),
        (ProjectAction.COMPLETE, Actor.OWNER, ProjectState.COMPLETED),
        (ProjectAction.EVALUATE, Actor.OWNER, ProjectState.EVALUATED),
    ]
    state = ProjectState.DRAFT
    for action, actor, expected in steps:
        state = next_state(state, action, actor, major=True, party_approved=True)
        assert state is expected
    assert actions_for(ProjectState.EVALUATED, Actor.OWNER) == ()
    assert actions_for(ProjectState.EVALUATED, Actor.WORKER) == ()


def test_buttons_offered_are_exactly_the_allowed_steps() -> None:
    assert actions_for(ProjectState.SUBMITTED, Actor.WORKER) == (
        ProjectAction.APPROVE,
        ProjectAction.REJECT,
    )
    assert actions_for(ProjectState.SUBMITTED, Actor.OWNER) == ()
    assert actions_for(ProjectState.DRAFT, Actor.OWNER) == (ProjectAction.SUBMIT,)
    assert actions_for(ProjectState.DRAFT, Actor.WORKER) == ()
    for state in ProjectState:
        for actor in Actor:
            offered = set(actions_for(state, actor))
            for action in ProjectAction:
                allowed = (state, action) in TRANSITIONS and TRANSITIONS[(state, action)][
                    1
                ] is actor
                assert (action in offered) == allowed, (state, actor, action)
                if allowed:
                    next_state(state, action, actor, major=True, party_approved=True)
                else:
                    with pytest.raises(Conflict):
                        next_state(state, action, actor, major=True, party_approved=True)
