"""Files that hold secrets or personal data — the generated SECRET_KEY, the SQLite database —
are created owner-only from the first byte: never written first and chmod-ed after (another
user could open them in between), whatever the process umask is."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path, *, tighten: bool = False) -> None:
    """Create `path` (and missing parents) owner-only; with `tighten`, an existing directory
    of ours readable by others (made by an older version) is made owner-only too."""
    if not path.exists():
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    elif tighten:
        tighten_mode(path, PRIVATE_DIR)


def tighten_mode(path: Path, mode: int) -> None:
    """Drop group and other permissions of an existing file or directory (best effort: a file
    owned by someone else stays as it is)."""
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            path.chmod(mode)


def create_private_file(path: Path, content: bytes = b"") -> bool:
    """Create `path` with mode 0600 holding `content`, atomically: it appears complete or not
    at all, and when two processes race, the first one's file wins. False if it existed."""
    if path.exists():
        return False
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)  # fails if another process created it meanwhile
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def private_sqlite_file(path: Path) -> None:
    """The SQLite database file created empty and owner-only before SQLite opens it (SQLite
    gives its -wal and -shm files the database file's mode); an existing one made readable by
    others by an older version is tightened, with its -wal and -shm files."""
    private_dir(path.parent)
    if not create_private_file(path):
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if file.exists():
                tighten_mode(file, PRIVATE_FILE)
