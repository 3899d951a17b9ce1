"""Community consultations (协商议事): phases by time, seats of the five actors, ballots (one
per person, changeable until voting closes, anonymous ones keyed so no screen can name the
voter), and the tally — turnout among the entitled and per actor group. Pure."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.errors import InvalidInput

MAX_TITLE = 120
MAX_BACKGROUND = 3000
MAX_OPINION = 1000
MAX_OPTIONS = 8
MAX_OPTION = 100
MAX_DAYS = 60
REMINDER_BEFORE = timedelta(hours=24)


class Actor(StrEnum):
    """Whom a participant stands for (the five actors, and residents)."""

    RESIDENT = "resident"
    SOCIAL_WORKER = "social_worker"
    ORGANISATION = "organisation"
    VOLUNTEER = "volunteer"
    CHARITY = "charity"
    COMMUNITY = "community"  # community workers and the party organisation


INVITED_ACTORS = (Actor.SOCIAL_WORKER, Actor.ORGANISATION, Actor.VOLUNTEER, Actor.CHARITY)


class Phase(StrEnum):
    DISCUSSION = "discussion"
    VOTING = "voting"
    COUNTING = "counting"  # voting is over, not yet closed by the worker
    CLOSED = "closed"  # results frozen, the decision is awaited
    DECIDED = "decided"


@dataclass(frozen=True, slots=True)
class Schedule:
    opened_at: datetime
    discussion_ends_at: datetime
    voting_ends_at: datetime

    def phase(self, now: datetime, *, closed: bool, decided: bool, has_vote: bool) -> Phase:
        if decided:
            return Phase.DECIDED
        if closed:
            return Phase.CLOSED
        if now < self.discussion_ends_at:
            return Phase.DISCUSSION
        if has_vote and now < self.voting_ends_at:
            return Phase.VOTING
        return Phase.COUNTING

    @property
    def reminder_at(self) -> datetime:
        """One reminder before voting closes: a day before, or half-way for short votes."""
        length = self.voting_ends_at - self.discussion_ends_at
        return self.voting_ends_at - min(REMINDER_BEFORE, length / 2)


def schedule(opened_at: datetime, discussion_days: int, voting_days: int) -> Schedule:
    if not 1 <= discussion_days <= MAX_DAYS or not 0 <= voting_days <= MAX_DAYS:
        raise InvalidInput("days", "range")
    discussion_ends = opened_at + timedelta(days=discussion_days)
    return Schedule(opened_at, discussion_ends, discussion_ends + timedelta(days=voting_days))


def clean(text: str | None, limit: int, field: str) -> str:
    text = " ".join((text or "").split()) if limit <= MAX_OPTION else (text or "").strip()
    if not text:
        raise InvalidInput(field, "empty")
    if len(text) > limit:
        raise InvalidInput(field, "too_long")
    return text


def parse_options(text: str) -> list[str]:
    """One option a line; "-" alone (or nothing) means an open discussion without a vote."""
    lines = [" ".join(line.split()).lstrip("-•· ").strip() for line in text.splitlines()]
    options = [line for line in lines if line]
    if options == [] or text.strip() == "-":
        return []
    if len(options) < 2 or len(options) > MAX_OPTIONS:
        raise InvalidInput("options", "count")
    if any(len(o) > MAX_OPTION for o in options) or len(set(options)) != len(options):
        raise InvalidInput("options", "text")
    return options


def voter_key(secret: bytes, consultation_id: int, person_id: int, anonymous: bool) -> str:
    """What a ballot is stored under: for a named vote the person's id; for an anonymous one a
    keyed hash, so that one person has one ballot (and can change it) while no screen, export
    or query without the server's key can tell whose it is."""
    if not anonymous:
        return f"p{person_id}"
    message = f"consultation-ballot:{consultation_id}:{person_id}".encode()
    return "h" + hmac.new(secret, message, hashlib.sha256).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class Ballot:
    option_id: int
    actor: Actor


@dataclass(frozen=True, slots=True)
class Tally:
    per_option: dict[int, int]
    per_actor: dict[Actor, int]  # ballots per actor group
    entitled_per_actor: dict[Actor, int]
    ballots: int
    entitled: int
    assisted: int

    @property
    def turnout(self) -> float:
        return self.ballots / self.entitled if self.entitled else 0.0

    def turnout_of(self, actor: Actor) -> float:
        entitled = self.entitled_per_actor.get(actor, 0)
        return self.per_actor.get(actor, 0) / entitled if entitled else 0.0


def tally(
    option_ids: Sequence[int],
    ballots: Iterable[Ballot],
    entitled: Counter[Actor],
    assisted: int = 0,
) -> Tally:
    """Counts per option (every option present, zeros included), per actor, and turnout."""
    per_option = dict.fromkeys(option_ids, 0)
    per_actor: Counter[Actor] = Counter()
    count = 0
    for ballot in ballots:
        if ballot.option_id in per_option:
            per_option[ballot.option_id] += 1
            per_actor[ballot.actor] += 1
            count += 1
    return Tally(
        per_option=per_option,
        per_actor=dict(per_actor),
        entitled_per_actor=dict(entitled),
        ballots=count,
        entitled=sum(entitled.values()),
        assisted=assisted,
    )
