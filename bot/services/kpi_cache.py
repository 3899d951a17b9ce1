"""The per-process cache of indicator reports (bot/services/kpis.py), one entry per unit and year.

A module of its own so that what changes the figures (places: a demonstration site) can clear it
without importing the indicators, which read the places."""

from __future__ import annotations

from bot.domain.enums import ScopeLevel
from bot.services.views import Report

# (level, unit id, year) -> (time.monotonic() when computed, the report)
reports: dict[tuple[ScopeLevel, int, int], tuple[float, Report]] = {}


def forget() -> None:
    reports.clear()
