"""The community's clock: a day people mean (today, a birthday, a month) is a day in
Asia/Shanghai, whatever zone the server runs in."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_today(tz: ZoneInfo = LOCAL_TZ) -> date:
    """Today's date where the people are."""
    return now_in(tz).date()


def now_in(tz: ZoneInfo) -> datetime:
    """The moment, on the people's clock (one name for it, so a test can set it)."""
    return datetime.now(tz)
