"""First contact: language → district → street → community → resident. Also /language and
/community for people who want to change either later.

Any first message starts it, not only /start: "你好", a question or a description of a problem
(kept, and offered as a request's description afterwards), or /need (continued after it)."""

from __future__ import annotations

import html
from typing import Any

from aiogram import Bot, F
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.emergency_signs import looks_like_emergency
from bot.domain.enums import Channel
from bot.domain.errors import InvalidInput
from bot.domain.needs import is_small_talk
from bot.domain.principal import Principal
from bot.services import UnitOfWork, people
from bot.services.crypto import PersonalDataCipher
from bot.services.needs import MAX_DESCRIPTION
from bot.services.views import Identity
from handlers.common import drafts
from handlers.common.callbacks import (
    LanguageCb,
    NameAction,
    NameCb,
    NeedNewCb,
    NoopCb,
    PlaceAction,
    PlaceCb,
)
from handlers.common.commands import set_chat_commands
from handlers.common.deeplinks import open_deep_link
from handlers.common.everyone import help_text
from handlers.common.keyboards import button, language_keyboard
from handlers.common.place_picker import show_place_screen
from handlers.common.questions import repeat_question
from handlers.common.routing import RouteTable
from handlers.common.states import NameForm, Onboarding

router = RouteTable("onboarding")

LANGUAGE_PROMPT = "请选择语言 / Please choose your language"


@router.message(CommandStart())
async def start(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    identity: Identity,
    uow: UnitOfWork,
    **data: Any,
) -> None:
    await state.clear()
    payload = (command.args or "").strip()
    if not identity.onboarded:
        await begin_onboarding(message, state, uow, identity, payload=payload)
        return
    if payload:
        await open_deep_link(message, payload, {**data, "state": state, "uow": uow})
        return
    await message.answer(_("Welcome back!") + "\n\n" + help_text(identity.principal))


async def begin_onboarding(
    message: Message, state: FSMContext, uow: UnitOfWork, identity: Identity, *, payload: str
) -> None:
    if payload:
        await state.update_data(pending_payload=payload)
    if not identity.language_chosen:
        await state.set_state(Onboarding.language)
        await message.answer(LANGUAGE_PROMPT, reply_markup=language_keyboard())
        return
    await ask_community(message, state, uow, identity.principal, intro=_("Welcome!"))


async def _not_onboarded(message: Message, identity: Identity | None = None) -> bool:
    # Async and first: for everyone else the other filters are never run.
    return (
        identity is not None
        and not identity.onboarded
        and message.chat.type == "private"
        and bool(message.text)
    )


@router.message(_not_onboarded, StateFilter(None))
async def first_message(
    message: Message,
    state: FSMContext,
    identity: Identity,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
) -> None:
    """Whatever a new person types first starts onboarding; other commands (/help, /link,
    /language…) keep their own meaning."""
    text = (message.text or "").strip()
    if text.startswith("/"):
        command = text[1:].split(maxsplit=1)[0].split("@")[0].lower() if len(text) > 1 else ""
        if command != "need":
            raise SkipHandler()
        await state.clear()
        await begin_onboarding(message, state, uow, identity, payload="need")
        return
    await _keep_first_message(state, cipher, text)
    await begin_onboarding(message, state, uow, identity, payload="")


async def _keep_first_message(
    state: FSMContext, cipher: PersonalDataCipher, text: str, *, replace: bool = True
) -> None:
    if not replace and await drafts.peek(state, cipher, drafts.FIRST_MESSAGE) is not None:
        return
    if (
        text
        and not text.startswith("/")
        and not is_small_talk(text)
        and len(text) <= MAX_DESCRIPTION
    ):
        await drafts.keep(
            state, cipher, drafts.FIRST_MESSAGE, text, urgent=looks_like_emergency(text)
        )


async def ask_community(
    target: Message | CallbackQuery,
    state: FSMContext,
    uow: UnitOfWork,
    principal: Principal,
    *,
    intro: str,
) -> None:
    await state.set_state(Onboarding.community)
    await show_place_screen(
        target,
        uow,
        purpose="h",
        locale=principal.locale,
        intro=intro + "\n" + _("Which community do you live in?"),
    )


@router.message(Command("language"))
async def change_language(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(LANGUAGE_PROMPT, reply_markup=language_keyboard())


@router.callback_query(LanguageCb.filter())
async def language_chosen(
    callback: CallbackQuery,
    callback_data: LanguageCb,
    state: FSMContext,
    identity: Identity,
    uow: UnitOfWork,
    i18n: I18n,
    bot: Bot,
) -> None:
    await people.set_locale(uow, identity.principal, locale=callback_data.code)
    principal = _with_locale(identity.principal, callback_data.code)
    with i18n.use_locale(principal.locale):
        if not identity.onboarded:
            await ask_community(callback, state, uow, principal, intro=_("Welcome!"))
            return
        await callback.answer()
        if isinstance(callback.message, Message):
            await callback.message.edit_text(_("Language set to English."))
        await set_chat_commands(bot, i18n, callback.from_user.id, principal)


def _with_locale(principal: Principal, locale: str) -> Principal:
    return Principal(
        person_id=principal.person_id,
        locale=locale,
        home=principal.home,
        grants=principal.grants,
        is_superadmin=principal.is_superadmin,
    )


@router.message(Command("community"))
async def change_community(
    message: Message, state: FSMContext, uow: UnitOfWork, principal: Principal
) -> None:
    await state.clear()
    await ask_community(message, state, uow, principal, intro=_("Moving house?"))


@router.callback_query(PlaceCb.filter((F.purpose == "h") & (F.action == PlaceAction.LIST)))
async def browse_places(
    callback: CallbackQuery, callback_data: PlaceCb, uow: UnitOfWork, principal: Principal
) -> None:
    await show_place_screen(
        callback,
        uow,
        purpose="h",
        level=callback_data.level,
        parent=callback_data.parent,
        page=callback_data.page,
        locale=principal.locale,
    )


@router.callback_query(PlaceCb.filter((F.purpose == "h") & (F.action == PlaceAction.PICK)))
async def community_chosen(
    callback: CallbackQuery,
    callback_data: PlaceCb,
    state: FSMContext,
    uow: UnitOfWork,
    principal: Principal,
    i18n: I18n,
    bot: Bot,
    channel: Channel,
    **data: Any,
) -> None:
    community = await people.join_community(uow, principal, community_id=callback_data.item)
    pending = (await state.get_data()).get("pending_payload")
    await state.clear()
    await callback.answer()
    message = callback.message
    if not isinstance(message, Message):
        return
    name = html.escape(community.label(principal.locale))
    await message.edit_text(
        _("Done! You are now registered as a resident of {community}.").format(community=name)
    )
    # The grants changed: reload who this is before showing what they can do.
    identity = await people.identify(
        uow,
        channel=channel,
        external_id=str(callback.from_user.id),
        chat_id=str(message.chat.id),
        display_name=callback.from_user.full_name,
        fallback_locale=principal.locale,
        superadmin=principal.is_superadmin,
    )
    if principal.home is None:  # the first time: how shall we call them (称呼)?
        await ask_name(message, state, uow, identity.principal, pending=pending)
        return
    data = {**data, "identity": identity}  # as they are now, with their community
    await _welcome(
        message, state, uow, identity.principal, bot, i18n, channel, data, pending=pending
    )


@router.callback_query(NoopCb.filter())
async def noop(callback: CallbackQuery) -> None:
    await callback.answer()


@router.message(Onboarding.language)
@router.message(Onboarding.community)
async def onboarding_needs_a_button(
    message: Message, state: FSMContext, cipher: PersonalDataCipher
) -> None:
    # What they type while choosing is kept too ("我家水管坏了" typed at the language step),
    # unless they described something already ("怎么选？" is not the problem).
    await _keep_first_message(state, cipher, (message.text or "").strip(), replace=False)
    if not await repeat_question(message, state, cipher):
        await message.answer(_("Please tap one of the buttons above, or send /cancel to stop."))


# ---------------------------------------------------------------- the person's name (称呼)


def _name_keyboard(current: str, *, onboarding: bool) -> InlineKeyboardMarkup | None:
    rows = []
    if current:
        rows.append(
            [button(_("Keep “{name}”").format(name=current[:30]), NameCb(action=NameAction.KEEP))]
        )
    if onboarding:
        rows.append([button(_("Skip"), NameCb(action=NameAction.SKIP))])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def _name_question() -> str:
    return _(
        "How should we call you? For example 王阿姨 or 李先生.\n"
        "Community workers see this name on your requests, so that they can address you."
    )


async def ask_name(
    message: Message,
    state: FSMContext,
    uow: UnitOfWork,
    principal: Principal,
    *,
    pending: str | None,
) -> None:
    """Right after the community is chosen, offered and skippable."""
    current = await people.own_name(uow, principal)
    await state.set_state(Onboarding.name)
    if pending:
        await state.update_data(pending_payload=pending)
    await message.answer(
        _name_question() + "\n" + _("(optional: tap Skip)"),
        reply_markup=_name_keyboard(current, onboarding=True),
    )


async def _welcome(
    message: Message,
    state: FSMContext,
    uow: UnitOfWork,
    principal: Principal,
    bot: Bot,
    i18n: I18n,
    channel: Channel,
    data: dict[str, Any],
    *,
    pending: str | None = None,
) -> None:
    """What follows onboarding (after the name step, the first time): what they can do, then
    the deep link they came with, or the problem they typed before onboarding."""
    if pending is None:
        pending = (await state.get_data()).get("pending_payload")
    await state.clear()
    await message.answer(help_text(principal))
    await set_chat_commands(bot, i18n, message.chat.id, principal)
    # The link's feature gets the person as they are now (with their community).
    context = {
        **data,
        "state": state,
        "uow": uow,
        "channel": channel,
        "bot": bot,
        "i18n": i18n,
        "principal": principal,
    }
    if pending:
        await open_deep_link(message, pending, context)
        return
    await _offer_first_message(message, state, data)


async def _offer_first_message(message: Message, state: FSMContext, data: dict[str, Any]) -> None:
    """The problem typed before onboarding, if any: offered to be filed as a request."""
    draft = await drafts.peek(state, data["cipher"], drafts.FIRST_MESSAGE)
    if draft is None:
        return
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("📝 Yes, file it as a request"), NeedNewCb(step="draft", value="file"))],
            [button(_("No, thank you"), NeedNewCb(step="draft", value="no"))],
        ]
    )
    await message.answer(
        _("Earlier you wrote:\n<i>{text}</i>\n\nShall I file this as a request for help?").format(
            text=html.escape(str(draft["text"])[:500])
        ),
        reply_markup=keyboard,
    )


@router.message(Onboarding.name, F.text & ~F.text.startswith("/"))
async def name_typed_at_onboarding(
    message: Message,
    state: FSMContext,
    uow: UnitOfWork,
    principal: Principal,
    bot: Bot,
    i18n: I18n,
    channel: Channel,
    **data: Any,
) -> None:
    if not await _save_name(message, uow, principal, onboarding=True):
        return
    await _welcome(message, state, uow, principal, bot, i18n, channel, data)


@router.callback_query(
    Onboarding.name, NameCb.filter(F.action.in_({NameAction.KEEP, NameAction.SKIP}))
)
async def name_skipped_at_onboarding(
    callback: CallbackQuery,
    callback_data: NameCb,
    state: FSMContext,
    uow: UnitOfWork,
    principal: Principal,
    bot: Bot,
    i18n: I18n,
    channel: Channel,
    **data: Any,
) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if callback_data.action == NameAction.SKIP:
        text = _("All right. You can tell me your name later with /name.")
    else:
        text = _("Thank you, {name}!").format(
            name=html.escape(await people.own_name(uow, principal))
        )
    await callback.message.edit_text(text)
    await _welcome(callback.message, state, uow, principal, bot, i18n, channel, data)


async def _save_name(
    message: Message, uow: UnitOfWork, principal: Principal, *, onboarding: bool
) -> bool:
    try:
        name = await people.set_name(uow, principal, name=message.text or "")
    except InvalidInput as error:
        if error.reason == "too long":
            text = _("Please use a shorter name (up to 30 characters).")
        else:
            text = _("Please type the name you want to be called, e.g. 王阿姨.")
        if onboarding:
            text += "\n" + _("(optional: tap Skip)")
        await message.answer(text, reply_markup=_name_keyboard("", onboarding=onboarding))
        return False
    await message.answer(_("Thank you, {name}!").format(name=html.escape(name)))
    return True


@router.message(Command("name"))
async def change_name(
    message: Message, state: FSMContext, uow: UnitOfWork, principal: Principal
) -> None:
    await state.clear()
    await _ask_new_name(message, state, uow, principal)


@router.callback_query(NameCb.filter(F.action == NameAction.CHANGE))
async def change_name_button(
    callback: CallbackQuery, state: FSMContext, uow: UnitOfWork, principal: Principal
) -> None:
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await _ask_new_name(callback.message, state, uow, principal)


async def _ask_new_name(
    message: Message, state: FSMContext, uow: UnitOfWork, principal: Principal
) -> None:
    current = await people.own_name(uow, principal)
    await state.set_state(NameForm.name)
    text = _name_question()
    if current:
        text += "\n" + _("Now: {name}").format(name=html.escape(current))
    await message.answer(
        text + "\n" + _("(or /cancel)"), reply_markup=_name_keyboard(current, onboarding=False)
    )


@router.message(NameForm.name, F.text & ~F.text.startswith("/"))
async def new_name_typed(
    message: Message, state: FSMContext, uow: UnitOfWork, principal: Principal
) -> None:
    if await _save_name(message, uow, principal, onboarding=False):
        await state.clear()


@router.callback_query(NameForm.name, NameCb.filter(F.action == NameAction.KEEP))
async def name_kept(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(_("Your name stays as it is."))


@router.message(Onboarding.name, ~F.text.startswith("/"))
@router.message(NameForm.name, ~F.text.startswith("/"))
async def name_needs_text(message: Message) -> None:
    await message.answer(_("Please type the name you want to be called, e.g. 王阿姨."))
