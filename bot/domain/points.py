"""Points (积分): earned for confirmed service at a configurable rate, spent on rewards that
organisations and donors stock. Points are not hours and not the legal service record: they
are kept in their own append-only list. Pure: no I/O."""

from __future__ import annotations

import secrets
from enum import StrEnum

DEFAULT_POINTS_PER_HOUR = 10
HANDOVER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
HANDOVER_CODE_LENGTH = 8


class PointsKind(StrEnum):
    EARNED = "earned"  # for a confirmed service record
    REVERSED = "reversed"  # the record failed a spot check or was corrected
    REDEEMED = "redeemed"  # reserved for a reward
    REFUNDED = "refunded"  # a reservation was cancelled


class RedemptionStatus(StrEnum):
    RESERVED = "reserved"
    HANDED_OVER = "handed_over"
    CANCELLED = "cancelled"


def points_for(minutes: int, per_hour: int) -> int:
    """Whole points for whole minutes, rounded down: 45 min at 10/h is 7 points."""
    if minutes <= 0 or per_hour <= 0:
        return 0
    return minutes * per_hour // 60


def new_handover_code() -> str:
    return "".join(secrets.choice(HANDOVER_CODE_ALPHABET) for _ in range(HANDOVER_CODE_LENGTH))
