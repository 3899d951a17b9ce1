"""`python -m bot admin set-duty-phone`: the community's own duty phone, listed by `admin places`
and refused when it is not a phone number."""

from pathlib import Path

import pytest

from bot.__main__ import main


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["demo-data"]) == 0


def community_line(out: str, community: int) -> str:
    return next(line for line in out.splitlines() if f"/ community {community} " in line)


def test_a_duty_phone_is_set_listed_and_cleared(
    database: None, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["admin", "set-duty-phone", "--community", "1", "--phone", "023-68123456"]) == 0
    assert "023-68123456" in capsys.readouterr().out
    assert main(["admin", "places"]) == 0
    assert community_line(capsys.readouterr().out, 1).endswith("duty phone 023-68123456")
    assert main(["admin", "set-duty-phone", "--community", "1", "--clear"]) == 0
    assert "no duty phone" in capsys.readouterr().out
    assert main(["admin", "places"]) == 0
    assert "duty phone" not in community_line(capsys.readouterr().out, 1)


def test_a_duty_phone_that_is_not_a_number_is_refused(
    database: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admin", "set-duty-phone", "--community", "1", "--phone", "call Wang"]) == 1
    assert "duty_phone" in capsys.readouterr().err


def test_an_unknown_community_is_refused(database: None) -> None:
    assert main(["admin", "set-duty-phone", "--community", "999", "--phone", "110"]) == 1
