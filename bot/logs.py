"""Logging that stays readable through an outage: the same warning or error repeated (same
logger, same message template, same exception type) is written once per window,
and the next time after the window with how many were held back."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_KEYS = 1000


class RepeatFilter(logging.Filter):
    """`is_outage` names errors that mean a service is unreachable (the database): they are
    written as one line, without the traceback (it says nothing new), and counted as one."""

    def __init__(
        self,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        is_outage: Callable[[BaseException], bool] = lambda error: False,
    ) -> None:
        super().__init__()
        self.window = window
        self.clock = clock
        self.is_outage = is_outage
        self._lock = threading.Lock()
        # key -> (time it was last written, repeats held back since)
        self._seen: OrderedDict[tuple[object, ...], tuple[float, int]] = OrderedDict()

    def key(self, record: logging.LogRecord) -> tuple[object, ...]:
        exc = record.exc_info[1] if record.exc_info else None
        kind = None
        if exc is not None:
            # The type, not the text: texts carry ports, ids and times that differ each time.
            kind = "outage" if self.is_outage(exc) else type(exc).__name__
        return (record.name, record.levelno, str(record.msg), kind)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = self.key(record)
        now = self.clock()
        with self._lock:
            seen = self._seen.pop(key, None)
            if seen is not None and now - seen[0] < self.window:
                self._seen[key] = (seen[0], seen[1] + 1)
                return False
            self._seen[key] = (now, 0)
            while len(self._seen) > MAX_KEYS:
                self._seen.popitem(last=False)
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and self.is_outage(exc):
            first_line = (str(exc).strip().splitlines() or [""])[0][:200]
            record.msg = f"{record.msg} [unreachable: {type(exc).__name__}: {first_line}]"
            record.exc_info = None
            record.exc_text = None
        if seen is not None and seen[1]:
            held = f"[repeated {seen[1]} more times in the last {self.window:.0f} s]"
            record.msg = f"{record.msg} {held}"
        return True


class CancelledCloseFilter(logging.Filter):
    """A connection the pool closes while its task is being cancelled (a request cut off at
    shutdown) raises CancelledError inside the close; SQLAlchemy logs it with a traceback that
    says nothing: the connection is discarded all the same. One line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, asyncio.CancelledError) and record.name.startswith("sqlalchemy.pool"):
            record.msg = f"{record.msg} [cancelled: the connection is discarded]"
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = None
            record.exc_text = None
        return True


def install(
    window: float = 60.0, is_outage: Callable[[BaseException], bool] = lambda error: False
) -> RepeatFilter:
    """On every handler of the root logger (call after logging.basicConfig)."""
    repeat = RepeatFilter(window, is_outage=is_outage)
    cancelled = CancelledCloseFilter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(cancelled)
        handler.addFilter(repeat)
    return repeat
