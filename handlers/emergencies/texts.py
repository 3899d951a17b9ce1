"""What emergency mode says above every reply (bot/channels/telegram/emergency_header.py puts
it there) and on the mode's own screens."""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _


def header_text(description: str) -> str:
    return _("🚨 Emergency mode: {description}").format(description=html.escape(description))
