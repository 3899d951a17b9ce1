"""A period of time as people type it, in Chinese or English: "明天上午9点到11点",
"下周六下午2点半至4点", "12月9日 9:00-11:30", "tomorrow 9am to 11", "Sat 2pm - 4pm",
"2026-12-05 09:00-11:30".

The phrase is split into a start and an end at "到/至/~/–/to/until/-"; each side's clock time
is read here (Chinese hours and periods such as 上午/下午/晚上, "9点半", "9:30", "9am"), and the
date around it by a few Chinese rules (今天/明天/后天, 周六/下周二, 12月9日) with the
``dateparser`` library for the rest (English and numeric dates). The end defaults to the
start's day and to its half of the day ("下午2点到4点" ends at 16:00). Pure: no I/O; the caller
shows what was understood and asks for a confirmation.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser

from bot.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Period:
    starts_at: datetime
    ends_at: datetime


_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CN_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUMBER = "零一二两三四五六七八九十"
_AFTERNOON = {"下午", "傍晚", "晚上", "夜里", "夜间", "晚"}
_NOON = {"中午"}
_PERIOD = r"上午|早上|早晨|清晨|凌晨|中午|下午|傍晚|晚上|夜里|夜间|早|晚"
_AMPM = r"a\.m\.|p\.m\.|am|pm"

# A clock time: "9点", "上午9点半", "九点一刻", "9:30", "9am", "下午2点30分".
_TIME = re.compile(
    rf"(?P<period>{_PERIOD})?\s*(?P<hour>\d{{1,2}}|[{_CN_NUMBER}]{{1,3}})"
    rf"(?:\s*(?:点钟?|时)\s*(?P<cnmin>半|一刻|三刻|\d{{1,2}}|[{_CN_NUMBER}]{{1,3}})?\s*分?"
    rf"|\s*:\s*(?P<min>\d{{2}})"
    rf"|(?=\s*(?:{_AMPM})))"
    rf"\s*(?P<ampm>{_AMPM})?(?![a-z])"
)
# A bare hour, as the end of a range may be ("9点到11"), or "at 9".
_BARE = re.compile(rf"(?:^|\bat\s+|(?<=\s))(?P<hour>\d{{1,2}})\s*(?P<ampm>{_AMPM})?\s*$")
_SEPARATOR = re.compile(r"\s*(?:到|至|~|～|—|–|\bto\b|\buntil\b|\btill\b)\s*")
_DASH = re.compile(r"\s*-\s*")

_WEEKDAY_CN = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_WEEKDAY_CN |= {str(n): n - 1 for n in range(1, 8)}
_RELATIVE_DAYS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
_SHORTHAND = (
    ("明晚", "明天晚上"),
    ("今晚", "今天晚上"),
    ("明早", "明天早上"),
    ("今早", "今天早上"),
)
_WEEKDAY = re.compile(
    r"(?P<week>下下|下个?|这个?|本)?(?:周|星期|礼拜)(?P<day>[一二三四五六日天七1-7])"
)
_WEEKDAY_EN = re.compile(r"(?P<week>next|this)?\s*(?P<day>mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?")
_EN_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTH_DAY = re.compile(
    r"(?:(?P<year>\d{4})\s*年)?\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*[日号]?"
)
_NUMERIC = re.compile(r"(?:(?P<year>\d{4})[-/.])?(?P<month>\d{1,2})[-/.](?P<day>\d{1,2})")


def _number(text: str) -> int:
    """Arabic or small Chinese numbers: "9", "九", "十一", "二十"."""
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, units = text.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)
    if len(text) == 1 and text in _CN_DIGITS:
        return _CN_DIGITS[text]
    raise InvalidInput("time", "shape")


@dataclass(frozen=True, slots=True)
class _Clock:
    hour: int
    minute: int
    period: str | None  # 上午/下午… or am/pm as typed, None when not said

    @property
    def afternoon(self) -> bool | None:
        if self.period is None:
            return None
        return self.period in _AFTERNOON or self.period.startswith("p")

    def resolved(self, inherited_afternoon: bool | None = None) -> time:
        hour = self.hour
        afternoon = self.afternoon if self.period is not None else inherited_afternoon
        if self.period in _NOON:
            hour = hour + 12 if hour < 11 else hour
        elif afternoon and hour < 12:
            hour += 12
        elif afternoon is False and self.period in {"am", "a.m."} and hour == 12:
            hour = 0
        if not (0 <= hour < 24 and 0 <= self.minute < 60):
            raise InvalidInput("time", "hours")
        return time(hour, self.minute)


def _minutes(match: re.Match[str]) -> int:
    if match["min"]:
        return int(match["min"])
    spoken = match["cnmin"]
    if not spoken:
        return 0
    return {"半": 30, "一刻": 15, "三刻": 45}.get(spoken) or _number(spoken)


def _take_clock(side: str) -> tuple[_Clock | None, str]:
    """The clock time in one side of the range and what is left of it (the date words)."""
    matches = list(_TIME.finditer(side))
    if matches:
        found = matches[-1]
        clock = _Clock(_number(found["hour"]), _minutes(found), found["period"] or found["ampm"])
        if found["period"] and found["ampm"]:
            clock = _Clock(clock.hour, clock.minute, found["period"])
        return clock, side[: found.start()] + " " + side[found.end() :]
    bare = _BARE.search(side)
    if bare:
        return _Clock(int(bare["hour"]), 0, bare["ampm"]), side[: bare.start()]
    return None, side


def _future(month: int, day: int, year: int | None, today: date) -> date:
    try:
        found = date(year or today.year, month, day)
        if year is None and found < today:
            found = date(today.year + 1, month, day)
    except ValueError:
        raise InvalidInput("time", "date") from None
    return found


def _date(words: str, today: date) -> date:
    """The date a side names; the start's date (or today) when it names none."""
    words = re.sub(r"\b(?:at|on|from)\b|[,，的从在]", " ", words).strip()
    if not words:
        return today
    for name, days in sorted(_RELATIVE_DAYS.items(), key=lambda item: -len(item[0])):
        if words == name:
            return today + timedelta(days=days)
    weekday_match = _WEEKDAY.fullmatch(words) or _WEEKDAY_EN.fullmatch(words)
    if match := weekday_match:
        day = match["day"]
        weekday = _EN_DAYS.index(day) if day in _EN_DAYS else _WEEKDAY_CN[day]
        week = {"next": "下", "this": "这"}.get(match["week"] or "", match["week"] or "")
        monday = today - timedelta(days=today.weekday())
        if week.startswith("下下"):
            return monday + timedelta(days=14 + weekday)
        if week.startswith("下"):
            return monday + timedelta(days=7 + weekday)
        found = monday + timedelta(days=weekday)
        return found if found >= today or week else found + timedelta(days=7)
    if match := _MONTH_DAY.fullmatch(words) or _NUMERIC.fullmatch(words):
        year = int(match["year"]) if match["year"] else None
        return _future(int(match["month"]), int(match["day"]), year, today)
    parsed: datetime | None = dateparser.parse(
        words,
        languages=["en", "zh"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": datetime.combine(today, time(0)),
            "REQUIRE_PARTS": ["day"],
        },
    )
    if parsed is None:
        raise InvalidInput("time", "date")
    return parsed.date()


def _split(text: str) -> tuple[str, str]:
    parts = _SEPARATOR.split(text, maxsplit=1)
    if len(parts) == 2:
        return parts[0], parts[1]
    # A dash is also inside dates (2026-12-05): split at the last one whose right side is a
    # clock time alone.
    for match in reversed(list(_DASH.finditer(text))):
        right = text[match.end() :]
        clock, rest = _take_clock(right)
        if clock is not None and not rest.strip():
            return text[: match.start()], right
    raise InvalidInput("time", "no_end")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    for short, long in _SHORTHAND:
        text = text.replace(short, long)
    return re.sub(r"\s+", " ", text)


def parse_period(text: str, *, now: datetime, tz: ZoneInfo) -> Period:
    """The start and end a phrase names, timezone-aware in ``tz``. Raises InvalidInput with
    reason "no_end" (one moment, no end), "no_time" (a date, no clock time), "date" (the date
    is not understood), "hours" (the end is not after the start, or over 24 hours), or "past"
    (it starts before ``now``)."""
    today = now.astimezone(tz).date()
    left, right = _split(_normalise(text))
    start_clock, start_words = _take_clock(left)
    end_clock, end_words = _take_clock(right)
    if start_clock is None or end_clock is None:
        raise InvalidInput("time", "no_time")
    start_day = _date(start_words, today)
    end_day = _date(end_words, start_day) if end_words.strip() else start_day
    start_time = start_clock.resolved()
    end_time = end_clock.resolved(start_clock.afternoon)
    if end_clock.period is None and end_day == start_day and end_time <= start_time:
        later = end_time.hour + 12
        if later < 24 and time(later, end_time.minute) > start_time:  # "10am to 2" → 14:00
            end_time = time(later, end_time.minute)
    starts_at = datetime.combine(start_day, start_time, tzinfo=tz)
    ends_at = datetime.combine(end_day, end_time, tzinfo=tz)
    if ends_at <= starts_at or ends_at - starts_at > timedelta(hours=24):
        raise InvalidInput("time", "hours")
    if starts_at <= now:
        raise InvalidInput("time", "past")
    return Period(starts_at, ends_at)


def parse_day(text: str, *, now: datetime, tz: ZoneInfo) -> date:
    """A day in words ("下周五", "12月20日", "2026-12-20", "next Friday"), not in the past."""
    words = _normalise(text)
    if not words:
        raise InvalidInput("time", "date")
    day = _date(words, now.astimezone(tz).date())
    if day < now.astimezone(tz).date():
        raise InvalidInput("time", "past")
    return day


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """A deadline "by that day": the midnight after it, local time."""
    return datetime.combine(day + timedelta(days=1), time(0), tz)
