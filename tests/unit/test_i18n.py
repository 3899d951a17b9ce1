"""Every user-facing string is translated; the catalogs match the code."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
GETTEXT_NAMES = {"_", "__", "gettext", "lazy_gettext"}


def catalog(language: str):  # type: ignore[no-untyped-def]
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


def source_ids() -> set[str]:
    with (LOCALES / "messages.pot").open("rb") as pot:
        return {m.id for m in read_po(pot) if m.id}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_entry_is_translated_and_not_fuzzy(language: str) -> None:
    missing = [m.id for m in catalog(language) if m.id and (not m.string or m.fuzzy)]
    assert missing == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_catalogs_hold_exactly_the_template_ids(language: str) -> None:
    ids = {m.id for m in catalog(language) if m.id}
    assert ids == source_ids()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_translations_keep_the_placeholders(language: str) -> None:
    wrong = [
        m.id
        for m in catalog(language)
        if m.id and set(PLACEHOLDER.findall(m.id)) != set(PLACEHOLDER.findall(m.string))
    ]
    assert wrong == []


def test_the_template_is_not_stale(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "--no-location",
            "--omit-header",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "__",
            "-k",
            "lazy_gettext",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with fresh.open("rb") as pot:
        extracted = {m.id for m in read_po(pot) if m.id}
    assert extracted == source_ids(), "run `make i18n` and translate the new entries"


def test_no_f_strings_or_concatenation_inside_gettext() -> None:
    offenders = []
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in GETTEXT_NAMES
                and node.args
                and not isinstance(node.args[0], ast.Constant)
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
