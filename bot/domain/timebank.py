"""The time bank (时间银行): an append-only double-entry ledger in whole minutes.

Confirmed volunteer service credits the volunteer; the minutes can be given to a family member or
spent on another volunteer's service (an exchange both people confirmed). Balances are never stored:
they are the sum of the entries, so they cannot drift from the history that explains them.

Pure rules: no I/O, no framework. The storage layer persists what `Ledger` accepts, and can reuse
`balance_of` and replay its rows through `Ledger` to check them.

Negative balances. The `service` side may go negative (it is the community's debt of hours to its
volunteers) and so may `adjustment`. A `volunteer` account may not, with one exception: a
*reversal*. When a spot check (志愿服务记录抽查) fails, the service record never should have
counted, so its credit is reversed in full even if the volunteer already gave or spent the
minutes. The volunteer then owes the difference: they cannot give or spend again until new
credit brings them back above zero. Every other kind of transaction is refused with
`Conflict("insufficient_balance")` if it would leave a volunteer account it debits below zero.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from bot.domain.errors import Conflict, InvalidInput, NotFound

MAX_CREDIT_MINUTES = 24 * 60  # one service record cannot be worth more than a day
MAX_MEMO_LENGTH = 500


class AccountKind(StrEnum):
    VOLUNTEER = "volunteer"  # a person's own hours; owner is the person id
    SERVICE = "service"  # the organiser that issues credit for confirmed service
    ADJUSTMENT = "adjustment"  # corrections and compensations posted by workers


class TransactionKind(StrEnum):
    SERVICE_CREDIT = "service_credit"
    GIFT = "gift"
    EXCHANGE = "exchange"
    REVERSAL = "reversal"


@dataclass(frozen=True, slots=True)
class Account:
    """One side of the books, identified by kind and owner id."""

    kind: AccountKind
    owner_id: int

    @property
    def may_go_negative(self) -> bool:
        """Only a person's own account must stay covered; see the module docstring."""
        return self.kind is not AccountKind.VOLUNTEER


def volunteer_account(person_id: int) -> Account:
    """Keyed by person, not by volunteer registration, so a family member can receive a gift."""
    return Account(AccountKind.VOLUNTEER, person_id)


def service_account(organiser_id: int) -> Account:
    return Account(AccountKind.SERVICE, organiser_id)


def adjustment_account(owner_id: int) -> Account:
    return Account(AccountKind.ADJUSTMENT, owner_id)


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a transaction: positive credits the account, negative debits it."""

    account: Account
    minutes: int

    def __post_init__(self) -> None:
        _check_whole_minutes(self.minutes)
        if self.minutes == 0:
            raise InvalidInput("minutes", "zero")


@dataclass(frozen=True, slots=True)
class Transaction:
    """A balanced set of entries, never edited once posted.

    Build one with `service_credit`, `gift`, `exchange` or `reversal`, which hold the business
    rules. The dataclass checks only what must hold for any transaction (so storage can rebuild
    rows): at least two lines on distinct accounts summing to zero, and an aware timestamp.
    `reference` is the service record id for a credit and the reversed transaction id for a
    reversal.
    """

    id: str
    kind: TransactionKind
    created_at: datetime
    entries: tuple[Entry, ...]
    memo: str = ""
    reference: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(self.entries))
        if not self.id:
            raise InvalidInput("id", "empty")
        _check_aware(self.created_at)
        if len(self.memo) > MAX_MEMO_LENGTH:
            raise InvalidInput("memo", "too_long")
        if len(self.entries) < 2:
            raise InvalidInput("entries", "fewer_than_two")
        if len({e.account for e in self.entries}) != len(self.entries):
            raise InvalidInput("entries", "account_repeated")
        if sum(e.minutes for e in self.entries) != 0:
            raise InvalidInput("entries", "unbalanced")
        needs_reference = self.kind in (TransactionKind.SERVICE_CREDIT, TransactionKind.REVERSAL)
        if needs_reference and not self.reference:
            raise InvalidInput("reference", "missing")

    def minutes_for(self, account: Account) -> int:
        """This transaction's effect on one account (0 if it does not touch it)."""
        return balance_of(self.entries, account)


def balance_of(entries: Iterable[Entry], account: Account) -> int:
    """The one definition of a balance: the sum of the account's entries."""
    return sum(e.minutes for e in entries if e.account == account)


def service_credit(
    record_id: int,
    volunteer_id: int,
    organiser_account: Account,
    minutes: int,
    at: datetime,
    *,
    memo: str = "",
    tx_id: str | None = None,
) -> Transaction:
    """Credit a volunteer (by person id) for a confirmed service record, debiting the organiser."""
    _check_positive(minutes)
    if minutes > MAX_CREDIT_MINUTES:
        raise InvalidInput("minutes", "over_a_day")
    if organiser_account.kind is not AccountKind.SERVICE:
        raise InvalidInput("organiser_account", "not_a_service_account")
    return Transaction(
        id=tx_id or _new_id(),
        kind=TransactionKind.SERVICE_CREDIT,
        created_at=at,
        entries=(
            Entry(organiser_account, -minutes),
            Entry(volunteer_account(volunteer_id), minutes),
        ),
        memo=memo,
        reference=str(record_id),
    )


def gift(
    from_person: int,
    to_person: int,
    minutes: int,
    at: datetime,
    *,
    memo: str = "",
    tx_id: str | None = None,
) -> Transaction:
    """Give hours to a family member. The caller checks the family link; this checks the sums."""
    if from_person == to_person:
        raise InvalidInput("to_person", "self")
    _check_positive(minutes)
    return Transaction(
        id=tx_id or _new_id(),
        kind=TransactionKind.GIFT,
        created_at=at,
        entries=(
            Entry(volunteer_account(from_person), -minutes),
            Entry(volunteer_account(to_person), minutes),
        ),
        memo=memo,
    )


def exchange(
    payer: int,
    provider: int,
    minutes: int,
    at: datetime,
    confirmed_by_payer: bool,
    confirmed_by_provider: bool,
    *,
    memo: str = "",
    tx_id: str | None = None,
) -> Transaction:
    """One person pays another for a service; both must have confirmed it took place."""
    if payer == provider:
        raise InvalidInput("provider", "self")
    _check_positive(minutes)
    if not (confirmed_by_payer and confirmed_by_provider):
        raise Conflict("exchange_not_confirmed")
    return Transaction(
        id=tx_id or _new_id(),
        kind=TransactionKind.EXCHANGE,
        created_at=at,
        entries=(
            Entry(volunteer_account(payer), -minutes),
            Entry(volunteer_account(provider), minutes),
        ),
        memo=memo,
    )


def reversal(
    original: Transaction, at: datetime, memo: str, *, tx_id: str | None = None
) -> Transaction:
    """Compensate a transaction by negating every line: history is corrected, never rewritten.

    The memo says why (e.g. the failed spot check). Whether `original` was already reversed is
    known only to the ledger, which refuses a second reversal.
    """
    if original.kind is TransactionKind.REVERSAL:
        raise Conflict("cannot_reverse_a_reversal")
    if not memo.strip():
        raise InvalidInput("memo", "empty")
    _check_aware(at)
    if at < original.created_at:
        raise InvalidInput("at", "before_original")
    return Transaction(
        id=tx_id or _new_id(),
        kind=TransactionKind.REVERSAL,
        created_at=at,
        entries=tuple(Entry(e.account, -e.minutes) for e in original.entries),
        memo=memo.strip(),
        reference=original.id,
    )


class Ledger:
    """The in-memory model of the persisted ledger: post appends, nothing edits or deletes.

    Passing `history` replays it through `post`, so rows loaded from storage are checked too.
    """

    __slots__ = ("_by_id", "_reversed", "_transactions")

    def __init__(self, history: Iterable[Transaction] = ()) -> None:
        self._transactions: list[Transaction] = []
        self._by_id: dict[str, Transaction] = {}
        self._reversed: dict[str, str] = {}  # original id -> reversal id
        for tx in history:
            self.post(tx)

    def post(self, tx: Transaction) -> None:
        """Validate against the whole history, then append; a refusal changes nothing."""
        if sum(e.minutes for e in tx.entries) != 0:
            raise InvalidInput("entries", "unbalanced")
        if tx.id in self._by_id:
            raise Conflict("duplicate_transaction")
        if tx.kind is TransactionKind.REVERSAL:
            self._check_reversal(tx)
        else:
            if tx.kind is TransactionKind.SERVICE_CREDIT:
                self._check_not_credited(tx)
            self._check_covered(tx)
        self._transactions.append(tx)
        self._by_id[tx.id] = tx
        if tx.kind is TransactionKind.REVERSAL and tx.reference is not None:
            self._reversed[tx.reference] = tx.id

    def balance(self, account: Account) -> int:
        return balance_of(self._all_entries(), account)

    def entries(self, account: Account) -> tuple[Entry, ...]:
        return tuple(e for e in self._all_entries() if e.account == account)

    def transactions(self) -> tuple[Transaction, ...]:
        return tuple(self._transactions)

    def accounts(self) -> frozenset[Account]:
        return frozenset(e.account for e in self._all_entries())

    def get(self, tx_id: str) -> Transaction:
        try:
            return self._by_id[tx_id]
        except KeyError:
            raise NotFound("transaction", tx_id) from None

    def reversed_by(self, tx_id: str) -> str | None:
        """The id of the reversal that compensated this transaction, if any."""
        return self._reversed.get(tx_id)

    def __len__(self) -> int:
        return len(self._transactions)

    def _all_entries(self) -> Iterator[Entry]:
        for tx in self._transactions:
            yield from tx.entries

    def _check_reversal(self, tx: Transaction) -> None:
        original = self._by_id.get(tx.reference or "")
        if original is None:
            raise NotFound("transaction", tx.reference)
        if original.kind is TransactionKind.REVERSAL:
            raise Conflict("cannot_reverse_a_reversal")
        if original.id in self._reversed:
            raise Conflict("already_reversed")
        mirrored = {e.account: -e.minutes for e in original.entries}
        if {e.account: e.minutes for e in tx.entries} != mirrored:
            raise Conflict("reversal_mismatch")
        if tx.created_at < original.created_at:
            raise InvalidInput("at", "before_original")

    def _check_not_credited(self, tx: Transaction) -> None:
        """A record counts once; after its credit was reversed it may be credited again."""
        for earlier in self._transactions:
            if (
                earlier.kind is TransactionKind.SERVICE_CREDIT
                and earlier.reference == tx.reference
                and earlier.id not in self._reversed
            ):
                raise Conflict("already_credited")

    def _check_covered(self, tx: Transaction) -> None:
        """Every account this transaction debits that must stay covered stays at zero or above."""
        for entry in tx.entries:
            guarded = entry.minutes < 0 and not entry.account.may_go_negative
            if guarded and self.balance(entry.account) + entry.minutes < 0:
                raise Conflict("insufficient_balance")


class TransferKind(StrEnum):
    GIFT = "gift"  # the giver offers, a family member accepts
    EXCHANGE = "exchange"  # the provider asks for a service done, the payer accepts


class TransferStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"


MAX_TRANSFER_MINUTES = 100 * 60


def hours_text(minutes: int) -> str:
    """Minutes as hours, at most two decimals, rounded half-up and exact: 90 -> "1.5"."""
    _check_whole_minutes(minutes)
    hours = (Decimal(minutes) / Decimal(60)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{hours:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _new_id() -> str:
    return uuid.uuid4().hex


def _check_whole_minutes(minutes: object) -> None:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidInput("minutes", "not_whole_minutes")


def _check_positive(minutes: int) -> None:
    _check_whole_minutes(minutes)
    if minutes <= 0:
        raise InvalidInput("minutes", "not_positive")


def _check_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("at", "naive_datetime")
