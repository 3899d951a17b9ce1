"""The broadcast preview: the message as each language's readers will get it (their text, the
button in their language), labelled by the language in words, not by a code."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.domain.broadcasts import ButtonKind, text_for

# The same words as the recipients' buttons (bot/channels/telegram/sender.py recipient_keyboard).
BUTTON_LABELS = {
    ButtonKind.SIGN_UP: (__("Sign up"),),
    ButtonKind.ANSWER: (__("Answer"),),
    ButtonKind.JOIN: (__("Open the consultation"),),
    ButtonKind.ROLL_CALL: (__("I can come"), __("I can't")),
}
READERS = {
    "zh": __("Readers who use Chinese will get:"),
    "en": __("Readers who use English will get:"),
}


def preview_messages(data: Mapping[str, Any]) -> list[str]:
    """One message for each language the audience reads (HTML), in the author's language for
    the label and the reader's for the content; one for all when they read the same."""
    text_zh, text_en = data.get("text_zh") or "", data.get("text_en") or ""
    only = data.get("locale")
    locales = [only] if only in READERS else list(READERS)
    rendered = {locale: _as_read(locale, text_zh, text_en, data) for locale in locales}
    if len(set(rendered.values())) == 1 and len(locales) > 1:
        return [_("Every reader will get:") + "\n\n" + rendered[locales[0]]]
    return [str(READERS[locale]) + "\n\n" + rendered[locale] for locale in locales]


def _as_read(locale: str, text_zh: str, text_en: str, data: Mapping[str, Any]) -> str:
    lines = [html.escape(text_for(locale, text_zh, text_en))]
    kind = data.get("button", ButtonKind.NONE.value)
    labels = BUTTON_LABELS.get(ButtonKind(kind)) if kind in ButtonKind._value2member_map_ else None
    with I18n.get_current(no_error=False).use_locale(locale):
        if labels:
            lines.append(" ".join(f"[ {label} ]" for label in map(str, labels)))
        if data.get("photo"):
            lines.insert(0, _("(with the photo)"))
    return "\n".join(lines)
