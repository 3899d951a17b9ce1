"""Residents' needs (诉求): categories, urgency, the honest state machine, deadlines, similarity.

Pure rules: no I/O, no framework."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.domain.errors import Conflict


class NeedCategory(StrEnum):
    HOME_REPAIR = "home_repair"  # 维修: the volunteer skill "repairs"
    HOUSEKEEPING = "housekeeping"  # 家政: the volunteer skill "housekeeping"
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


_WORD = re.compile(r"[a-z0-9]+")


def grams(text: str) -> frozenset[str]:
    """Character bigrams for Chinese, words for Latin text: no segmenter needed."""
    lowered = text.lower()
    words = set(_WORD.findall(lowered))
    han = [ch for ch in lowered if "\u4e00" <= ch <= "\u9fff"]
    return frozenset(words | {a + b for a, b in itertools.pairwise(han)})


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of bigrams/words, 0..1."""
    return jaccard(grams(a), grams(b))


def jaccard(ga: frozenset[Any], gb: frozenset[Any]) -> float:
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / len(ga | gb)


# Words a resident uses for each kind of need, to guess a category from a description typed
# where the category was asked (shared places before homes: "楼道灯坏了" is the community's,
# "水管坏了" a home repair). The first category with a word in the text wins; a guess is
# always shown and can be changed.
CATEGORY_WORDS: tuple[tuple[NeedCategory, tuple[str, ...]], ...] = (
    (
        NeedCategory.COMMUNITY_AFFAIRS,
        (
            "楼道",
            "路灯",
            "垃圾",
            "停车",
            "噪音",
            "物业",
            "电梯",
            "小区",
            "绿化",
            "stairwell",
            "street light",
            "rubbish",
            "garbage",
            "parking",
            "noise",
            "lift",
        ),
    ),
    (
        NeedCategory.HOME_REPAIR,
        (
            "维修",
            "修理",
            "修一下",
            "修不好",
            "坏了",
            "漏水",
            "水管",
            "水龙头",
            "马桶",
            "下水道",
            "堵了",
            "电灯",
            "灯泡",
            "跳闸",
            "插座",
            "门锁",
            "窗户",
            "热水器",
            "空调",
            "repair",
            "fix",
            "broken",
            "leak",
            "leaking",
            "pipe",
            "tap",
            "toilet",
            "blocked",
            "light bulb",
            "socket",
            "lock",
        ),
    ),
    (
        NeedCategory.HOUSEKEEPING,
        (
            "家政",
            "保洁",
            "打扫",
            "扫地",
            "擦窗",
            "洗衣",
            "做饭",
            "做家务",
            "家务",
            "搬家",
            "housekeeping",
            "cleaning",
            "clean",
            "laundry",
            "cook",
            "cooking",
            "housework",
        ),
    ),
    (
        NeedCategory.CHILD_CARE,
        ("孩子", "小孩", "儿童", "娃", "留守", "作业", "child", "children", "kid", "kids"),
    ),
    (
        NeedCategory.DISABILITY,
        ("残疾", "残障", "轮椅", "盲人", "聋", "disabled", "disability", "wheelchair", "blind"),
    ),
    (
        NeedCategory.PSYCHOLOGICAL,
        (
            "心情",
            "孤独",
            "焦虑",
            "抑郁",
            "难过",
            "睡不着",
            "想不开",
            "聊聊天",
            "陪我说话",
            "lonely",
            "anxious",
            "depressed",
            "sad",
            "talk to",
        ),
    ),
    (
        NeedCategory.SOCIAL_ASSISTANCE,
        (
            "低保",
            "救助",
            "补助",
            "困难户",
            "没钱",
            "吃不上饭",
            "申请补贴",
            "医保",
            "allowance",
            "subsidy",
            "benefit",
            "no money",
        ),
    ),
    (
        NeedCategory.ELDERLY_CARE,
        (
            "老人",
            "老伴",
            "老年",
            "养老",
            "助餐",
            "陪护",
            "陪同",
            "看病",
            "买药",
            "独居",
            "摔倒",
            "elderly",
            "old man",
            "old woman",
            "grandma",
            "grandpa",
            "carer",
        ),
    ),
)


def guess_category(text: str) -> NeedCategory | None:
    """The category a description most likely belongs to, or None when no word fits."""
    lowered = text.lower()
    latin = set(_WORD.findall(lowered))
    for category, words in CATEGORY_WORDS:
        for word in words:
            if word.isascii():
                if (" " in word and word in lowered) or word in latin:
                    return category
            elif word in lowered:
                return category
    return None


# What people type to open a conversation, not to describe a problem.
SMALL_TALK = (
    "你好",
    "您好",
    "你们好",
    "大家好",
    "哈喽",
    "嗨",
    "在吗",
    "在不在",
    "有人吗",
    "有人在吗",
    "早上好",
    "上午好",
    "中午好",
    "下午好",
    "晚上好",
    "早安",
    "谢谢你们",
    "谢谢您",
    "谢谢你",
    "谢谢",
    "好的",
    "请问",
    "你是谁",
    "你们是做什么的",
    "这是什么",
    "怎么用",
    "开始",
    "hello there",
    "hi there",
    "hello",
    "hi",
    "hey",
    "good morning",
    "good afternoon",
    "good evening",
    "thanks",
    "thank you",
    "ok",
    "who are you",
    "what is this",
    "how does this work",
    "start",
)
_SMALL_TALK = re.compile(
    "|".join(
        rf"(?<![a-z]){re.escape(w)}(?![a-z])" if w.isascii() else re.escape(w)
        for w in sorted(SMALL_TALK, key=len, reverse=True)
    )
)
_FILLER = re.compile(r"[\W_\d]+|[啊呀吧呢吗嘛哦噢喔哈嗯么的了]")


def is_small_talk(text: str) -> bool:
    """A greeting or a question about the bot, with nothing a request could be made of."""
    rest = _FILLER.sub("", _SMALL_TALK.sub(" ", text.lower()))
    return len(rest) < 2


# A photo a city app gave by its address (kept as "url:<https address>"), beside the photos
# sent in chat ("<channel>:<file id>", handlers/common/capabilities.py).
PHOTO_URL_PREFIX = "url:"


def photo_of_url(url: str | None) -> str | None:
    return None if url is None else PHOTO_URL_PREFIX + url


def photo_url(reference: str | None) -> str | None:
    """The address of a photo kept by its address; None for a chat photo or none."""
    if reference is None or not reference.startswith(PHOTO_URL_PREFIX):
        return None
    return reference.removeprefix(PHOTO_URL_PREFIX)
