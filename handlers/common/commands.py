"""The command list: one source for /help and for the platform's command menu."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy

from bot.domain.enums import ORGANISATION_ROLES, Role
from bot.domain.policy import TRIAGE_ROLES
from bot.domain.principal import Principal


class Group(StrEnum):
    """The groups of /help, in the order shown: a resident's basics first, then what the
    person's roles add, then the settings."""

    RESIDENT = "resident"
    VOLUNTEER = "volunteer"
    WORKER = "worker"
    ORGANISATION = "organisation"
    ADMIN = "admin"
    ACCOUNT = "account"


GROUP_TITLES = {
    Group.RESIDENT: __("Ask for help and take part"),
    Group.VOLUNTEER: __("Volunteering and your tasks"),
    Group.WORKER: __("Community work"),
    Group.ORGANISATION: __("Organisations, projects and funds"),
    Group.ADMIN: __("Administration"),
    Group.ACCOUNT: __("Your settings"),
}


@dataclass(frozen=True)
class Command:
    name: str
    description: LazyProxy
    # Who sees it in /help and the menu; None: everyone. The services check permissions anyway.
    roles: frozenset[Role] | None = None
    group: Group = Group.RESIDENT


ADMINS = frozenset({Role.STREET_ADMIN, Role.DISTRICT_ADMIN})
DISTRICT_ADMINS = frozenset({Role.DISTRICT_ADMIN})
TRIAGE = frozenset(TRIAGE_ROLES)
HANDLERS = TRIAGE | ORGANISATION_ROLES
ORGS = frozenset(ORGANISATION_ROLES)
BROADCASTERS = frozenset({Role.COMMUNITY_WORKER, Role.ORG_ADMIN}) | ADMINS

COMMANDS = (
    Command("start", __("Start, or go back to the beginning"), group=Group.ACCOUNT),
    Command("need", __("Ask for help: file a request")),
    Command("mine", __("Your requests and where they stand")),
    Command("queue", __("Requests to triage in your area"), TRIAGE, group=Group.WORKER),
    Command(
        "tasks", __("Requests assigned to you"), HANDLERS | {Role.VOLUNTEER}, group=Group.VOLUNTEER
    ),
    Command(
        "helpnearby",
        __("Requests near you that you could help with"),
        frozenset({Role.VOLUNTEER}),
        group=Group.VOLUNTEER,
    ),
    Command("needlist", __("The needs list, with a CSV export"), TRIAGE, group=Group.WORKER),
    Command("survey", __("Answer a survey from your community")),
    Command("volunteer", __("Register as a volunteer")),
    Command("volunteers", __("Verify volunteer registrations"), TRIAGE, group=Group.WORKER),
    Command(
        "shifts",
        __("Shifts you can sign up for"),
        frozenset({Role.VOLUNTEER}),
        group=Group.VOLUNTEER,
    ),
    Command("myshifts", __("Your shifts"), frozenset({Role.VOLUNTEER}), group=Group.VOLUNTEER),
    Command(
        "checkin", __("Check in at your shift"), frozenset({Role.VOLUNTEER}), group=Group.VOLUNTEER
    ),
    Command(
        "checkout",
        __("Check out when you leave"),
        frozenset({Role.VOLUNTEER}),
        group=Group.VOLUNTEER,
    ),
    Command(
        "hours",
        __("Your hours, time bank and points"),
        frozenset({Role.VOLUNTEER}),
        group=Group.VOLUNTEER,
    ),
    Command(
        "certificate",
        __("A certificate of your service (PDF)"),
        frozenset({Role.VOLUNTEER}),
        group=Group.VOLUNTEER,
    ),
    Command("rewards", __("Spend your points"), frozenset({Role.VOLUNTEER}), group=Group.VOLUNTEER),
    Command("newshift", __("Ask volunteers for a shift"), TRIAGE, group=Group.WORKER),
    Command("newtraining", __("Post a social-work training session"), TRIAGE, group=Group.WORKER),
    Command(
        "training", __("Social-work training sessions to sign up for"), HANDLERS, group=Group.WORKER
    ),
    Command(
        "mytraining",
        __("Your training hours and social-work certificates"),
        HANDLERS,
        group=Group.WORKER,
    ),
    Command("swcert", __("Record your social-work certificate"), HANDLERS, group=Group.WORKER),
    Command("swcerts", __("Verify social-work certificates"), TRIAGE, group=Group.WORKER),
    Command(
        "swplaces", __("The social-work centre, stations and rooms"), TRIAGE, group=Group.WORKER
    ),
    Command("swserved", __("Record a service of your station or room"), TRIAGE, group=Group.WORKER),
    Command("sitecode", __("Show the check-in code at a shift"), TRIAGE, group=Group.WORKER),
    Command("records", __("Confirm volunteers' service records"), TRIAGE, group=Group.WORKER),
    Command("spotcheck", __("Spot-check confirmed service records"), TRIAGE, group=Group.WORKER),
    Command("newreward", __("Offer a reward for points"), HANDLERS, group=Group.ORGANISATION),
    Command(
        "handover", __("Hand over a reward against its code"), HANDLERS, group=Group.ORGANISATION
    ),
    Command("newsurvey", __("Open a needs survey"), TRIAGE, group=Group.WORKER),
    Command("surveys", __("Answers to your surveys"), TRIAGE, group=Group.WORKER),
    Command("projects", __("Service projects near you")),
    Command("org", __("Your organisation, or register one")),
    Command("newproject", __("Draft a service project"), HANDLERS, group=Group.ORGANISATION),
    Command("resources", __("The resource list")),
    Command(
        "funds",
        __("Charity funds: donations, allocations, statements"),
        ORGS,
        group=Group.ORGANISATION,
    ),
    Command("spend", __("Record spending of a project's money"), ORGS, group=Group.ORGANISATION),
    Command(
        "calls",
        __("Calls for proposals (微创投): enter, review, results"),
        ORGS | ADMINS,
        group=Group.ORGANISATION,
    ),
    Command("newcall", __("Open a call for proposals"), ADMINS, group=Group.ADMIN),
    Command(
        "purchases",
        __("Government purchases of services: milestones, payments"),
        ORGS | ADMINS,
        group=Group.ORGANISATION,
    ),
    Command(
        "newpurchase", __("Record a government purchase of services"), ADMINS, group=Group.ADMIN
    ),
    Command("orgs", __("Verify organisations"), TRIAGE, group=Group.WORKER),
    Command(
        "broadcast",
        __("Send a message to residents or volunteers"),
        BROADCASTERS,
        group=Group.WORKER,
    ),
    Command(
        "broadcasts", __("Your broadcasts and their delivery"), BROADCASTERS, group=Group.WORKER
    ),
    Command(
        "emergency", __("Emergency mode: switch on or off, roll-call"), TRIAGE, group=Group.WORKER
    ),
    Command("settings", __("Which broadcasts you receive"), group=Group.ACCOUNT),
    Command("consult", __("Community consultations: discuss and vote")),
    Command(
        "stats", __("Indicators against the policy's targets"), TRIAGE | ADMINS, group=Group.WORKER
    ),
    Command(
        "export", __("Indicators as a spreadsheet (XLSX, CSV)"), TRIAGE | ADMINS, group=Group.WORKER
    ),
    Command("dashboard", __("A link to the indicators page"), ADMINS, group=Group.WORKER),
    Command(
        "baseline",
        __("The year growth targets are measured from"),
        DISTRICT_ADMINS,
        group=Group.ADMIN,
    ),
    Command("verify", __("Check a volunteer service certificate")),
    Command("help", __("What I can do for you"), group=Group.ACCOUNT),
    Command("me", __("Your profile, roles and community"), group=Group.ACCOUNT),
    Command("name", __("How we should call you"), group=Group.ACCOUNT),
    Command("language", __("Change language / 切换语言"), group=Group.ACCOUNT),
    Command("community", __("Change your community"), group=Group.ACCOUNT),
    Command("link", __("Link another chat app to your profile"), group=Group.ACCOUNT),
    Command("privacy", __("Your consents: see or withdraw them"), group=Group.ACCOUNT),
    Command("mydata", __("A copy of everything stored about you"), group=Group.ACCOUNT),
    Command("deleteme", __("Erase your personal data"), group=Group.ACCOUNT),
    Command(
        "guardian",
        __("Record a guardian's consent for a child under 14"),
        TRIAGE,
        group=Group.WORKER,
    ),
    Command(
        "accesslog", __("Who read or exported personal data"), DISTRICT_ADMINS, group=Group.ADMIN
    ),
    Command("cancel", __("Stop what you are doing"), group=Group.ACCOUNT),
    Command("grant", __("Give someone a role (admins)"), ADMINS, group=Group.ADMIN),
    Command("robot", __("WeCom group robots for workers' alerts"), ADMINS, group=Group.ADMIN),
)


def commands_for(principal: Principal | None) -> tuple[Command, ...]:
    if principal is None:
        return commands_with(None, is_superadmin=False)
    return commands_with(principal.roles, is_superadmin=principal.is_superadmin)


def commands_with(roles: frozenset[Role] | None, *, is_superadmin: bool) -> tuple[Command, ...]:
    """The commands of someone with these roles (None: not known yet, so only everyone's)."""

    def visible(command: Command) -> bool:
        if command.roles is None:
            return True
        if roles is None:
            return False
        return is_superadmin or bool(roles & command.roles)

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
