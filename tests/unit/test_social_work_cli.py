"""`python -m bot admin sw-place` / `sw-staff`: a street's station opened once with its opening
hours and staff; a second station for the same street and an unknown street are refused."""

from pathlib import Path

import pytest

from bot.__main__ import main


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["demo-data"]) == 0


def test_a_station_is_opened_once_and_gets_its_staff(
    database: None, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    station = ["admin", "sw-place", "--level", "station", "--unit", "1", "--name", "社工站"]
    assert main([*station, "--hours", "周一至周五 9:00-17:00"]) == 0
    assert "(station), staff: -" in capsys.readouterr().out
    assert main(["admin", "sw-staff", "--place", "1", "--person", "1"]) == 0
    assert "staff: -" not in capsys.readouterr().out
    assert main(station) == 1  # one station per street
    assert "place_exists" in capsys.readouterr().err
    assert main(["admin", "sw-place", "--level", "station", "--unit", "999", "--name", "x"]) == 1
