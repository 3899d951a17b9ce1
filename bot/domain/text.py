"""Text as it enters the bot, made storable: PostgreSQL refuses NUL characters in text and
no driver can encode a lone UTF-16 surrogate, so either would lose the whole message at the
first write. Both are removed where text enters (every chat channel and the HTTP API); the
rest of what the person typed is kept as it is."""

from __future__ import annotations

import re
from typing import Any

# NUL, and surrogates that do not form a pair (Python strings hold code points, so any
# surrogate left in a str is a lone one: a JSON "\ud83d" without its partner).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(text: str) -> str:
    """The text without NUL and lone surrogates (unchanged, and fast, when it has none)."""
    return _UNSTORABLE.sub("", text)


def clean_tree(value: Any) -> Any:
    """Every string in a JSON-like structure (dicts, lists), keys included, cleaned."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_tree(k): clean_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_tree(v) for v in value]
    return value


def needs_cleaning(value: Any) -> bool:
    """True when some string in a JSON-like structure holds NUL or a lone surrogate."""
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(needs_cleaning(k) or needs_cleaning(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(needs_cleaning(v) for v in value)
    return False
