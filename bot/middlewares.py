"""Per-update context: who is writing (a Principal), and a fresh unit of work for the handler;
and the guards in front of it: replays dropped, unstorable characters removed, messages that
arrive while the database is down kept and answered when it is back."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from weakref import WeakValueDictionary

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.middlewares.user_context import (
    EVENT_CHAT_KEY,
    EVENT_CONTEXT_KEY,
    EVENT_FROM_USER_KEY,
    EVENT_THREAD_ID_KEY,
    UserContextMiddleware,
)
from aiogram.types import TelegramObject, Update, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.enums import Channel
from bot.domain.text import clean_tree, needs_cleaning
from bot.i18n import locale_from_language_code
from bot.replays import SeenUpdates
from bot.services import people
from bot.services.identity_cache import IdentityCache
from storage.db import is_outage
from storage.uow import UnitOfWork

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
log = logging.getLogger(__name__)

KEPT_PER_CHAT = 5
KEPT_CHATS = 10_000


@dataclass(frozen=True)
class KeptUpdate:
    bot: Bot
    update: Update
    channel: Channel
    # True: nothing of it was handled (it can be handled again); False: it failed half-way,
    # so the person is asked to send it again rather than risk doing it twice.
    replayable: bool


class OutageInbox:
    """Messages that arrived while the database was unreachable, per chat (the newest few),
    until it is back (`bot.app.outage_recovery` hands them to the Dispatcher again)."""

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[int, int], list[KeptUpdate]] = OrderedDict()
        self.changed = asyncio.Event()

    def keep(self, chat_id: int, kept: KeptUpdate) -> None:
        key = (kept.bot.id, chat_id)
        queue = self._kept.pop(key, [])
        queue = [*queue, kept][-KEPT_PER_CHAT:]
        self._kept[key] = queue
        while len(self._kept) > KEPT_CHATS:
            self._kept.popitem(last=False)
        self.changed.set()

    def take_all(self) -> list[KeptUpdate]:
        taken = [kept for queue in self._kept.values() for kept in queue]
        self._kept.clear()
        self.changed.clear()
        return taken

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._kept.values())


class IdentityMiddleware(BaseMiddleware):
    """Outer middleware on updates: finds the person behind the sender, or creates them when
    they start (a message); taps, membership changes and the like from someone unknown add
    nobody. While the database is down, a message is kept and the person told so."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        settings: Settings,
        i18n: I18n | None = None,
        inbox: OutageInbox | None = None,
        identities: IdentityCache | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.i18n = i18n
        self.inbox = inbox
        self.identities = (
            identities if identities is not None else IdentityCache(settings.identity_seconds)
        )

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data["uow"] = UnitOfWork(self.session_factory)
        data["settings"] = self.settings
        user: User | None = data.get("event_from_user")
        chat = data.get("event_chat")
        if user is None or user.is_bot:
            return await handler(event, data)
        channel: Channel = data.setdefault("channel", Channel.TELEGRAM)
        starts = isinstance(event, Update) and event.message is not None
        locale = locale_from_language_code(user.language_code, self.settings.default_locale)
        try:
            find = people.identify if starts else people.identify_known
            identity = await find(
                data["uow"],
                channel=channel,
                external_id=str(user.id),
                chat_id=str(chat.id if chat else user.id),
                display_name=user.full_name,
                fallback_locale=locale,
                superadmin=channel is Channel.TELEGRAM and user.id in self.settings.admin_ids,
                cache=self.identities,
            )
        except Exception as error:
            if not (is_outage(error) and isinstance(event, Update)):
                raise
            await self._outage(event, data, locale, replayable=True)
            return None
        if identity is None:
            await self._unknown(event, data, locale)
            return None
        data["identity"] = identity
        data["principal"] = identity.principal
        try:
            return await handler(event, data)
        except Exception as error:
            if not (is_outage(error) and isinstance(event, Update)):
                raise
            await self._outage(event, data, identity.principal.locale, replayable=False)
            return None

    def _context(self, locale: str) -> Any:
        if self.i18n is None:
            return _Null()
        return _Both(self.i18n, locale)

    async def _unknown(self, event: TelegramObject, data: dict[str, Any], locale: str) -> None:
        """A tap from someone the store does not know (the bot's data was reset, or a forged
        update): point them to /start instead of creating a person."""
        if isinstance(event, Update) and event.callback_query is not None:
            with self._context(locale):
                text = _("This button is no longer valid. Send /start to begin again.")
            await data["bot"].answer_callback_query(
                event.callback_query.id, text=text, show_alert=True
            )

    async def _outage(
        self, event: Update, data: dict[str, Any], locale: str, *, replayable: bool
    ) -> None:
        bot: Bot = data["bot"]
        chat = data.get("event_chat")
        log.warning("update %s: the database is unavailable; the message is kept", event.update_id)
        with self._context(locale):
            if replayable:
                busy = _(
                    "The service is busy for a moment. Your message is kept: we will answer "
                    "it as soon as the service is back."
                )
            else:
                busy = _(
                    "The service is busy for a moment and your message could not be finished. "
                    "We will tell you when the service is back; then please send it again."
                )
            tap = _("The service is busy for a moment. Please tap again in a minute.")
        if event.callback_query is not None:
            await bot.answer_callback_query(event.callback_query.id, text=tap, show_alert=True)
            return
        if chat is None or event.message is None or self.inbox is None:
            return
        self.inbox.keep(chat.id, KeptUpdate(bot, event, data["channel"], replayable))
        await bot.send_message(chat.id, busy)


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


class _Both:
    """i18n.context() and i18n.use_locale(locale) together."""

    def __init__(self, i18n: I18n, locale: str) -> None:
        self.contexts = (i18n.context(), i18n.use_locale(locale))

    def __enter__(self) -> None:
        for context in self.contexts:
            context.__enter__()

    def __exit__(self, *args: Any) -> None:
        for context in reversed(self.contexts):
            context.__exit__(*args)


class CleanTextMiddleware(BaseMiddleware):
    """Outer middleware on updates: NUL characters and lone surrogates removed from every
    string of the update (PostgreSQL refuses NUL and no driver encodes a lone surrogate, so
    either would lose the message at the first write); everything else is kept as typed."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        if not _unstorable_in(event):
            return await handler(event, data)
        raw = event.model_dump(mode="python", by_alias=True, exclude_none=True)
        cleaned = Update.model_validate(clean_tree(raw), context={"bot": data["bot"]})
        # The user and chat aiogram took from the update before this middleware: again, clean.
        context = UserContextMiddleware.resolve_event_context(cleaned)
        data[EVENT_CONTEXT_KEY] = context
        for key, value in (
            (EVENT_FROM_USER_KEY, context.user),
            (EVENT_CHAT_KEY, context.chat),
            (EVENT_THREAD_ID_KEY, context.thread_id),
        ):
            if value is not None:
                data[key] = value
        return await handler(cleaned, data)


def _unstorable_in(model: BaseModel) -> bool:
    """Whether some string of an update holds NUL or a lone surrogate, read off the objects
    themselves: dumping every update to check it cost more than the rest of this middleware
    (a free text's update is a few dozen strings, almost never one to clean). The fields that
    are None or numbers — most of a Message's hundred — are passed over first."""
    for value in model.__dict__.values():
        if value is None or value.__class__ in _PLAIN:
            continue
        if _unstorable_value(value):
            return True
    return needs_cleaning(model.__pydantic_extra__)


def _unstorable_value(value: Any) -> bool:
    if isinstance(value, BaseModel):
        return _unstorable_in(value)
    if isinstance(value, list | tuple):
        return any(_unstorable_value(v) for v in value)
    return needs_cleaning(value)


_PLAIN = (int, bool, float)


class ReplayGuardMiddleware(BaseMiddleware):
    """Outer middleware on updates: an update id a bot has already taken in is dropped
    (Telegram redelivers when a webhook answer is slow; one request, one vote). Only for
    platforms whose update ids are theirs (Telegram); the web chat numbers its own and has
    its client ids. If the store cannot be reached, the update goes on (not lost)."""

    def __init__(self, seen: SeenUpdates, channels: frozenset[Channel]) -> None:
        self.seen = seen
        self.channels = channels

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        channel = data.get("channel", Channel.TELEGRAM)
        if not isinstance(event, Update) or channel not in self.channels:
            return await handler(event, data)
        bot: Bot = data["bot"]
        try:
            first = await self.seen.first_time(bot.id, event.update_id)
        except Exception:
            log.warning("could not check whether update %s is a replay", event.update_id)
            first = True
        if not first:
            log.info("update %s of bot %s is a replay: dropped", event.update_id, bot.id)
            return None
        return await handler(event, data)


class ChatOrderMiddleware(BaseMiddleware):
    """One chat's updates are handled one after another.

    Long polling hands aiogram a batch and handles it concurrently, so a double tap on
    "Confirm" could file twice; in order, the second tap finds the flow finished."""

    def __init__(self) -> None:
        self._locks: WeakValueDictionary[tuple[int, int], asyncio.Lock] = WeakValueDictionary()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        key_id = chat.id if chat is not None else (user.id if user is not None else None)
        if key_id is None:
            return await handler(event, data)
        key = (data["bot"].id, key_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            return await handler(event, data)
