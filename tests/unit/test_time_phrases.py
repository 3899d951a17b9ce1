"""Shift times as workers type them, in Chinese and English (bot/domain/time_phrases.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.errors import InvalidInput
from bot.domain.time_phrases import parse_period

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=TZ)  # a Monday, 10:00 in Chongqing


def _when(text: str) -> tuple[str, str]:
    period = parse_period(text, now=NOW, tz=TZ)
    assert period.starts_at.tzinfo is not None and period.ends_at.tzinfo is not None
    return period.starts_at.strftime("%Y-%m-%d %H:%M"), period.ends_at.strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("明天上午9点到11点", "2026-12-08 09:00", "2026-12-08 11:00"),
        ("明天上午九点至十一点", "2026-12-08 09:00", "2026-12-08 11:00"),
        ("后天9点到11点半", "2026-12-09 09:00", "2026-12-09 11:30"),
        ("下周六下午2点半至4点", "2026-12-19 14:30", "2026-12-19 16:00"),
        ("周三晚上7点到9点", "2026-12-09 19:00", "2026-12-09 21:00"),
        ("明晚7点到9点", "2026-12-08 19:00", "2026-12-08 21:00"),
        ("今天下午3点到5点", "2026-12-07 15:00", "2026-12-07 17:00"),
        ("12月9日 9:00-11:30", "2026-12-09 09:00", "2026-12-09 11:30"),
        ("12月9号上午九点一刻到十点三刻", "2026-12-09 09:15", "2026-12-09 10:45"),
        ("星期五 14:00～16:00", "2026-12-11 14:00", "2026-12-11 16:00"),
        ("下周一 8点-10点", "2026-12-14 08:00", "2026-12-14 10:00"),
        ("明天中午12点到下午1点半", "2026-12-08 12:00", "2026-12-08 13:30"),
        ("１２月９日　９：００－１１：００", "2026-12-09 09:00", "2026-12-09 11:00"),  # full width
        ("3月1日上午9点到11点", "2027-03-01 09:00", "2027-03-01 11:00"),  # next year's March
    ],
)
def test_chinese_phrases(text: str, start: str, end: str) -> None:
    assert _when(text) == (start, end)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("tomorrow 9am to 11", "2026-12-08 09:00", "2026-12-08 11:00"),
        ("tomorrow at 9 to 11", "2026-12-08 09:00", "2026-12-08 11:00"),
        ("tomorrow 2:30pm-4", "2026-12-08 14:30", "2026-12-08 16:00"),
        ("Sat 2pm - 4pm", "2026-12-12 14:00", "2026-12-12 16:00"),
        ("next tuesday 10am to 2", "2026-12-15 10:00", "2026-12-15 14:00"),
        ("Friday 9:30-11", "2026-12-11 09:30", "2026-12-11 11:00"),
        ("December 9, 14:00 until 16:00", "2026-12-09 14:00", "2026-12-09 16:00"),
        ("9 Dec 2pm to 4pm", "2026-12-09 14:00", "2026-12-09 16:00"),
        ("2030-12-05 09:00-11:30", "2030-12-05 09:00", "2030-12-05 11:30"),
    ],
)
def test_english_and_numeric_phrases(text: str, start: str, end: str) -> None:
    assert _when(text) == (start, end)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("明天早上", "no_end"),  # one moment, no end
        ("tomorrow", "no_end"),
        ("明天到后天", "no_time"),  # dates without clock times
        ("2026-12-05 09:00-11:30", "past"),
        ("今天上午8点到9点", "past"),
        ("明天25点到26点", "hours"),
        ("明天下午3点到下午2点", "hours"),
        ("blah 9am to 11am", "date"),
    ],
)
def test_what_cannot_be_a_shift_time_says_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_period(text, now=NOW, tz=TZ)
    assert error.value.reason == reason
