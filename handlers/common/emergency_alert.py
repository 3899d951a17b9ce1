"""The answer to a text that sounds like an emergency: the number to call (120/119/110), the
community's duty phone and what to do meanwhile. Sent by the emergency check of every free
text (handlers/emergencies/signs.py) and when a need is filed (handlers/needs/resident.py)."""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.domain.emergency_signs import Emergency, Service, Sign, detect
from bot.domain.principal import Principal
from bot.services import UnitOfWork, places

SERVICE_LINES = {
    Service.AMBULANCE: __("🚑 Ambulance (急救): 120"),
    Service.FIRE: __("🚒 Fire (火警): 119"),
    Service.POLICE: __("🚓 Police (报警): 110"),
}
TIPS = {
    Sign.FALL: __("Do not pull the person up; keep them warm and wait for the ambulance."),
    Sign.FIRE: __("Get out first and close the door behind you; do not take the lift."),
    Sign.GAS: __(
        "Do not switch lights or appliances on or off, no flames; open the windows, "
        "leave, and call from outside."
    ),
    Sign.VIOLENCE: __("Get to a safe place first."),
    Sign.SUICIDE: __("Stay with the person; do not leave them alone."),
}


def alert_text(found: Emergency, duty_phone: str | None) -> str:
    lines = [_("⚠️ <b>This sounds like an emergency. Please call now:</b>")]
    lines += [str(SERVICE_LINES[service]) for service in found.services]
    if duty_phone:
        lines.append(
            _("📞 Your community's duty phone: {phone}").format(phone=html.escape(duty_phone))
        )
    if Sign.SUICIDE in found.signs:
        lines.append(_("💬 Psychological help hotline: 12356"))
    tips = [str(TIPS[sign]) for sign in found.signs if sign in TIPS]
    if tips:
        lines += ["", *tips]
    lines += ["", _("This bot is not an emergency service and cannot send help by itself.")]
    return "\n".join(lines)


async def emergency_alert(uow: UnitOfWork, principal: Principal, text: str) -> str | None:
    """The alert for a text, with the person's community duty phone; None: no emergency."""
    found = detect(text)
    if found is None:
        return None
    phone = None
    if principal.home is not None:
        phone = await places.duty_phone(uow, community_id=principal.home.community_id)
    return alert_text(found, phone)
