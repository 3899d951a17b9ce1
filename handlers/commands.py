"""The command list: one source for /help and for the platform's command menu."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy

from bot.domain.enums import ORGANISATION_ROLES, Role
from bot.domain.principal import Principal
from bot.services.needs import TRIAGE_ROLES


@dataclass(frozen=True)
class Command:
    name: str
    description: LazyProxy
    # Who sees it in /help and the menu; None: everyone. The services check permissions anyway.
    roles: frozenset[Role] | None = None


ADMINS = frozenset({Role.STREET_ADMIN, Role.DISTRICT_ADMIN})
TRIAGE = frozenset(TRIAGE_ROLES)
HANDLERS = TRIAGE | ORGANISATION_ROLES
ORGS = frozenset(ORGANISATION_ROLES)
BROADCASTERS = frozenset({Role.COMMUNITY_WORKER, Role.ORG_ADMIN}) | ADMINS

COMMANDS = (
    Command("start", __("Start, or go back to the beginning")),
    Command("need", __("Ask for help: file a request")),
    Command("mine", __("Your requests and where they stand")),
    Command("queue", __("Requests to triage in your area"), TRIAGE),
    Command("tasks", __("Requests assigned to you"), HANDLERS | {Role.VOLUNTEER}),
    Command(
        "helpnearby", __("Requests near you that you could help with"), frozenset({Role.VOLUNTEER})
    ),
    Command("needlist", __("The needs list, with a CSV export"), TRIAGE),
    Command("survey", __("Answer a survey from your community")),
    Command("volunteer", __("Register as a volunteer")),
    Command("volunteers", __("Verify volunteer registrations"), TRIAGE),
    Command("shifts", __("Shifts you can sign up for"), frozenset({Role.VOLUNTEER})),
    Command("myshifts", __("Your shifts"), frozenset({Role.VOLUNTEER})),
    Command("checkin", __("Check in at your shift"), frozenset({Role.VOLUNTEER})),
    Command("checkout", __("Check out when you leave"), frozenset({Role.VOLUNTEER})),
    Command("hours", __("Your hours, time bank and points"), frozenset({Role.VOLUNTEER})),
    Command("certificate", __("A certificate of your service (PDF)"), frozenset({Role.VOLUNTEER})),
    Command("rewards", __("Spend your points"), frozenset({Role.VOLUNTEER})),
    Command("newshift", __("Ask volunteers for a shift"), TRIAGE),
    Command("sitecode", __("Show the check-in code at a shift"), TRIAGE),
    Command("records", __("Confirm volunteers' service records"), TRIAGE),
    Command("spotcheck", __("Spot-check confirmed service records"), TRIAGE),
    Command("newreward", __("Offer a reward for points"), HANDLERS),
    Command("handover", __("Hand over a reward against its code"), HANDLERS),
    Command("newsurvey", __("Open a needs survey"), TRIAGE),
    Command("surveys", __("Answers to your surveys"), TRIAGE),
    Command("projects", __("Service projects near you")),
    Command("org", __("Your organisation, or register one")),
    Command("newproject", __("Draft a service project"), HANDLERS),
    Command("resources", __("The resource list")),
    Command("funds", __("Charity funds: donations, allocations, statements"), ORGS),
    Command("spend", __("Record spending of a project's money"), ORGS),
    Command("orgs", __("Verify organisations"), TRIAGE),
    Command("broadcast", __("Send a message to residents or volunteers"), BROADCASTERS),
    Command("broadcasts", __("Your broadcasts and their delivery"), BROADCASTERS),
    Command("emergency", __("Emergency mode: switch on or off, roll-call"), TRIAGE),
    Command("settings", __("Which broadcasts you receive")),
    Command("consult", __("Community consultations: discuss and vote")),
    Command("stats", __("Indicators against the policy's targets"), TRIAGE | ADMINS),
    Command("export", __("Indicators as a spreadsheet (XLSX, CSV)"), TRIAGE | ADMINS),
    Command("dashboard", __("A link to the indicators page"), ADMINS),
    Command("verify", __("Check a volunteer service certificate")),
    Command("help", __("What I can do for you")),
    Command("me", __("Your profile, roles and community")),
    Command("name", __("How we should call you")),
    Command("language", __("Change language / 切换语言")),
    Command("community", __("Change your community")),
    Command("link", __("Link another chat app to your profile")),
    Command("cancel", __("Stop what you are doing")),
    Command("grant", __("Give someone a role (admins)"), ADMINS),
)


def commands_for(principal: Principal | None) -> tuple[Command, ...]:
    def visible(command: Command) -> bool:
        if command.roles is None:
            return True
        if principal is None:
            return False
        return principal.is_superadmin or bool(principal.roles & command.roles)

    return tuple(c for c in COMMANDS if visible(c))


def bot_commands(commands: tuple[Command, ...], i18n: I18n, locale: str) -> list[BotCommand]:
    with i18n.context(), i18n.use_locale(locale):
        return [BotCommand(command=c.name, description=str(c.description)) for c in commands]


async def set_default_commands(bot: Bot, i18n: I18n) -> None:
    """The menu everyone sees, in both languages (zh is the default)."""
    everyone = commands_for(None)
    for locale in i18n.available_locales:
        language_code = None if locale == i18n.default_locale else locale
        await bot.set_my_commands(
            bot_commands(everyone, i18n, locale),
            scope=BotCommandScopeDefault(),
            language_code=language_code,
        )


async def set_chat_commands(bot: Bot, i18n: I18n, chat_id: int, principal: Principal) -> None:
    """The menu of one person: their language, their roles."""
    await bot.set_my_commands(
        bot_commands(commands_for(principal), i18n, principal.locale),
        scope=BotCommandScopeChat(chat_id=chat_id),
    )
