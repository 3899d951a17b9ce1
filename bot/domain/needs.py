"""Residents' needs (诉求): categories, urgency, the honest state machine, deadlines, similarity.

Pure rules: no I/O, no framework."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.errors import Conflict


class NeedCategory(StrEnum):
    ELDERLY_CARE = "elderly_care"  # 养老服务
    CHILD_CARE = "child_care"  # 儿童关爱
    DISABILITY = "disability"  # 助残
    SOCIAL_ASSISTANCE = "social_assistance"  # 社会救助
    PSYCHOLOGICAL = "psychological"  # 心理疏导 / 情绪支持
    COMMUNITY_AFFAIRS = "community_affairs"  # 社区治理 / 社会事务
    OTHER = "other"


class Urgency(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"
    CAN_WAIT = "can_wait"


class Beneficiary(StrEnum):
    SELF = "self"
    FAMILY = "family"
    NEIGHBOUR = "neighbour"


class NeedState(StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    REFERRED = "referred"
    REJECTED = "rejected"


class ClosureReason(StrEnum):
    """Why a need is closed: closed is not the same as fixed."""

    CONFIRMED_SOLVED = "confirmed_solved"  # the resident said it is solved
    NOT_CONFIRMED = "not_confirmed"  # resolved, the resident never answered
    REFERRED = "referred"  # handed to an outside department
    NOT_SOLVABLE = "not_solvable"
    OUT_OF_SCOPE = "out_of_scope"


S = NeedState
TRANSITIONS: dict[NeedState, frozenset[NeedState]] = {
    S.NEW: frozenset({S.ACCEPTED, S.ASSIGNED, S.REFERRED, S.REJECTED}),
    S.ACCEPTED: frozenset({S.ASSIGNED, S.REFERRED, S.REJECTED, S.RESOLVED}),
    S.ASSIGNED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.ACCEPTED, S.RESOLVED, S.REFERRED}),
    S.IN_PROGRESS: frozenset({S.ASSIGNED, S.ACCEPTED, S.RESOLVED, S.REFERRED}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.REOPENED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.ACCEPTED, S.RESOLVED, S.REFERRED}),
    S.REFERRED: frozenset({S.CLOSED}),
    S.REJECTED: frozenset(),
    S.CLOSED: frozenset(),
}
OPEN_STATES = frozenset({S.NEW, S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS, S.REOPENED})
# Deadlines run while someone owes the resident an answer.
DEADLINE_STATES = OPEN_STATES


def check_transition(current: NeedState, target: NeedState) -> None:
    if target not in TRANSITIONS[current]:
        raise Conflict(f"need_transition:{current.value}->{target.value}")


DEFAULT_DUE_HOURS = {Urgency.URGENT: 24, Urgency.NORMAL: 72, Urgency.CAN_WAIT: 24 * 7}
REOPEN_WINDOW = timedelta(days=14)


def due_at(
    created: datetime, urgency: Urgency, hours: dict[Urgency, int] | None = None
) -> datetime:
    return created + timedelta(hours=(hours or DEFAULT_DUE_HOURS)[urgency])


def reminder_at(created: datetime, due: datetime) -> datetime:
    """Remind the assignee when a fifth of the time is left (at least one hour before)."""
    lead = max((due - created) / 5, timedelta(hours=1))
    return due - lead


def reference(code: str, year: int, number: int) -> str:
    return f"{code}-{year}-{number:05d}"


# Words that mean "call the emergency services now" (the bot is not one).
EMERGENCY_WORDS = (
    "着火",
    "失火",
    "火灾",
    "起火",
    "冒烟",
    "煤气泄漏",
    "燃气泄漏",
    "抢劫",
    "打劫",
    "行凶",
    "杀人",
    "砍人",
    "家暴",
    "绑架",
    "救命",
    "晕倒",
    "昏迷",
    "不省人事",
    "心脏病",
    "中风",
    "大出血",
    "呼吸困难",
    "溺水",
    "触电",
    "fire",
    "smoke",
    "gas leak",
    "robbery",
    "assault",
    "stabbed",
    "help me",
    "unconscious",
    "heart attack",
    "stroke",
    "bleeding",
    "can't breathe",
    "drowning",
)


def looks_like_emergency(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in EMERGENCY_WORDS)


_WORD = re.compile(r"[a-z0-9]+")


def _grams(text: str) -> set[str]:
    """Character bigrams for Chinese, words for Latin text: no segmenter needed."""
    lowered = text.lower()
    grams = set(_WORD.findall(lowered))
    han = [ch for ch in lowered if "\u4e00" <= ch <= "\u9fff"]
    grams |= {a + b for a, b in itertools.pairwise(han)}
    return grams


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of bigrams/words, 0..1."""
    ga, gb = _grams(a), _grams(b)
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / len(ga | gb)
