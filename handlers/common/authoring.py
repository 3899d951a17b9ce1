"""What the emergency check (handlers/emergencies/signs.py) must know of the step a person is
at. Each feature says it next to its own states, so the check imports none of the features:

- writing for others or for the record (a broadcast, a worker's note on a need …): a notice
  about fire safety must not answer its author with 119;
- filing a need, before it is confirmed: the alert offers to mark the request urgent.

Every states module is imported with its routers (handlers/__init__.py), before any update."""

from __future__ import annotations

from collections.abc import Iterable

from aiogram.fsm.state import State, StatesGroup

_FOR_OTHERS: set[str] = set()
_FILING_A_NEED: set[str] = set()


def _names(groups: Iterable[type[StatesGroup]], but: Iterable[State]) -> set[str]:
    names = {name for group in groups for name in group.__all_states_names__}
    return names - {state.state for state in but}


def writes_for_others(*groups: type[StatesGroup], but: Iterable[State] = ()) -> None:
    """In these states (all of the groups but the states in `but`) a text is not about the
    person writing it."""
    _FOR_OTHERS.update(_names(groups, but))


def files_a_need(*groups: type[StatesGroup], but: Iterable[State] = ()) -> None:
    _FILING_A_NEED.update(_names(groups, but))


def is_for_others(state: str | None) -> bool:
    return state in _FOR_OTHERS


def is_filing_a_need(state: str | None) -> bool:
    return state in _FILING_A_NEED
