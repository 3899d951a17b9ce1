"""The time bank ledger: double entry in whole minutes, append-only, balances derived from entries.

A property test drives random operations (valid and invalid) through `Ledger.post` and checks the
ledger against a model kept in the test: balances, refusals and the reversal rule."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from bot.domain.timebank import (
    Account,
    AccountKind,
    Entry,
    Ledger,
    Transaction,
    TransactionKind,
    adjustment_account,
    balance_of,
    exchange,
    gift,
    reversal,
    service_account,
    service_credit,
    volunteer_account,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ORG = service_account(100)
ANNA, BO, CHEN = 1, 2, 3


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def credited(minutes: int, person: int = ANNA, record: int = 7) -> Ledger:
    ledger = Ledger()
    ledger.post(service_credit(record, person, ORG, minutes, at(0)))
    return ledger


def snapshot(ledger: Ledger) -> tuple[int, dict[Account, int]]:
    return len(ledger), {a: ledger.balance(a) for a in ledger.accounts()}


# --- example tests -------------------------------------------------------------------------------


def test_a_service_credit_moves_minutes_from_the_organiser_to_the_volunteer() -> None:
    ledger = credited(90)
    assert ledger.balance(volunteer_account(ANNA)) == 90
    assert ledger.balance(ORG) == -90
    [tx] = ledger.transactions()
    assert tx.kind is TransactionKind.SERVICE_CREDIT
    assert tx.reference == "7"


@pytest.mark.parametrize("minutes", [0, -30, 24 * 60 + 1])
def test_a_service_credit_is_positive_and_at_most_a_day(minutes: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        service_credit(7, ANNA, ORG, minutes, at(0))
    assert caught.value.field == "minutes"


def test_a_full_day_of_service_can_be_credited() -> None:
    assert credited(24 * 60).balance(volunteer_account(ANNA)) == 24 * 60


@pytest.mark.parametrize("minutes", [30.0, 1.5, True, "30"])
def test_minutes_must_be_whole_numbers(minutes: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        service_credit(7, ANNA, ORG, minutes, at(0))  # type: ignore[arg-type]
    assert caught.value.reason == "not_whole_minutes"


def test_credit_comes_only_from_a_service_account() -> None:
    with pytest.raises(InvalidInput) as caught:
        service_credit(7, ANNA, volunteer_account(BO), 60, at(0))
    assert caught.value.field == "organiser_account"


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        gift(ANNA, BO, 10, datetime(2025, 3, 1, 9, 0))  # noqa: DTZ001 - naive on purpose
    assert caught.value.reason == "naive_datetime"


def test_a_service_record_is_credited_only_once() -> None:
    ledger = credited(60, record=7)
    with pytest.raises(Conflict) as caught:
        ledger.post(service_credit(7, ANNA, ORG, 60, at(1)))
    assert caught.value.reason == "already_credited"
    assert len(ledger) == 1


def test_a_record_whose_credit_was_reversed_can_be_credited_again() -> None:
    ledger = credited(60, record=7)
    ledger.post(reversal(ledger.transactions()[0], at(1), "spot check: wrong date"))
    ledger.post(service_credit(7, ANNA, ORG, 45, at(2)))
    assert ledger.balance(volunteer_account(ANNA)) == 45


def test_a_gift_moves_minutes_to_a_family_member() -> None:
    ledger = credited(120)
    ledger.post(gift(ANNA, BO, 50, at(1)))
    assert ledger.balance(volunteer_account(ANNA)) == 70
    assert ledger.balance(volunteer_account(BO)) == 50


def test_a_gift_to_yourself_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        gift(ANNA, ANNA, 10, at(1))
    assert (caught.value.field, caught.value.reason) == ("to_person", "self")


@pytest.mark.parametrize("minutes", [0, -10])
def test_a_gift_must_be_positive(minutes: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        gift(ANNA, BO, minutes, at(1))
    assert caught.value.reason == "not_positive"


@pytest.mark.parametrize(
    ("payer_ok", "provider_ok"), [(False, True), (True, False), (False, False)]
)
def test_an_unconfirmed_exchange_is_refused(payer_ok: bool, provider_ok: bool) -> None:
    with pytest.raises(Conflict) as caught:
        exchange(ANNA, BO, 30, at(1), payer_ok, provider_ok)
    assert caught.value.reason == "exchange_not_confirmed"


def test_a_confirmed_exchange_pays_the_provider() -> None:
    ledger = credited(60)
    ledger.post(exchange(ANNA, BO, 45, at(1), True, True))
    assert ledger.balance(volunteer_account(ANNA)) == 15
    assert ledger.balance(volunteer_account(BO)) == 45


def test_an_exchange_with_yourself_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        exchange(ANNA, ANNA, 30, at(1), True, True)
    assert caught.value.reason == "self"


@pytest.mark.parametrize("spend", ["gift", "exchange"])
def test_a_volunteer_cannot_spend_more_than_they_have(spend: str) -> None:
    ledger = credited(60)
    before = snapshot(ledger)
    tx = gift(ANNA, BO, 61, at(1)) if spend == "gift" else exchange(ANNA, BO, 61, at(1), True, True)
    with pytest.raises(Conflict) as caught:
        ledger.post(tx)
    assert caught.value.reason == "insufficient_balance"
    assert snapshot(ledger) == before
    ledger.post(gift(ANNA, BO, 60, at(2)))  # exactly everything is fine
    assert ledger.balance(volunteer_account(ANNA)) == 0


def test_someone_with_no_hours_cannot_give_any() -> None:
    with pytest.raises(Conflict):
        Ledger().post(gift(ANNA, BO, 1, at(0)))


def test_a_reversal_restores_the_balances() -> None:
    ledger = credited(120)
    accounts = (volunteer_account(ANNA), volunteer_account(BO), ORG)
    before = [ledger.balance(a) for a in accounts]
    given_away = gift(ANNA, BO, 40, at(1))
    ledger.post(given_away)
    assert [ledger.balance(a) for a in accounts] == [80, 40, -120]
    ledger.post(reversal(given_away, at(2), "given by mistake"))
    assert [ledger.balance(a) for a in accounts] == before == [120, 0, -120]
    assert len(ledger) == 3  # nothing was deleted: the history shows the mistake and its fix
    assert ledger.reversed_by(given_away.id) == ledger.transactions()[-1].id


def test_a_reversal_negates_every_line_and_references_the_original() -> None:
    original = service_credit(7, ANNA, ORG, 60, at(0))
    undo = reversal(original, at(5), "  spot check failed  ")
    assert undo.kind is TransactionKind.REVERSAL
    assert undo.reference == original.id
    assert undo.memo == "spot check failed"
    assert {(e.account, -e.minutes) for e in undo.entries} == {
        (e.account, e.minutes) for e in original.entries
    }


def test_a_transaction_cannot_be_reversed_twice() -> None:
    ledger = credited(60)
    original = ledger.transactions()[0]
    ledger.post(reversal(original, at(1), "spot check failed"))
    before = snapshot(ledger)
    with pytest.raises(Conflict) as caught:
        ledger.post(reversal(original, at(2), "again"))
    assert caught.value.reason == "already_reversed"
    assert snapshot(ledger) == before


def test_a_reversal_cannot_be_reversed() -> None:
    ledger = credited(60)
    undo = reversal(ledger.transactions()[0], at(1), "spot check failed")
    ledger.post(undo)
    with pytest.raises(Conflict) as caught:
        reversal(undo, at(2), "undo the undo")
    assert caught.value.reason == "cannot_reverse_a_reversal"
    forged = dataclasses.replace(undo, id="forged", reference=undo.id)
    with pytest.raises(Conflict):
        ledger.post(forged)


def test_a_reversal_needs_a_reason() -> None:
    with pytest.raises(InvalidInput) as caught:
        reversal(service_credit(7, ANNA, ORG, 60, at(0)), at(1), "   ")
    assert caught.value.field == "memo"


def test_a_reversal_cannot_predate_the_original() -> None:
    with pytest.raises(InvalidInput) as caught:
        reversal(service_credit(7, ANNA, ORG, 60, at(10)), at(9), "spot check failed")
    assert caught.value.reason == "before_original"


def test_a_reversal_of_an_unknown_transaction_is_refused() -> None:
    stranger = service_credit(7, ANNA, ORG, 60, at(0))
    with pytest.raises(NotFound):
        Ledger().post(reversal(stranger, at(1), "spot check failed"))


def test_a_reversal_must_mirror_the_posted_original() -> None:
    ledger = credited(60)
    original = ledger.transactions()[0]
    forged = Transaction(
        id="forged",
        kind=TransactionKind.REVERSAL,
        created_at=at(1),
        entries=(Entry(volunteer_account(ANNA), -10), Entry(ORG, 10)),
        memo="partial",
        reference=original.id,
    )
    with pytest.raises(Conflict) as caught:
        ledger.post(forged)
    assert caught.value.reason == "reversal_mismatch"
    assert len(ledger) == 1


def test_reversing_spent_credit_leaves_the_volunteer_owing() -> None:
    """The failed record never should have counted, so it is reversed in full; Anna owes 40."""
    ledger = credited(60)
    credit = ledger.transactions()[0]
    ledger.post(gift(ANNA, BO, 40, at(1)))
    ledger.post(reversal(credit, at(2), "spot check failed"))
    anna = volunteer_account(ANNA)
    assert ledger.balance(anna) == -40
    assert ledger.balance(volunteer_account(BO)) == 40  # Bo's gift stands
    assert ledger.balance(ORG) == 0
    with pytest.raises(Conflict):  # owing, she cannot give more
        ledger.post(gift(ANNA, CHEN, 1, at(3)))
    ledger.post(service_credit(8, ANNA, ORG, 30, at(4)))  # new service pays the debt down
    assert ledger.balance(anna) == -10
    with pytest.raises(Conflict):
        ledger.post(gift(ANNA, CHEN, 1, at(5)))
    ledger.post(service_credit(9, ANNA, ORG, 15, at(6)))
    ledger.post(gift(ANNA, CHEN, 5, at(7)))
    assert ledger.balance(anna) == 0


def test_the_service_and_adjustment_sides_may_go_negative() -> None:
    assert not volunteer_account(ANNA).may_go_negative
    assert ORG.may_go_negative
    assert adjustment_account(1).may_go_negative
    ledger = Ledger()
    ledger.post(
        Transaction(
            id="correction",
            kind=TransactionKind.GIFT,
            created_at=at(0),
            entries=(Entry(adjustment_account(1), -30), Entry(volunteer_account(ANNA), 30)),
        )
    )
    assert ledger.balance(adjustment_account(1)) == -30


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ((Entry(volunteer_account(ANNA), 10), Entry(ORG, -9)), "unbalanced"),
        ((Entry(volunteer_account(ANNA), 10),), "fewer_than_two"),
        (
            (
                Entry(volunteer_account(ANNA), 10),
                Entry(volunteer_account(ANNA), 5),
                Entry(ORG, -15),
            ),
            "account_repeated",
        ),
    ],
)
def test_a_transaction_must_balance(entries: tuple[Entry, ...], reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Transaction(id="x", kind=TransactionKind.GIFT, created_at=at(0), entries=entries)
    assert caught.value.reason == reason


def test_an_entry_of_zero_minutes_is_refused() -> None:
    with pytest.raises(InvalidInput):
        Entry(volunteer_account(ANNA), 0)


def test_a_transaction_id_is_posted_once() -> None:
    ledger = credited(60)
    tx = gift(ANNA, BO, 10, at(1))
    ledger.post(tx)
    with pytest.raises(Conflict) as caught:
        ledger.post(tx)
    assert caught.value.reason == "duplicate_transaction"
    assert ledger.balance(volunteer_account(BO)) == 10


def test_posted_history_cannot_be_edited() -> None:
    ledger = credited(60)
    tx = ledger.transactions()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        tx.entries = ()  # type: ignore[misc]
    assert isinstance(ledger.transactions(), tuple)
    assert not any(hasattr(ledger, name) for name in ("remove", "delete", "update", "edit", "pop"))


def test_balance_of_sums_only_that_account() -> None:
    entries = [
        Entry(volunteer_account(ANNA), 30),
        Entry(ORG, -30),
        Entry(volunteer_account(ANNA), -10),
        Entry(volunteer_account(BO), 10),
    ]
    assert balance_of(entries, volunteer_account(ANNA)) == 20
    assert balance_of(entries, volunteer_account(CHEN)) == 0
    assert balance_of(iter(entries), Account(AccountKind.SERVICE, 100)) == -30


def test_a_ledger_replayed_from_its_history_has_the_same_balances() -> None:
    ledger = credited(60)
    credit = ledger.transactions()[0]
    ledger.post(gift(ANNA, BO, 40, at(1)))
    ledger.post(reversal(credit, at(2), "spot check failed"))  # leaves Anna at -40
    replayed = Ledger(ledger.transactions())
    assert snapshot(replayed) == snapshot(ledger)
    assert replayed.entries(volunteer_account(ANNA)) == ledger.entries(volunteer_account(ANNA))


def test_replaying_a_tampered_history_is_refused() -> None:
    with pytest.raises(Conflict):
        Ledger([gift(ANNA, BO, 10, at(0))])


# --- property test -------------------------------------------------------------------------------

PEOPLE = st.sampled_from([ANNA, BO, CHEN, 4])
ORGS = st.sampled_from([100, 101])
# "all" spends exactly the payer's balance, so the boundary at zero is hit often.
SPEND = st.one_of(st.integers(-5, 400), st.just("all"))
credits = st.tuples(
    st.just("credit"), st.integers(1, 6), PEOPLE, ORGS, st.integers(-10, 24 * 60 + 30)
)
gifts = st.tuples(st.just("gift"), PEOPLE, PEOPLE, SPEND)
exchanges = st.tuples(st.just("exchange"), PEOPLE, PEOPLE, SPEND, st.booleans(), st.booleans())
reversals = st.tuples(st.just("reverse"), st.integers(0, 1000))  # of an earlier transaction
reposts = st.tuples(st.just("repost"), st.integers(0, 1000))  # the same id a second time
strangers = st.tuples(st.just("reverse_stranger"))  # of a transaction never posted
operations = st.lists(
    st.one_of(credits, gifts, exchanges, reversals, reposts, strangers), max_size=40
)


class Model:
    """What the ledger should hold, computed from the operations alone, not from its entries."""

    def __init__(self) -> None:
        self.balances: Counter[Account] = Counter()
        self.effects: dict[str, dict[Account, int]] = {}
        self.kinds: dict[str, str] = {}
        self.reversed: set[str] = set()
        self.credited_records: dict[int, str] = {}  # record -> its live (unreversed) credit
        self.record_of: dict[str, int] = {}
        self.last_debit: dict[Account, str] = {}  # account -> kind of the last tx that lowered it

    def apply(self, tx_id: str, kind: str, effect: dict[Account, int]) -> None:
        self.effects[tx_id] = effect
        self.kinds[tx_id] = kind
        for account, minutes in effect.items():
            self.balances[account] += minutes
            if minutes < 0:
                self.last_debit[account] = kind


def resolve(model: Model, ledger: Ledger, op: tuple) -> tuple:
    """Turn "all" into minutes and an index into an earlier transaction (or None if empty)."""
    if op[0] in ("gift", "exchange") and op[3] == "all":
        return (*op[:3], model.balances[volunteer_account(op[1])], *op[4:])
    if op[0] in ("reverse", "repost"):
        txs = ledger.transactions()
        return (op[0], op[1] % len(txs) if txs else None)
    return op


def expectation(model: Model, ledger: Ledger, op: tuple) -> tuple[bool, dict[Account, int]]:
    """Whether the operation should be accepted, and its effect on each account if so."""
    name = op[0]
    if name == "credit":
        _, record, person, org, minutes = op
        ok = 0 < minutes <= 24 * 60 and record not in model.credited_records
        return ok, {volunteer_account(person): minutes, service_account(org): -minutes}
    if name in ("gift", "exchange"):
        payer, payee, minutes = op[1], op[2], op[3]
        confirmed = name == "gift" or (op[4] and op[5])
        covered = model.balances[volunteer_account(payer)] >= minutes
        ok = payer != payee and minutes > 0 and confirmed and covered
        return ok, {volunteer_account(payer): -minutes, volunteer_account(payee): minutes}
    if name in ("repost", "reverse_stranger") or op[1] is None:
        return False, {}
    original = ledger.transactions()[op[1]]
    ok = model.kinds[original.id] != "reversal" and original.id not in model.reversed
    return ok, {a: -m for a, m in model.effects[original.id].items()}


def build(ledger: Ledger, op: tuple, when: datetime) -> Transaction | None:
    name = op[0]
    if name == "credit":
        _, record, person, org, minutes = op
        return service_credit(record, person, service_account(org), minutes, when)
    if name == "gift":
        return gift(op[1], op[2], op[3], when)
    if name == "exchange":
        return exchange(op[1], op[2], op[3], when, op[4], op[5])
    if name == "reverse_stranger":
        return reversal(service_credit(99, ANNA, ORG, 30, T0), when, "never posted")
    if op[1] is None:
        return None
    if name == "repost":
        return ledger.transactions()[op[1]]
    return reversal(ledger.transactions()[op[1]], when, "spot check failed")


def check_invariants(ledger: Ledger, model: Model) -> None:
    txs = ledger.transactions()
    # (1) every transaction sums to zero
    for tx in txs:
        assert sum(e.minutes for e in tx.entries) == 0
    # (3) each balance is the sum of the account's entries, and what the model expects
    by_hand: Counter[Account] = Counter()
    for tx in txs:
        for e in tx.entries:
            by_hand[e.account] += e.minutes
    accounts = set(by_hand) | set(model.balances) | ledger.accounts()
    for account in accounts:
        assert ledger.balance(account) == by_hand[account] == model.balances[account]
        assert balance_of(ledger.entries(account), account) == by_hand[account]
    # (2) the books balance overall
    assert sum(ledger.balance(a) for a in accounts) == 0
    # (4) a volunteer is below zero only because a reversal put them there
    for account in accounts:
        if account.kind is AccountKind.VOLUNTEER and ledger.balance(account) < 0:
            assert model.last_debit[account] == "reversal"
    # (6) nothing is reversed twice, and no reversal is reversed
    reversed_ids = [tx.reference for tx in txs if tx.kind is TransactionKind.REVERSAL]
    assert len(reversed_ids) == len(set(reversed_ids))
    kinds = {tx.id: tx.kind for tx in txs}
    assert all(kinds[ref] is not TransactionKind.REVERSAL for ref in reversed_ids if ref)


@settings(max_examples=200, deadline=None)
@given(operations)
def test_random_ledger_operations_keep_the_books_straight(ops: list[tuple]) -> None:
    ledger = Ledger()
    model = Model()
    for step, raw in enumerate(ops):
        op = resolve(model, ledger, raw)
        should_pass, effect = expectation(model, ledger, op)
        before = snapshot(ledger)
        accepted: Transaction | None = None
        try:
            tx = build(ledger, op, at(step))
            if tx is not None:
                ledger.post(tx)
                accepted = tx
        except DomainError:
            pass
        assert (accepted is not None) == should_pass, op
        if accepted is None:
            # (5) a refused operation changes nothing
            assert snapshot(ledger) == before
        else:
            model.apply(accepted.id, accepted.kind.value, effect)
            if accepted.kind is TransactionKind.REVERSAL and accepted.reference:
                model.reversed.add(accepted.reference)
                record = model.record_of.pop(accepted.reference, None)
                if record is not None:
                    del model.credited_records[record]
            if accepted.kind is TransactionKind.SERVICE_CREDIT:
                model.credited_records[op[1]] = accepted.id
                model.record_of[accepted.id] = op[1]
            assert len(ledger) == before[0] + 1
        check_invariants(ledger, model)
