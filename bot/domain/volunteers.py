"""Volunteer registration rules: the resident identity number (GB 11643), phone numbers,
skills and availability. Pure: no I/O."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

from bot.domain.errors import InvalidInput
from bot.domain.local_time import local_today

# GB 11643-1999: weights of the first 17 digits, and the check character by sum mod 11.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_PHONE = re.compile(r"^1[3-9]\d{9}$")


class VolunteerStatus(StrEnum):
    PENDING = "pending"  # registered, waiting for a worker who saw the ID (实名认证)
    VERIFIED = "verified"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # consent withdrawn (/privacy) or data erased: not processed


class Skill(StrEnum):
    ELDERLY_CARE = "elderly_care"
    CHILD_CARE = "child_care"
    DISABILITY_SUPPORT = "disability_support"
    HEALTH = "health"
    PSYCHOLOGICAL = "psychological"
    COOKING = "cooking"
    REPAIRS = "repairs"
    DRIVING = "driving"
    TEACHING = "teaching"
    LEGAL = "legal"
    DIGITAL = "digital"
    CULTURE = "culture"
    # New skills go last: stored skill masks keep their bits.
    HOUSEKEEPING = "housekeeping"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PERIODS = ("am", "pm", "eve")
SLOTS = tuple(f"{day}_{period}" for day in WEEKDAYS for period in PERIODS)


def check_character(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def normalise_id_number(raw: str, *, today: date | None = None) -> str:
    """An 18-character resident identity number, checked; raises InvalidInput naming why."""
    value = raw.strip().replace(" ", "").upper()
    if not _ID_SHAPE.match(value):
        raise InvalidInput("id_number", "shape")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidInput("id_number", "birth_date") from None
    if born > (today or local_today()) or born.year < 1900:
        raise InvalidInput("id_number", "birth_date")
    if check_character(value[:17]) != value[17]:
        raise InvalidInput("id_number", "check_digit")
    return value


def may_hold_id_number(text: str) -> bool:
    """Whether a message could carry a resident ID number, even a mistyped one (15 digits or
    more in it): such a message should not stay readable in the chat."""
    return sum(c.isdigit() for c in text) >= 15


def mask_id_number(value: str) -> str:
    """Shown everywhere instead of the number: 5001**********1234."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def normalise_phone(raw: str) -> str:
    """A mainland mobile number, without +86, spaces or dashes."""
    value = re.sub(r"[\s\-()]", "", raw.strip())
    value = value.removeprefix("+86").removeprefix("0086")
    if value.startswith("86") and len(value) == 13:
        value = value[2:]
    if not _PHONE.match(value):
        raise InvalidInput("phone", "shape")
    return value


def clean_tags(raw: str) -> tuple[str, ...]:
    """Free skill tags, typed as a comma- or space-separated list."""
    parts = re.split(r"[,，、;；\s]+", raw.strip())
    return tuple(dict.fromkeys(p[:30] for p in parts if p))[:10]


def volunteer_number(code: str, sequence: int) -> str:
    return f"{code}-V-{sequence:06d}"


class SignupStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


def slot_of(moment_local_weekday: int, hour: int) -> str:
    """The availability slot a shift starting at this local weekday (0 = Monday) and hour is in."""
    period = "am" if hour < 12 else "pm" if hour < 18 else "eve"
    return f"{WEEKDAYS[moment_local_weekday]}_{period}"


_TIME_RANGE = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2})\s*[-–~至到]\s*(\d{1,2}):(\d{2})\s*$"
)


def parse_time_range(text: str) -> tuple[date, tuple[int, int], tuple[int, int]]:
    """'2026-12-05 09:00-11:30' → (date, (9, 0), (11, 30)); the end is after the start."""
    match = _TIME_RANGE.match(text)
    if not match:
        raise InvalidInput("time", "shape")
    year, month, day, h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        day_ = date(year, month, day)
    except ValueError:
        raise InvalidInput("time", "date") from None
    if not (0 <= h1 < 24 and 0 <= h2 < 24 and m1 < 60 and m2 < 60) or (h2, m2) <= (h1, m1):
        raise InvalidInput("time", "hours")
    return day_, (h1, m1), (h2, m2)
