"""The web chat page's own words (its buttons, banners), translated like every other string."""

from __future__ import annotations

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __

UI_STRINGS = {
    "title": __("Community services chat"),
    "placeholder": __("Type a message…"),
    "send": __("Send"),
    "connecting": __("Connecting…"),
    "offline": __("Connection lost — retrying…"),
    "menu": __("Menu"),
    "share_location": __("Share my location"),
    "location_denied": __("Location is not available in this browser"),
    "download": __("Download"),
    "empty": __("Say hello — type /start"),
    "welcome": __("Hello! This is your community's service chat. What would you like to do?"),
    "start_button": __("Get started"),
    "need_button": __("I need help"),
    "large_text": __("Large text"),
    "large_text_on": __("Large text is on"),
    "large_text_off": __("Large text is off"),
    "photo": __("Photo"),
    "photo_label": __("Send a photo"),
    "photo_too_big": __("This photo is too big ({limit} at most). Please choose a smaller one."),
    "not_a_photo": __("Please choose a photo (JPEG, PNG or WebP)."),
    "photo_failed": __("The photo was not sent — tap to retry"),
    "deleted": __("(deleted)"),
    "failed_send": __("Not sent — tap to retry"),
    "ok": __("OK"),
}


def ui_strings(i18n: I18n, locale: str) -> dict[str, str]:
    with i18n.context(), i18n.use_locale(locale):
        return {key: str(text) for key, text in UI_STRINGS.items()}
