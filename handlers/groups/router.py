"""Group chats (楼栋群): what the bot does when it is added to a building's or a grid's group.

In a group or supergroup the bot answers only its own commands, with a button that continues
in a private chat (a deep link keeping the intent: /need in the group opens /need there), and
ignores everything else silently: nothing personal is ever asked or shown in a group. Two
mechanisms hold this, both in front of every other handler:

* `GroupChatGate`, an outer update middleware before the person's middlewares: in a group it
  drops what is not for the bot (plain messages, other bots' commands) before anything is read
  or written, and gives the person's middlewares the sender's own chat, so a command typed in
  a group never makes the group the place where that person's private notices go;
* the `groups` router, included first: every message, button and membership change of a group
  ends here, so no private flow ever runs in a group.

Workers link a group to their community (`/linkgroup`, checked against the group's admins) so
broadcasts to "the community's groups" are posted there (docs/broadcasts.md)."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, F
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    CallbackQuery,
    Chat,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    Update,
    User,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.enums import Channel
from bot.domain.errors import DomainError, NotFound, PermissionDenied
from bot.domain.principal import Principal
from bot.services import UnitOfWork, groups
from bot.services.groups import Choice
from handlers.common.commands import COMMANDS
from handlers.common.deeplinks import deep_link, start_link
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.texts import error_text
from handlers.groups.callbacks import GroupCb

GROUP_CHATS = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})
SHARED_CHATS = GROUP_CHATS | {ChatType.CHANNEL}
GROUP_COMMANDS = frozenset({"linkgroup", "unlinkgroup"})
# Commands that continue in a private chat (/start there would start over: it opens /help).
PRIVATE_COMMANDS = frozenset(c.name for c in COMMANDS) - {"start"}
MAX_CHOICE_BUTTONS = 8
GONE = frozenset({ChatMemberStatus.LEFT, ChatMemberStatus.KICKED})
ADMINS = frozenset({ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR})

router = RouteTable("groups")
router.filter("message", F.chat.type.in_(GROUP_CHATS))
router.filter("callback_query", F.message.chat.type.in_(GROUP_CHATS))
router.filter("my_chat_member", F.chat.type.in_(SHARED_CHATS))


# ---------------------------------------------------------------- the gate


Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class GroupChatGate(BaseMiddleware):
    """Outer middleware on updates, in front of the person's middlewares (see the module)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")
        if chat is None or chat.type not in SHARED_CHATS:
            return await handler(event, data)
        assert isinstance(event, Update)
        if not await _for_the_bot(event, data["bot"]):
            return UNHANDLED  # group talk that is not for the bot: silently none of its business
        user: User | None = data.get("event_from_user")
        if user is not None and not user.is_bot:
            # The person's own chat with the bot (on Telegram its id is the user's id).
            data["event_chat"] = Chat(id=user.id, type=ChatType.PRIVATE)
        return await handler(event, data)


async def _for_the_bot(update: Update, bot: Bot) -> bool:
    if update.my_chat_member is not None or update.callback_query is not None:
        return True
    message = update.message
    if message is None:
        return False  # edits, channel posts, reactions, other members' changes
    if message.migrate_to_chat_id is not None:
        return True
    return await _our_command(message, bot) is not None


async def _our_command(message: Message, bot: Bot) -> str | None:
    """The name of one of our commands the message starts with (`/need`, `/need@our_bot`)."""
    text = message.text or message.caption or ""
    if not text.startswith("/"):
        return None
    head = text.split(maxsplit=1)[0][1:]
    name, _at, mention = head.partition("@")
    if mention:
        me = await bot.me()
        if (me.username or "").lower() != mention.lower():
            return None  # another bot's command
    name = name.lower()
    return name if name in PRIVATE_COMMANDS | GROUP_COMMANDS | {"start"} else None


# ---------------------------------------------------------------- texts and links


def _private_keyboard(link: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=_("Continue in a private chat"), url=link)]]
    )


def intro_text() -> str:
    return _(
        "Hello! I am the community's assistant. In this group I only answer my commands, and "
        "I never ask for or show anyone's personal details here: asking for help, registering "
        "and everything personal continue in a private chat with me.\n"
        "A community worker or grid worker who is an admin of this group can link it to the "
        "community with /linkgroup: the community's notices are then posted here."
    )


def linked_text(view: groups.GroupView) -> str:
    return _(
        "This group is now linked to {community}. The community's notices to its group chats "
        "will be posted here (at most 20 a minute). /unlinkgroup stops them."
    ).format(community=html.escape(view.community.label(view.locale)))


async def _private_link(bot: Bot, settings: Settings, command: str) -> str:
    return await start_link(bot, Channel.TELEGRAM, settings, f"cmd_{command}")


# ---------------------------------------------------------------- messages in a group


@router.message(F.migrate_to_chat_id)
async def group_upgraded(message: Message, uow: UnitOfWork, channel: Channel) -> None:
    """A group became a supergroup: its link moves to the new chat id."""
    await groups.moved(
        uow,
        channel=channel,
        old_chat_id=str(message.chat.id),
        new_chat_id=str(message.migrate_to_chat_id),
    )


@router.message(Command("linkgroup"))
async def link_group(
    message: Message,
    command: CommandObject,
    bot: Bot,
    uow: UnitOfWork,
    channel: Channel,
    principal: Principal | None = None,
) -> None:
    if message.sender_chat is not None or message.from_user is None:
        await message.answer(_anonymous_text())
        return
    choices = await groups.linkable_communities(uow, principal) if principal else []
    if principal is None or not choices:
        await message.answer(
            _("Only community workers and grid workers can link a group to their community.")
        )
        return
    if not await _is_admin(bot, message.chat.id, message.from_user.id):
        await message.answer(_not_admin_text())
        return
    code = (command.args or "").strip().upper()
    if code:
        chosen = [c for c in choices if c.code.upper() == code]
        if not chosen:
            await message.answer(
                _("{code} is not one of your communities. Send /linkgroup to choose.").format(
                    code=html.escape(code)
                )
            )
            return
        choices = chosen
    await _link_or_ask(message, choices, uow, channel, principal)


async def _link_or_ask(
    message: Message,
    choices: list[Choice],
    uow: UnitOfWork,
    channel: Channel,
    principal: Principal,
) -> None:
    """One community: link it; a few: buttons; too many for buttons: ask for the code."""
    if len(choices) == 1:
        await _link(message, choices[0].id, uow, channel, principal)
        return
    if len(choices) > MAX_CHOICE_BUTTONS:
        await message.answer(
            _(
                "Which community is this group of? Send /linkgroup with its code, "
                "e.g. /linkgroup {code}."
            ).format(code=html.escape(choices[0].code))
        )
        return
    await message.answer(
        _("Which community is this group of?"), reply_markup=_choice_keyboard(choices, principal)
    )


def _choice_keyboard(choices: list[Choice], principal: Principal) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(c.label(principal.locale), GroupCb(community=c.id))] for c in choices
        ]
    )


async def _link(
    message: Message,
    community_id: int,
    uow: UnitOfWork,
    channel: Channel,
    principal: Principal,
) -> None:
    """Link the group; the caller has just checked that the sender is one of its admins."""
    try:
        view = await groups.link(
            uow,
            principal,
            channel=channel,
            chat_id=str(message.chat.id),
            title=message.chat.title or "",
            community_id=community_id,
            chat_admin=True,
        )
    except PermissionDenied:
        await message.answer(_not_allowed_text())
        return
    await message.answer(linked_text(view))


@router.message(Command("unlinkgroup"))
async def unlink_group(
    message: Message,
    bot: Bot,
    uow: UnitOfWork,
    channel: Channel,
    principal: Principal | None = None,
) -> None:
    if message.sender_chat is not None or message.from_user is None:
        await message.answer(_anonymous_text())
        return
    if principal is None:
        await message.answer(_not_admin_text())
        return
    try:
        view = await groups.unlink(
            uow,
            principal,
            channel=channel,
            chat_id=str(message.chat.id),
            chat_admin=await _is_admin(bot, message.chat.id, message.from_user.id),
        )
    except NotFound:
        await message.answer(_("This group is not linked to a community."))
        return
    except PermissionDenied:
        await message.answer(
            _("Only an admin of this group or a worker of its community can unlink it.")
        )
        return
    await message.answer(
        _("This group is no longer linked to {community}: nothing more is posted here.").format(
            community=html.escape(view.community.label(principal.locale))
        )
    )


@router.message(Command("start", "help"))
async def group_help(
    message: Message, bot: Bot, uow: UnitOfWork, channel: Channel, settings: Settings
) -> None:
    text = intro_text()
    linked = await groups.of_chat(uow, channel=channel, chat_id=str(message.chat.id))
    if linked is not None:
        text += "\n\n" + _("This group is linked to {community}.").format(
            community=html.escape(linked.community.label(linked.locale))
        )
    await message.answer(
        text, reply_markup=_private_keyboard(await _private_link(bot, settings, "help"))
    )


@router.message(Command(*sorted(PRIVATE_COMMANDS)))
async def private_command(
    message: Message, command: CommandObject, bot: Bot, settings: Settings
) -> None:
    """Any other command of ours: it continues, with its intent, in a private chat. What was
    typed after the command is not carried (it could be personal, and it is in public)."""
    await message.reply(
        _(
            "To keep your details private, let's continue in a private chat with me: tap the "
            "button, then Start."
        ),
        reply_markup=_private_keyboard(await _private_link(bot, settings, command.command)),
    )


@router.message()
async def group_talk(message: Message) -> None:
    """Anything else in a group is not addressed to the bot: no answer, no hint."""


# ---------------------------------------------------------------- buttons in a group


@router.callback_query(GroupCb.filter())
async def community_tapped(
    callback: CallbackQuery,
    callback_data: GroupCb,
    bot: Bot,
    uow: UnitOfWork,
    channel: Channel,
    principal: Principal | None = None,
) -> None:
    message = callback.message
    if principal is None or not isinstance(message, Message):
        await callback.answer(_not_allowed_text(), show_alert=True)
        return
    try:
        view = await groups.link(
            uow,
            principal,
            channel=channel,
            chat_id=str(message.chat.id),
            title=message.chat.title or "",
            community_id=callback_data.community,
            chat_admin=await _is_admin(bot, message.chat.id, callback.from_user.id),
        )
    except DomainError as error:
        text = _not_allowed_text() if isinstance(error, PermissionDenied) else error_text(error)
        await callback.answer(text, show_alert=True)
        return
    await callback.answer()
    await message.edit_text(linked_text(view))


@router.callback_query()
async def private_button(callback: CallbackQuery, bot: Bot) -> None:
    """A button of a private flow pressed in a group (an old or forwarded message): refused,
    with where it works."""
    me = await bot.me()
    await callback.answer(
        _("This button works only in a private chat with me: open @{bot}.").format(
            bot=me.username or me.first_name
        ),
        show_alert=True,
    )


# ---------------------------------------------------------------- the bot added or removed


@router.my_chat_member()
async def bot_membership(
    update: ChatMemberUpdated, bot: Bot, uow: UnitOfWork, channel: Channel
) -> None:
    old, new = update.old_chat_member.status, update.new_chat_member.status
    if new in GONE:
        await groups.bot_removed(uow, channel=channel, chat_id=str(update.chat.id))
        return
    if old in GONE and update.chat.type in GROUP_CHATS:
        await bot.send_message(update.chat.id, intro_text())


# ---------------------------------------------------------------- helpers


async def _is_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    """Whether the platform lists this person among the group's admins (asked every time:
    admins change, and a stale answer must not link a group)."""
    try:
        admins = await bot.get_chat_administrators(chat_id)
    except TelegramAPIError:
        return False
    return any(a.user.id == user_id and a.status in ADMINS for a in admins)


def _anonymous_text() -> str:
    return _(
        "I can't tell who you are when you write as the group. Please send the command as "
        "yourself (switch off “remain anonymous” for a moment)."
    )


def _not_admin_text() -> str:
    return _("Only an admin of this group can link it. Ask the group's owner to make you an admin.")


def _not_allowed_text() -> str:
    return _(
        "Only a community worker or grid worker who is an admin of this group can link it, "
        "to a community they serve."
    )


# ---------------------------------------------------------------- deep links


@deep_link("cmd_")
async def open_command(message: Message, rest: str, data: dict[str, Any]) -> None:
    """`/start cmd_need`: the command typed in a group, now in the private chat."""
    if rest not in PRIVATE_COMMANDS:
        await message.answer(_("This link is not valid or has expired."))
        return
    dispatcher: Dispatcher = data["dispatcher"]
    user: User | None = data.get("event_from_user")
    typed = message.model_copy(
        update={"text": f"/{rest}", "entities": None, "from_user": user or message.from_user}
    ).as_(message.bot)
    state = data.get("state")
    raw_state = await state.get_state() if state is not None else None
    context = {**data, "raw_state": raw_state, "bot": data.get("bot") or message.bot}
    await dispatcher.propagate_event("message", typed, **context)


# ---------------------------------------------------------------- the groups' command menu


GROUP_MENU = (
    ("need", __("Ask for help (continues in a private chat)")),
    ("volunteer", __("Register as a volunteer (in a private chat)")),
    ("help", __("What I can do in this group")),
)
ADMIN_MENU = (
    ("linkgroup", __("Link this group to your community (workers)")),
    ("unlinkgroup", __("Stop the community's notices here")),
)


async def set_group_commands(bot: Bot, i18n: I18n) -> None:
    """The menu in groups: a few commands for members, linking for the groups' admins."""
    for locale in i18n.available_locales:
        language_code = None if locale == i18n.default_locale else locale
        with i18n.context(), i18n.use_locale(locale):
            members = [BotCommand(command=n, description=str(d)) for n, d in GROUP_MENU]
            admins = members + [BotCommand(command=n, description=str(d)) for n, d in ADMIN_MENU]
        await bot.set_my_commands(
            members, scope=BotCommandScopeAllGroupChats(), language_code=language_code
        )
        await bot.set_my_commands(
            admins, scope=BotCommandScopeAllChatAdministrators(), language_code=language_code
        )
