"""`python -m bot wecom set-robot / list / clear-robot`: a robot per community or street, its
key never printed whole, a URL that is not a WeCom robot's refused with a clear message."""

from pathlib import Path

import pytest

from bot.__main__ import main

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("SECRET_KEY", "wecom-cli-test-secret-key-0123456789")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("WECOM_API_URL", raising=False)
    assert main(["demo-data", "--places-only"]) == 0
    return path


def test_a_robot_is_set_listed_and_cleared_without_showing_its_key(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["wecom", "set-robot", "community:1", URL]) == 0
    out = capsys.readouterr().out
    assert "…5aaa" in out and KEY not in out
    assert main(["wecom", "set-robot", "street:1", URL.replace("5aaa", "7bbb")]) == 0
    capsys.readouterr()
    assert main(["wecom", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert any(line.startswith("community 1 ") and line.endswith("…5aaa") for line in listed)
    assert any(line.startswith("street 1 ") and line.endswith("…7bbb") for line in listed)
    assert KEY not in "\n".join(listed)
    # The key is sealed in the database, not written in the clear.
    assert KEY.encode() not in database.read_bytes()
    assert main(["wecom", "clear-robot", "community:1"]) == 0
    assert "Removed" in capsys.readouterr().out
    assert main(["wecom", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert not any(line.startswith("community 1 ") for line in listed)
    assert any(line.startswith("street 1 ") for line in listed)


def test_a_place_is_named_by_its_street_and_community(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["admin", "places"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    # "district 1 X / street 1 Y / community 1 Z (urban, CODE)"
    street = first.split(" / ")[1].split(" ", 2)[2]
    community = first.split(" / ")[2].split(" ", 2)[2].rsplit(" (", 1)[0]
    assert main(["wecom", "set-robot", f"{street}/{community}", URL]) == 0
    assert main(["wecom", "set-robot", street, URL]) == 0
    capsys.readouterr()
    assert main(["wecom", "list"]) == 0
    listed = capsys.readouterr().out
    assert "community 1 " in listed and "street 1 " in listed
    assert main(["wecom", "set-robot", "Nowhere/Nothing", URL]) == 2
    assert "no single street or community" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (URL.replace("https://", "http://"), "not https"),
        ("https://example.com/cgi-bin/webhook/send?key=" + KEY, "not a WeCom robot address"),
        ("https://qyapi.weixin.qq.com/cgi-bin/message/send?key=" + KEY, "the path must be"),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "no robot key"),
    ],
)
def test_a_url_that_is_not_a_wecom_robot_is_refused(
    database: Path, capsys: pytest.CaptureFixture[str], url: str, reason: str
) -> None:
    capsys.readouterr()
    assert main(["wecom", "set-robot", "community:1", url]) == 1
    err = capsys.readouterr().err
    assert "not a WeCom group robot webhook URL" in err and reason in err
    assert KEY not in err
    assert main(["wecom", "list"]) == 0
    assert "No WeCom robots are set." in capsys.readouterr().out


def test_an_unknown_community_is_refused(database: Path) -> None:
    assert main(["wecom", "set-robot", "community:999", URL]) == 1
