"""One moment for every clock a service reads: UTC (each module's `utcnow`) and the
community's calendar (`bot.domain.local_time`)."""

from __future__ import annotations

from datetime import datetime
from types import ModuleType

import pytest

from bot.domain import local_time


def set_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime, *modules: ModuleType) -> None:
    monkeypatch.setattr(local_time, "now_in", lambda tz: moment.astimezone(tz))
    for module in modules:
        monkeypatch.setattr(module, "utcnow", lambda: moment)
