"""Translations: gettext catalogs under locales/, compiled from .po on install or start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.config import SUPPORTED_LOCALES
from bot.domain.principal import Principal

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def compile_catalogs(locales_dir: Path = LOCALES_DIR) -> list[Path]:
    """Compile every .po whose .mo is missing or older; returns what was written."""
    written = []
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        written.append(mo_path)
    return written


def make_i18n(default_locale: str) -> I18n:
    compile_catalogs()
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


def locale_from_language_code(code: str | None, default: str) -> str:
    """Telegram sends 'zh-hans', 'en-US'...: reduce to a supported language."""
    if not code:
        return default
    language = code.split("-")[0].split("_")[0].lower()
    return language if language in SUPPORTED_LOCALES else default


class PersonI18nMiddleware(I18nMiddleware):
    """The person's chosen language; before they choose, their client's language."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        principal: Principal | None = data.get("principal")
        if principal is not None:
            return principal.locale
        user = data.get("event_from_user")
        code = getattr(user, "language_code", None)
        return locale_from_language_code(code, self.i18n.default_locale)
