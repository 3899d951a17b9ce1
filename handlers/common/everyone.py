"""Commands every person has: /help, /me, /cancel. Registered first so they work in any state."""

from __future__ import annotations

import html
from functools import lru_cache

from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import InlineKeyboardMarkup, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.domain.enums import Role
from bot.domain.principal import Principal
from bot.services import UnitOfWork, people
from bot.services.views import ProfileView
from handlers.common.callbacks import NameAction, NameCb
from handlers.common.commands import GROUP_TITLES, Group, commands_with
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.texts import CHANNEL_NAMES, LANGUAGE_NAMES, LEVEL_NAMES, role_name

router = RouteTable("common")


def help_text(principal: Principal | None) -> str:
    """The commands a person has, grouped: a resident's basics first (求助, 我的诉求…), then
    the groups their roles add, then the settings. The catalog orders each line: Chinese puts
    the description first ("求助：提交诉求 — /need"), English the command."""
    if principal is None:
        return _help_text(get_i18n().current_locale, None, False)
    return _help_text(get_i18n().current_locale, principal.roles, principal.is_superadmin)


# Every /help assembled the same text again (45 translations); it depends only on these three.
@lru_cache(maxsize=256)
def _help_text(locale: str, roles: frozenset[Role] | None, is_superadmin: bool) -> str:
    visible = commands_with(roles, is_superadmin=is_superadmin)
    blocks = [_("Here is what you can do:")]
    for group in Group:
        commands = [c for c in visible if c.group is group]
        if not commands:
            continue
        lines = [f"<b>{GROUP_TITLES[group]}</b>"]
        lines += [
            _("{command} — {description}").format(command=f"/{c.name}", description=c.description)
            for c in commands
        ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


@router.message(Command("cancel"), StateFilter("*"))
async def cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(
            _("There is nothing to cancel. Send /help to see what you can do."),
            reply_markup=ReplyKeyboardRemove(),
        )
        return
    await state.clear()
    await message.answer(
        _("Cancelled. Nothing was saved. Send /help to see what you can do."),
        reply_markup=ReplyKeyboardRemove(),
    )


@router.message(Command("help"), StateFilter("*"))
async def show_help(message: Message, principal: Principal) -> None:
    await message.answer(help_text(principal))


@router.message(Command("me"), StateFilter("*"))
async def show_me(message: Message, principal: Principal, uow: UnitOfWork) -> None:
    change = button(_("✏️ Change my name"), NameCb(action=NameAction.CHANGE))
    await message.answer(
        profile_text(await people.profile(uow, principal)),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[change]]),
    )


def profile_text(profile: ProfileView) -> str:
    locale = profile.locale or "zh"
    lines = [
        _("<b>Your profile</b>"),
        _("Number: {number}").format(number=profile.person_id),
        _("Name: {name}").format(name=html.escape(profile.display_name))
        if profile.display_name
        else _("Name: not given yet — tell me with /name"),
        _("Language: {language}").format(language=LANGUAGE_NAMES.get(locale, locale)),
    ]
    if profile.community is None:
        lines.append(_("Community: not chosen yet — send /start"))
    else:
        c = profile.community
        place = " / ".join(
            html.escape(x)
            for x in (c.district.label(locale), c.street.label(locale), c.label(locale))
        )
        lines.append(_("Community: {place}").format(place=place))
    lines.append(_("Roles:"))
    for grant in profile.grants:
        scope = html.escape(grant.scope.label(locale))
        line = f"• {role_name(grant.role)} — {LEVEL_NAMES[grant.level]} {scope}"
        if grant.organisation is not None:
            line += f" ({html.escape(grant.organisation.name)})"
        if grant.certified:
            line += " " + _("(certified)")
        lines.append(line)
    if not profile.grants:
        lines.append("• —")
    channels = ", ".join(str(CHANNEL_NAMES[a.channel]) for a in profile.accounts)
    lines.append(_("Linked chat apps: {channels}").format(channels=channels))
    return "\n".join(lines)
