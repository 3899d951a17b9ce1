import os
import subprocess
import sys

import pytest

from bot.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name in {
            "BOT_TOKEN",
            "TELEGRAM_API_URL",
            "DATABASE_URL",
            "REDIS_URL",
            "WEB_HOST",
            "WEB_PORT",
            "WEBHOOK_BASE_URL",
            "WEBHOOK_SECRET",
            "DEFAULT_LOCALE",
            "TIMEZONE",
            "ADMIN_TELEGRAM_IDS",
            "SECRET_KEY",
        }:
            monkeypatch.delenv(name)
    monkeypatch.chdir(os.path.dirname(__file__))  # no .env here


def test_defaults_run_on_sqlite_in_chinese_without_telegram() -> None:
    settings = load_settings()
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.default_locale == "zh"
    assert settings.timezone == "Asia/Shanghai"
    assert settings.bot_token is None
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8080)
    assert settings.telegram_api_url == "https://api.telegram.org"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BOT_TOKEN", "not-a-token"),
        ("DATABASE_URL", "mysql://x"),
        ("WEB_PORT", "eighty"),
        ("WEB_PORT", "70000"),
        ("DEFAULT_LOCALE", "fr"),
        ("TIMEZONE", "Mars/Olympus"),
        ("ADMIN_TELEGRAM_IDS", "12,abc"),
        ("TELEGRAM_API_URL", "ftp://x"),
        ("REDIS_URL", "localhost:6379"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value).startswith(variable + " ")
    assert "\n" not in str(error.value)


def test_webhook_needs_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("WEBHOOK_BASE_URL", "https://bot.example.org")
    with pytest.raises(ConfigError, match=r"^WEBHOOK_SECRET"):
        load_settings()


def test_admin_ids_and_postgres_url_are_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_TELEGRAM_IDS", "12, 34")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    settings = load_settings()
    assert settings.admin_ids == frozenset({12, 34})
    assert settings.database_url == "postgresql+asyncpg://u@h/db"


def test_the_cli_reports_a_bad_setting_in_one_line_without_a_traceback(tmp_path: object) -> None:
    env = {**os.environ, "WEB_PORT": "eighty"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Configuration error: WEB_PORT ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("variable", ["DATABASE_URL", "TIMEZONE", "WEB_PORT", "DEFAULT_LOCALE"])
def test_an_empty_variable_is_treated_as_unset(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    defaults = load_settings()
    monkeypatch.setenv(variable, "")
    settings = load_settings()
    assert getattr(settings, variable.lower()) == getattr(defaults, variable.lower())


def test_an_empty_database_url_in_a_dotenv_file_is_the_default_sqlite(
    monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]
) -> None:
    with open(os.path.join(tmp_path, ".env"), "w") as env:
        env.write("DATABASE_URL=\nREDIS_URL=\n")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///./var/wushe.db"
    assert settings.redis_url is None


def _make_dry_run(target: str, venv: str) -> str:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run(
        ["make", "-n", "-C", root, target, f"VENV={venv}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_make_run_installs_the_bot_without_the_dev_tools(tmp_path: os.PathLike[str]) -> None:
    venv = os.path.join(tmp_path, "fresh-venv")  # nothing installed yet: every step shows
    run = _make_dry_run("run", venv)
    assert "pip install --quiet -e ." in run
    assert ".[dev]" not in run
    assert ".[dev]" in _make_dry_run("test", venv)
