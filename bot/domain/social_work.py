"""Social work: the talent pipeline (三.(五): training, the qualification certificate) and the
three-level service system (二, 三.(三): district centre, street stations, community rooms).
Pure vocabulary and rules; the records are in storage, the use cases in bot/services."""

from __future__ import annotations

from enum import StrEnum

from bot.domain.errors import InvalidInput

# The policy's baseline for "double the number of charity organisations": the end of the
# 13th Five-Year Plan (“十三五”末). A district may set another year.
DEFAULT_BASELINE_YEAR = 2020
FIRST_EXAM_YEAR = 2008  # the national social-work exam started in 2008


class ShiftKind(StrEnum):
    """A shift is volunteer service; a training session is posted and attended the same way
    but its hours are training hours (never time-bank credit)."""

    SERVICE = "service"
    TRAINING = "training"


class CertificateLevel(StrEnum):
    ASSISTANT = "assistant"  # 助理社会工作师
    SOCIAL_WORKER = "social_worker"  # 社会工作师
    SENIOR = "senior"  # 高级社会工作师


class CertificateState(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class ServiceLevel(StrEnum):
    """The three levels: 区县社会工作指导中心, 街道（乡镇）社工站, 社区（村）社工室."""

    CENTRE = "centre"
    STATION = "station"
    ROOM = "room"


def check_exam_year(year: int, this_year: int) -> int:
    if not FIRST_EXAM_YEAR <= year <= this_year:
        raise InvalidInput("exam_year", "range")
    return year


def check_baseline_year(year: int, this_year: int) -> int:
    if not 2000 <= year <= this_year:
        raise InvalidInput("baseline_year", "range")
    return year


def coverage_target(year: int, by_2022: float, from_2023: float) -> float:
    """70% by the end of 2022, 100% by the end of 2023 (and after)."""
    return by_2022 if year <= 2022 else from_2023


def certified_needed(workers: int, certified: int, share: float) -> int:
    """How many more community workers must hold the certificate to reach the share."""
    need = -(-round(workers * share * 1000) // 1000)  # ceil without float noise
    return max(0, need - certified)
