"""Check-in and check-out rules: where (distance to the shift's place), when (the window around
the shift), how long counts (clamped to the shift, so a forgotten check-out cannot inflate
hours), and the rotating site code an organiser shows at the place. Pure: no I/O."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.errors import InvalidInput

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
CHECK_IN_EARLY = timedelta(minutes=30)  # the door opens half an hour before the start
CHECK_OUT_GRACE = timedelta(minutes=30)  # after the end: check out, else closed as unconfirmed
SITE_CODE_PERIOD = timedelta(minutes=5)  # a new code every five minutes
SITE_CODE_LENGTH = 6
# Unambiguous letters and digits (no 0/O, 1/I): read aloud and typed from a poster.
SITE_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
EXPIRED_CODE_WINDOWS = 12  # an hour of old codes is recognised as "expired", not "wrong"
MIN_STAY = timedelta(minutes=5)  # a second scan within this is a double scan, not a check-out


class RecordStatus(StrEnum):
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"  # waiting for the organiser to confirm
    UNCONFIRMED = "unconfirmed"  # check-out forgotten: closed at the end, organiser decides
    CONFIRMED = "confirmed"  # counts: credited in the time bank and for certificates
    FAILED = "failed"  # a spot check found it wrong: reversed


AWAITING_ORGANISER = (RecordStatus.CHECKED_OUT, RecordStatus.UNCONFIRMED)


class CheckMethod(StrEnum):
    LOCATION = "location"
    SITE_CODE = "site_code"
    AUTO_CLOSED = "auto_closed"


class CodeCheck(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    WRONG = "wrong"


@dataclass(frozen=True, slots=True)
class Window:
    """When a shift accepts check-ins and check-outs."""

    starts_at: datetime
    ends_at: datetime

    @property
    def check_in_opens(self) -> datetime:
        return self.starts_at - CHECK_IN_EARLY

    @property
    def check_out_closes(self) -> datetime:
        return self.ends_at + CHECK_OUT_GRACE

    def check_in_open(self, at: datetime) -> bool:
        return self.check_in_opens <= at < self.ends_at

    def check_out_open(self, at: datetime) -> bool:
        return at < self.check_out_closes

    def served_minutes(self, checked_in: datetime, checked_out: datetime) -> int:
        """Whole minutes inside the shift: early arrival and late departure do not count."""
        start = max(checked_in, self.starts_at)
        end = min(checked_out, self.ends_at)
        return max(0, int((end - start).total_seconds() // 60))

    @property
    def length_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine); metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def valid_coordinates(latitude: float, longitude: float) -> bool:
    return -90 <= latitude <= 90 and -180 <= longitude <= 180


def code_window(at: datetime, period: timedelta = SITE_CODE_PERIOD) -> int:
    return int(at.timestamp() // period.total_seconds())


def window_ends(window: int, period: timedelta = SITE_CODE_PERIOD) -> float:
    """The epoch second at which a window's code stops being the newest."""
    return (window + 1) * period.total_seconds()


def code_from_digest(digest: bytes, length: int = SITE_CODE_LENGTH) -> str:
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(SITE_CODE_ALPHABET))
        chars.append(SITE_CODE_ALPHABET[index])
    return "".join(chars)


def normalise_code(text: str) -> str:
    """What people type: lower case and spaces are fine."""
    return "".join(text.split()).upper()


def looks_like_code(text: str) -> bool:
    code = normalise_code(text)
    return len(code) == SITE_CODE_LENGTH and code.isalnum() and code.isascii()


def classify_code(given: str, code_for_window: dict[int, str], current: int) -> CodeCheck:
    """`code_for_window` holds the codes of the current window and earlier ones.

    The current and the previous window are valid (so a code shown a moment before it rotates
    still works); older ones within an hour are "expired"; anything else is wrong.
    """
    code = normalise_code(given)
    if code in (code_for_window.get(current), code_for_window.get(current - 1)):
        return CodeCheck.VALID
    older = (code_for_window.get(current - n) for n in range(2, EXPIRED_CODE_WINDOWS + 1))
    return CodeCheck.EXPIRED if code in older else CodeCheck.WRONG


class CorrectionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class SpotResult(StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"


MAX_SAMPLE = 50


def draw_sample(record_ids: list[int], seed: int, size: int) -> list[int]:
    """A reproducible random sample: the same ids (in id order) and seed give the same draw."""
    population = sorted(record_ids)
    chosen = random.Random(seed).sample(population, min(size, len(population)))
    return sorted(chosen)


def parse_hours(text: str) -> int:
    """Hours as people write them: "2", "2.5", "2:30" (or with 小时/h); whole minutes back."""
    cleaned = text.strip().lower().replace("：", ":").replace("小时", "").replace("h", "").strip()
    if cleaned.startswith(("-", "+")):
        raise InvalidInput("hours", "format")
    try:
        if ":" in cleaned:
            hours_part, minutes_part = cleaned.split(":", 1)
            hours, minutes = int(hours_part or "0"), int(minutes_part)
            if not 0 <= minutes < 60:
                raise ValueError
            total = hours * 60 + minutes
        else:
            total = round(float(cleaned) * 60)
    except (ValueError, OverflowError):
        raise InvalidInput("hours", "format") from None
    if not 0 <= total <= 24 * 60:
        raise InvalidInput("hours", "range")
    return total
