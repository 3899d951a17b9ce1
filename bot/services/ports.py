"""Ports to the outside world that services talk through (implemented next to the handlers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Notice:
    """A message to someone other than the person acting: a message id and its parameters,
    rendered later in the recipient's own language. `actions` name the buttons it carries."""

    person_id: int
    message: str
    params: Mapping[str, str | int] = field(default_factory=dict)
    actions: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Sending:
    """The notice being sent right now, for a channel that sends notices its own way (WeChat
    template messages outside the 48-hour window): its kind (the notice's message id) and
    the template's heading and remark, already in the recipient's language."""

    kind: str
    heading: str
    remark: str


sending: ContextVar[Sending | None] = ContextVar("sending", default=None)

# The kind a broadcast goes as outside WeChat's 48-hour window (WECHAT_TEMPLATES key).
BROADCAST_KIND = "broadcast"


@dataclass(slots=True)
class Outcome:
    """How a channel delivered what the outbox handed it, for the author's report: `sent`,
    or on WeChat outside the 48-hour window `template` (a template message) or `waiting`
    (in the person's notice list for their next message). The sender sets one per row."""

    how: str = "sent"


outcome: ContextVar[Outcome | None] = ContextVar("outcome", default=None)


class Notifier(Protocol):
    async def send(self, notices: Sequence[Notice]) -> None: ...


class RecordingNotifier:
    """Keeps what would have been sent (tests, and the CLI where nobody is listening)."""

    def __init__(self) -> None:
        self.sent: list[Notice] = []

    async def send(self, notices: Sequence[Notice]) -> None:
        self.sent.extend(notices)
