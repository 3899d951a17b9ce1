"""/robot: a street or district admin sets the WeCom group robot (企业微信群机器人) of a street or
community in the chat (`python -m bot wecom` does the same from the command line)."""

from __future__ import annotations

import contextlib
import html

from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.domain.enums import ScopeLevel
from bot.domain.errors import InvalidInput
from bot.domain.principal import Principal
from bot.services import UnitOfWork, alerts
from bot.services.crypto import PersonalDataCipher
from handlers.common.routing import RouteTable
from handlers.common.texts import LEVEL_NAMES

router = RouteTable("wecom")


def _usage(base: str) -> str:
    return _(
        "To set a robot: /robot street-name robot-address, or /robot "
        "street-name/community-name robot-address. /robot place-name clear removes it. The "
        "address is in the WeCom group: ⋯ → 群机器人 → the robot → webhook, {example}?key=…"
    ).format(example=html.escape(base + alerts.WEBHOOK_PATH))


@router.message(Command("robot"))
async def robot(
    message: Message,
    command: CommandObject,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    wecom_api_url: str,
) -> None:
    if not principal.is_admin:
        await message.answer(_("Only street and district admins can set WeCom group robots."))
        return
    args = (command.args or "").split()
    if len(args) != 2:
        await _list_robots(message, principal, uow, wecom_api_url)
        return
    place, value = args
    try:
        level, place_id = await alerts.find_place(uow, place)
    except InvalidInput:
        await message.answer(
            _("I don't know the place “{place}”: write the street, or street/community.").format(
                place=html.escape(place)
            )
        )
        return
    if value.lower() in ("clear", "清除"):
        cleared = await alerts.clear_robot(uow, principal, level=level, place_id=place_id)
        await message.answer(
            _("The WeCom robot of {place} was removed.").format(place=html.escape(cleared.place))
            if cleared
            else _("That place has no WeCom robot.")
        )
        return
    await _set_robot(message, principal, uow, cipher, wecom_api_url, level, place_id, value)


async def _list_robots(
    message: Message, principal: Principal, uow: UnitOfWork, wecom_api_url: str
) -> None:
    views = await alerts.list_robots(uow, principal)
    lines = [
        _("{level} {place}: robot key {key}").format(
            level=LEVEL_NAMES[view.level],
            place=html.escape(view.place),
            key=alerts.mask(view.key_tail),
        )
        for view in views
    ]
    head = _("WeCom group robots:") if lines else _("No WeCom group robots are set.")
    await message.answer("\n".join([head, *lines, "", _usage(wecom_api_url)]))


async def _set_robot(
    message: Message,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    wecom_api_url: str,
    level: ScopeLevel,
    place_id: int,
    url: str,
) -> None:
    # The address works like a password: it does not stay in the chat.
    with contextlib.suppress(TelegramAPIError):
        await message.delete()
    try:
        view = await alerts.set_robot(
            uow,
            principal,
            cipher,
            level=level,
            place_id=place_id,
            url=url,
            base=wecom_api_url,
        )
    except InvalidInput:
        await message.answer(
            _("That is not a WeCom group robot address.") + "\n" + _usage(wecom_api_url)
        )
        return
    await message.answer(
        _(
            "The WeCom robot of {place} is set (key {key}): urgent and overdue requests, "
            "emergencies and failed broadcasts are posted there. If your message with the "
            "address is still in this chat, delete it: it works like a password."
        ).format(place=html.escape(view.place), key=alerts.mask(view.key_tail))
    )
