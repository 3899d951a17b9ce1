"""What a web chat's transcript holds and the port of the store that keeps it: the page events,
the bot's messages (with their buttons), menus and files. bot/channels/webchat.py keeps them in
memory for tests; storage/repositories/webchat.py in the database, so a restart or another
process loses nothing. Pure shapes and limits, so that storage implements this port without
importing the channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

MAX_EVENTS_KEPT = 500
MAX_MESSAGES_KEPT = 300


@dataclass
class StoredFile:
    chat_id: int
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Published:
    seq: int
    message_id: int | None


class FileStore(Protocol):
    """Where files people send are kept (every process sees them)."""

    async def put_file(self, token: str, stored: StoredFile) -> None: ...

    async def file(self, token: str) -> StoredFile | None: ...


class TranscriptStore(Protocol):
    """Where web chats live: their page events (in order), the bot's messages (with their
    buttons, which taps are checked against), their menus and their files. The memory store
    serves tests; the bot process keeps them in the database (storage/webchat.py), so a restart
    or another process loses nothing."""

    async def publish(
        self,
        chat_id: int,
        event: dict[str, Any],
        *,
        new_message: bool = False,
        message: dict[str, Any] | None = None,
        forget_message: int | None = None,
        client_id: str | None = None,
    ) -> Published | None:
        """Append an event (seq allocated here). `new_message` allocates a message id and puts
        it into the event and `message`; `message` is stored (or replaced); `forget_message`
        removes a stored bot message. None when `client_id` was already published."""
        ...

    async def since(self, chat_id: int, after: int) -> tuple[list[dict[str, Any]], int]:
        """The events after `after` (oldest first), and the chat's last seq."""
        ...

    async def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None: ...

    async def redact(self, chat_id: int, message_id: int, html_text: str) -> bool:
        """Replace what a person wrote (or sent) in their message; False if there is none."""
        ...

    async def set_commands(self, chat_id: int, commands: list[dict[str, str]]) -> None: ...

    async def commands(self, chat_id: int) -> list[dict[str, str]] | None: ...

    async def put_file(self, token: str, stored: StoredFile) -> None: ...

    async def file(self, token: str) -> StoredFile | None: ...


def redact_event(event: dict[str, Any], html_text: str) -> None:
    """What the person wrote or sent is gone from the event; a placeholder stands in."""
    event.update(type="message", html=html_text, redacted=True)
    for key in ("url", "filename", "caption_html"):
        event.pop(key, None)
