"""Charity funds with 募用分离 (the body that raises money is not the one that spends it): one
organisation records donations into a fund and allocates them to another organisation's project;
that organisation records what it spent against the allocation. Exact integer fen. Pure rules.

Money donated for a restricted purpose (a need category, e.g. elderly care) stays in its own pool
and goes only to projects that answer that purpose; unrestricted money is the general pool.
Nothing is allocated beyond a pool's balance and nothing is spent beyond an allocation.
The storage layer replays a fund's rows through `FundBook` before adding one, under a row lock
on the fund, so the rules hold for concurrent requests too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.domain.errors import Conflict, InvalidInput, NotFound

MAX_AMOUNT_FEN = 10**12

Purpose = str | None  # None: unrestricted (the general pool)


@dataclass(slots=True)
class Allocation:
    id: int
    project_id: int
    amount: int
    purpose: Purpose
    spent: int = 0

    @property
    def unspent(self) -> int:
        return self.amount - self.spent


@dataclass(frozen=True, slots=True)
class Statement:
    donated: int
    allocated: int
    spent: int
    balance: int  # donated, not yet allocated
    pools: dict[Purpose, int]  # balance per purpose (None: unrestricted)
    unspent: int  # allocated, not yet spent


def _check_amount(amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput("amount", "not_whole_fen")
    if not 0 < amount <= MAX_AMOUNT_FEN:
        raise InvalidInput("amount", "range")
    return amount


@dataclass(slots=True)
class FundBook:
    donated: dict[Purpose, int] = field(default_factory=dict)
    allocated: dict[Purpose, int] = field(default_factory=dict)
    allocations: dict[int, Allocation] = field(default_factory=dict)

    def pool(self, purpose: Purpose) -> int:
        return self.donated.get(purpose, 0) - self.allocated.get(purpose, 0)

    def donate(self, amount: int, purpose: Purpose = None) -> None:
        _check_amount(amount)
        self.donated[purpose] = self.donated.get(purpose, 0) + amount

    def allocate(
        self,
        allocation_id: int,
        project_id: int,
        amount: int,
        purpose: Purpose,
        project_purposes: Iterable[str],
    ) -> None:
        """From the general pool (purpose None) or a restricted pool the project answers."""
        _check_amount(amount)
        if allocation_id in self.allocations:
            raise Conflict("duplicate_allocation")
        if purpose is not None and purpose not in set(project_purposes):
            raise Conflict("purpose_mismatch")
        if amount > self.pool(purpose):
            raise Conflict("fund_insufficient")
        self.allocated[purpose] = self.allocated.get(purpose, 0) + amount
        self.allocations[allocation_id] = Allocation(allocation_id, project_id, amount, purpose)

    def spend(self, allocation_id: int, amount: int) -> None:
        _check_amount(amount)
        allocation = self.allocations.get(allocation_id)
        if allocation is None:
            raise NotFound("allocation", allocation_id)
        if amount > allocation.unspent:
            raise Conflict("allocation_exceeded")
        allocation.spent += amount

    def statement(self) -> Statement:
        donated = sum(self.donated.values())
        allocated = sum(a.amount for a in self.allocations.values())
        spent = sum(a.spent for a in self.allocations.values())
        purposes = set(self.donated) | set(self.allocated)
        return Statement(
            donated=donated,
            allocated=allocated,
            spent=spent,
            balance=donated - allocated,
            pools={p: self.pool(p) for p in purposes},
            unspent=allocated - spent,
        )
