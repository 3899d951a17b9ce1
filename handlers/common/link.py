"""/link: one person, several chat apps (Telegram and the web chat page, later WeChat)."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.domain.enums import Channel
from bot.domain.principal import Principal
from bot.services import UnitOfWork, people
from handlers.common.routing import RouteTable
from handlers.common.states import LinkAccount

router = RouteTable("link")


@router.message(Command("link"))
async def link(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    channel: Channel,
) -> None:
    await state.clear()
    if command.args:
        await _redeem(message, command.args, principal, uow, channel)
        return
    code = await people.create_link_code(uow, principal)
    await state.set_state(LinkAccount.code)
    await message.answer(
        _(
            "To use the same profile in another chat app, send this there within 10 minutes:\n"
            "<code>/link {code}</code>\n\n"
            "Or, if you already have a code from your other app, send it here now."
        ).format(code=code)
    )


# A command is not a code: the worker who sent /link and then /queue gets their queue.
@router.message(LinkAccount.code, F.text & ~F.text.startswith("/"))
async def link_code_typed(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    channel: Channel,
) -> None:
    await state.clear()
    await _redeem(message, message.text or "", principal, uow, channel)


async def _redeem(
    message: Message, code: str, principal: Principal, uow: UnitOfWork, channel: Channel
) -> None:
    if message.from_user is None:
        return
    await people.redeem_link_code(
        uow, principal, channel=channel, external_id=str(message.from_user.id), code=code
    )
    await message.answer(_("Linked! This chat now uses your other profile. Send /me to check."))
