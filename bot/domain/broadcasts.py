"""Broadcasts and the outbox: audiences, topics people can opt out of, delivery states, the
pace a channel allows, and emergency mode. Pure: no storage, no chat platform."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.errors import InvalidInput

MAX_TEXT = 3500  # leaves room for the emergency header within Telegram's 4,096 characters
MAX_CAPTION = 900  # Telegram captions stop at 1,024
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_DESCRIPTION = 300


class Topic(StrEnum):
    """What a broadcast is about; people opt out per topic, except of emergencies."""

    PROJECTS = "projects"
    SURVEYS = "surveys"
    CONSULTATIONS = "consultations"
    NEWS = "news"
    EMERGENCY = "emergency"
    SHIFTS = "shifts"  # a new shift that fits the volunteer (bot/services/shifts.py announce)


OPTIONAL_TOPICS = (Topic.PROJECTS, Topic.SURVEYS, Topic.CONSULTATIONS, Topic.NEWS, Topic.SHIFTS)


class AudienceKind(StrEnum):
    EVERYONE = "everyone"  # residents and volunteers of the communities
    RESIDENTS = "residents"
    VOLUNTEERS = "volunteers"  # verified volunteers serving the communities
    PROJECT_FIT = "project_fit"  # verified volunteers whose skills fit the project
    # A consultation's people: everyone entitled, those entitled who have not voted yet, and
    # those who took part (voted, gave an opinion, attended).
    CONSULTATION = "consultation"
    NOT_VOTED = "not_voted"
    PARTICIPANTS = "participants"
    # The group chats (楼栋群) linked to the communities: one post per group, no person.
    GROUPS = "groups"


# What a worker may choose when composing a broadcast.
COMPOSABLE = frozenset(
    {
        AudienceKind.EVERYONE,
        AudienceKind.RESIDENTS,
        AudienceKind.VOLUNTEERS,
        AudienceKind.PROJECT_FIT,
        AudienceKind.GROUPS,
    }
)

# Telegram lets a bot post about 20 messages a minute into one group.
GROUP_MESSAGES_PER_MINUTE = 20


class ButtonKind(StrEnum):
    NONE = "none"
    SIGN_UP = "sign_up"  # a project call
    ANSWER = "answer"  # a survey
    ROLL_CALL = "roll_call"  # an emergency mobilisation: I can come / I can't
    JOIN = "join"  # a consultation


TOPIC_OF_BUTTON = {
    ButtonKind.NONE: Topic.NEWS,
    ButtonKind.SIGN_UP: Topic.PROJECTS,
    ButtonKind.ANSWER: Topic.SURVEYS,
    ButtonKind.ROLL_CALL: Topic.EMERGENCY,
    ButtonKind.JOIN: Topic.CONSULTATIONS,
}


class BroadcastState(StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class DeliveryState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # handed to the platform; kept if the process dies right then
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"  # the person blocked the bot or deleted the chat
    OPTED_OUT = "opted_out"
    CANCELLED = "cancelled"
    # The process died between handing it over and hearing back: it may have arrived. It is
    # never sent again (a duplicate is worse than asking the worker to check).
    UNCERTAIN = "uncertain"
    # WeChat outside the 48-hour window: sent as a template message, or waiting in the
    # person's notice list for their next message.
    TEMPLATE = "template"
    WAITING = "waiting"


FINAL_STATES = frozenset(DeliveryState) - {DeliveryState.QUEUED, DeliveryState.SENDING}


class RollCallAnswer(StrEnum):
    COMING = "coming"
    CANNOT = "cannot"


@dataclass(frozen=True, slots=True)
class Audience:
    kind: AudienceKind
    community_ids: tuple[int, ...]
    skills: tuple[str, ...] = ()  # volunteers with any of these skills (empty: any)
    locale: str | None = None  # only people reading this language
    project_id: int | None = None
    consultation_id: int | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "communities": list(self.community_ids),
            "skills": list(self.skills),
            "locale": self.locale,
            "project": self.project_id,
            "consultation": self.consultation_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Audience:
        communities = data.get("communities") or []
        skills = data.get("skills") or []
        locale, project = data.get("locale"), data.get("project")
        consultation = data.get("consultation")
        assert isinstance(communities, list) and isinstance(skills, list)
        return cls(
            kind=AudienceKind(str(data["kind"])),
            community_ids=tuple(int(c) for c in communities),
            skills=tuple(str(s) for s in skills),
            locale=str(locale) if locale else None,
            project_id=int(str(project)) if project is not None else None,
            consultation_id=int(str(consultation)) if consultation is not None else None,
        )


def clean_text(text: str | None, limit: int = MAX_TEXT) -> str:
    """A message as typed, trimmed; too long is refused rather than cut."""
    text = (text or "").strip()
    if len(text) > limit:
        raise InvalidInput("text", "too_long")
    return text


def text_for(locale: str, text_zh: str, text_en: str) -> str:
    """Each recipient reads their own language when the worker gave both, else the one given."""
    if locale == "en" and text_en:
        return text_en
    return text_zh or text_en


@dataclass(slots=True)
class Pacer:
    """When the next message of one channel may go: at most `rate` a second over the channel
    and one a second into any one chat (or one per `interval` given for that chat: a group
    takes 20 a minute); a 429 holds the whole channel for its retry_after.

    Times are the caller's monotonic clock, so tests drive it with numbers."""

    rate: float
    per_chat_interval: float = 1.0
    _next_at: float = 0.0
    _hold_until: float = 0.0
    _last_in_chat: dict[str, float] = field(default_factory=dict)
    _recent_chats: deque[tuple[float, str]] = field(default_factory=deque)
    _longest_gap: float = 0.0

    def slot(self, now: float, chat: str, interval: float | None = None) -> float:
        """Reserve the next moment this chat may get a message (>= now) and return it;
        `interval`: the chat's own spacing (a group's), instead of `per_chat_interval`."""
        gap = self.per_chat_interval if interval is None else interval
        self._longest_gap = max(self._longest_gap, gap)
        self._forget(now)
        start = max(now, self._next_at, self._hold_until)
        last = self._last_in_chat.get(chat)
        if last is not None:
            start = max(start, last + gap)
        # Spacing by 1/rate keeps any one second under the rate (a bucket would allow bursts).
        self._next_at = start + 1.0 / self.rate
        self._last_in_chat[chat] = start
        self._recent_chats.append((start, chat))
        return start

    def ready_at(self, chat: str, interval: float | None = None) -> float:
        """The earliest moment this chat may get its next message, by its own spacing only
        (reserves nothing): a group that is not ready yet waits in the queue, not the channel."""
        last = self._last_in_chat.get(chat)
        gap = self.per_chat_interval if interval is None else interval
        return 0.0 if last is None else last + gap

    def hold(self, now: float, seconds: float) -> None:
        """The platform said "retry after": nothing goes out on this channel until then."""
        self._hold_until = max(self._hold_until, now + seconds)
        self._next_at = max(self._next_at, self._hold_until)

    def _forget(self, now: float) -> None:
        horizon = 2 * max(self.per_chat_interval, self._longest_gap)
        while self._recent_chats and self._recent_chats[0][0] < now - horizon:
            moment, chat = self._recent_chats.popleft()
            if self._last_in_chat.get(chat) == moment:
                del self._last_in_chat[chat]


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    queued: int
    sent: int
    failed: int  # failed, blocked and uncertain
    skipped: int  # opted out or cancelled

    @property
    def left(self) -> int:
        return self.queued

    def seconds_left(self, rate: float) -> int:
        return int(self.queued / rate) + (1 if self.queued else 0)


def parse_when(text: str, tz: ZoneInfo) -> datetime:
    """ "2026-12-01 09:30" in local time, as an aware datetime."""
    try:
        return datetime.strptime(" ".join(text.split()), "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    except ValueError as error:
        raise InvalidInput("time", "format") from error
