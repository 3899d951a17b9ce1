"""The generated secret key, var/ and the SQLite database are owner-only from their first byte."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import secret_key
from bot.config import load_settings
from storage.db import make_engine


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most systems run with (022): what is not asked for is world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def no_chmod_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails the old way of making a file private: writing it first, chmod-ing it after."""

    def refuse(self: Path, mode: int, *, follow_symlinks: bool = True) -> None:
        raise AssertionError(f"{self} was created readable and chmod-ed afterwards")

    monkeypatch.setattr(Path, "chmod", refuse)


def test_the_generated_secret_key_and_var_are_created_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, usual_umask: None, no_chmod_after: None
) -> None:
    monkeypatch.chdir(tmp_path)
    key = secret_key(load_settings(secret_key=None, _env_file=None))
    assert len(key) == 64
    assert mode(tmp_path / "var") == 0o700
    assert mode(tmp_path / "var" / "secret_key") == 0o600
    assert secret_key(load_settings(secret_key=None, _env_file=None)) == key  # kept
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["secret_key"]  # no leftovers


def test_a_secret_key_and_var_left_readable_by_an_older_version_are_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, usual_umask: None
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "var").mkdir(mode=0o755)
    (tmp_path / "var" / "secret_key").write_text("old-key\n")
    (tmp_path / "var" / "secret_key").chmod(0o644)
    assert secret_key(load_settings(secret_key=None, _env_file=None)) == b"old-key"
    assert mode(tmp_path / "var") == 0o700
    assert mode(tmp_path / "var" / "secret_key") == 0o600


async def test_a_new_sqlite_database_and_its_wal_files_are_owner_only(
    tmp_path: Path, usual_umask: None, no_chmod_after: None
) -> None:
    path = tmp_path / "var" / "wushe.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x TEXT)"))
            await connection.execute(text("INSERT INTO t VALUES ('王阿姨')"))
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT x FROM t"))).scalar() == "王阿姨"
            assert mode(path.parent) == 0o700
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert all(f.exists() for f in files)
            assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        await engine.dispose()


async def test_an_existing_world_readable_sqlite_database_is_tightened(
    tmp_path: Path, usual_umask: None
) -> None:
    path = tmp_path / "wushe.db"
    first = make_engine(f"sqlite+aiosqlite:///{path}")
    async with first.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x TEXT)"))
    await first.dispose()
    path.chmod(0o644)
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        assert mode(path) == 0o600
        async with engine.connect() as connection:  # still the same database
            assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 0
    finally:
        await engine.dispose()
