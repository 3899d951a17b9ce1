"""The outbox sender and the authors' progress messages: tasks of the bot process.

Each channel has its own pace (`bot/channels/pacing.py`: the configured rate over the channel,
one message a second into one chat, a 429's retry_after holds the channel) — in Redis, shared
by every process, when REDIS_URL is set. A row is marked `sending` in the
database before the platform is called, so neither a restart nor a second process sends it
again; see docs/broadcasts.md for what happens to the few rows in flight when a process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.channels.pacing import ChannelPacer, make_pacer
from bot.config import Settings
from bot.domain.broadcasts import (
    MAX_CAPTION,
    BroadcastState,
    ButtonKind,
    DeliveryState,
    text_for,
)
from bot.domain.enums import Channel
from bot.services import UnitOfWork, broadcasts, people
from bot.services.ports import BROADCAST_KIND, Outcome, Sending, outcome, sending
from handlers.broadcasts.callbacks import BroadcastAction, BroadcastCb
from handlers.broadcasts.texts import progress_keyboard, progress_text, report_text
from handlers.common.deeplinks import start_link
from handlers.common.keyboards import button
from handlers.emergencies.callbacks import EmergencyAction, EmergencyCb

log = logging.getLogger(__name__)

IN_FLIGHT = 8  # sends awaiting the platform's answer at once, per channel
IDLE_SECONDS = 0.5
RECOVER_SECONDS = 2.0  # also how soon a scheduled broadcast starts
MAX_ATTEMPTS = 5
GROUP_WAIT_SECONDS = 0.5  # a group row due later than this goes back to the queue
# How the channel said it delivered a row (WeChat's 48-hour window) → the row's state.
DELIVERED_AS = {
    "sent": DeliveryState.SENT,
    "template": DeliveryState.TEMPLATE,
    "waiting": DeliveryState.WAITING,
}


async def pause(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake at once when the process is stopping."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)


def recipient_keyboard(content: broadcasts.Content) -> InlineKeyboardMarkup | None:
    """The broadcast's button in the current (the recipient's) language."""
    if content.button is ButtonKind.SIGN_UP:
        row = [button(_("Sign up"), BroadcastCb(action=BroadcastAction.OPEN, id=content.id))]
    elif content.button is ButtonKind.ANSWER:
        row = [button(_("Answer"), BroadcastCb(action=BroadcastAction.OPEN, id=content.id))]
    elif content.button is ButtonKind.JOIN:
        row = [
            button(
                _("Open the consultation"), BroadcastCb(action=BroadcastAction.OPEN, id=content.id)
            )
        ]
    elif content.button is ButtonKind.ROLL_CALL and content.emergency_id is not None:
        row = [
            button(
                _("I can come"), EmergencyCb(action=EmergencyAction.COMING, id=content.emergency_id)
            ),
            button(
                _("I can't"), EmergencyCb(action=EmergencyAction.CANNOT, id=content.emergency_id)
            ),
        ]
    else:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[row])


def group_keyboard(content: broadcasts.Content, link: str | None) -> InlineKeyboardMarkup | None:
    """A post in a group chat carries no personal button: the survey opens in a private chat
    (`link`: the deep link to it)."""
    if content.button is ButtonKind.ANSWER and link is not None:
        row = [InlineKeyboardButton(text=_("Answer in a private chat"), url=link)]
        return InlineKeyboardMarkup(inline_keyboard=[row])
    return None


class OutboxSender:
    def __init__(
        self,
        make_uow: Callable[[], UnitOfWork],
        i18n: I18n,
        bots: dict[Channel, Bot],
        settings: Settings,
        *,
        redis: Any = None,
    ) -> None:
        self.make_uow = make_uow
        self.i18n = i18n
        self.bots = bots
        self.settings = settings
        self.owner = uuid.uuid4().hex  # this process, in the rows it claims
        # Set when the process stops: loops finish what they hold instead of being cut off
        # inside a transaction.
        self.stopping = asyncio.Event()
        # One pace per channel and bot (its own rate), shared by all processes through Redis if set.
        self.pacers = {
            c: make_pacer(f"{c.value}:{bot.id}", settings.outbox_rate(c), redis)
            for c, bot in bots.items()
        }
        self.group_interval = 60.0 / settings.outbox_group_per_minute
        self.lease = timedelta(seconds=settings.outbox_lease_seconds)
        self._contents: dict[int, broadcasts.Content] = {}
        self._photo_ids: dict[int, str] = {}  # broadcast -> Telegram file id after one upload

    async def run(self) -> None:
        await asyncio.gather(*(self._channel_loop(c) for c in self.bots), self._recover_loop())

    async def _recover_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                await broadcasts.queue_due(self.make_uow())
                count = await broadcasts.recover(self.make_uow(), lease=self.lease)
                if count:
                    log.warning("outbox: %s rows left in flight by a stopped process", count)
            except Exception:
                log.exception("outbox: the scheduled/recovery check failed")
            await pause(self.stopping, RECOVER_SECONDS)

    async def _channel_loop(self, channel: Channel) -> None:
        while not self.stopping.is_set():
            try:
                if not await self.send_batch(channel):
                    await pause(self.stopping, IDLE_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox: the %s sender failed; trying again", channel.value)
                await pause(self.stopping, 1.0)

    async def send_batch(self, channel: Channel) -> int:
        """Claim what may go now on this channel and send it, at the channel's pace; the
        number of rows claimed (0: nothing to do)."""
        pacer = self.pacers[channel]
        rows = await broadcasts.claim(
            self.make_uow(),
            channel=channel,
            owner=self.owner,
            limit=max(1, int(pacer.rate * 2)),
            lease=self.lease,
        )
        if rows:
            await self._send_batch(channel, pacer, rows)
        return len(rows)

    async def send_pending(self) -> None:
        """Send everything that may go now, on every channel (tests, one-off runs)."""
        await broadcasts.queue_due(self.make_uow())
        for channel in self.bots:
            while await self.send_batch(channel):
                pass

    async def _send_batch(
        self, channel: Channel, pacer: ChannelPacer, rows: list[broadcasts.Delivery]
    ) -> None:
        limit = asyncio.Semaphore(IN_FLIGHT)
        tasks: list[asyncio.Task[None]] = []
        started: set[int] = set()
        try:
            for row in rows:
                if self.stopping.is_set():
                    break  # the rest are released below, for the next process
                gap = self.group_interval if row.group else None
                if row.group:
                    wait = await pacer.ready_in(row.chat_id, gap)
                    if wait > GROUP_WAIT_SECONDS:
                        # The group had a post moments ago: back to the queue until it may
                        # have the next, so the rest of the channel is not held behind it.
                        await broadcasts.defer(
                            self.make_uow(), owner=self.owner, row_id=row.row_id, seconds=wait
                        )
                        continue
                await limit.acquire()
                await self._content(row.broadcast_id)  # read before the row is committed
                if not await broadcasts.start_sending(
                    self.make_uow(), row_id=row.row_id, owner=self.owner, lease=self.lease
                ):
                    limit.release()
                    continue  # paused, cancelled, or taken over: not ours any more
                started.add(row.row_id)
                # The slot is reserved once the row is ready to go: a slot taken before the
                # database work (or a free place in flight) would pass unused, and with the
                # pace shared the other processes could not have it either.
                await asyncio.sleep(await pacer.reserve(row.chat_id, gap))
                tasks.append(asyncio.create_task(self._deliver(channel, pacer, row, limit)))
        finally:
            await asyncio.gather(*tasks, return_exceptions=True)
            left = [r.row_id for r in rows if r.row_id not in started]
            with contextlib.suppress(Exception):
                await broadcasts.release(self.make_uow(), owner=self.owner, row_ids=left)

    async def _deliver(
        self,
        channel: Channel,
        pacer: ChannelPacer,
        row: broadcasts.Delivery,
        limit: asyncio.Semaphore,
    ) -> None:
        try:
            state, error = await self._attempt(channel, pacer, row)
            if state is not None:
                await broadcasts.finish(self.make_uow(), delivery=row, state=state, error=error)
        except Exception:
            log.exception("outbox: row %s could not be recorded", row.row_id)
        finally:
            limit.release()

    async def _attempt(
        self, channel: Channel, pacer: ChannelPacer, row: broadcasts.Delivery
    ) -> tuple[DeliveryState | None, str]:
        """Send one row: its final state, or None when it went back to the queue."""
        how = Outcome()
        token = outcome.set(how)
        try:
            await self._send(channel, row)
            return DELIVERED_AS.get(how.how, DeliveryState.SENT), ""
        except TelegramRetryAfter as error:
            if not row.group:
                # A group's own limit (20 a minute) holds only that group: its row waits.
                await pacer.hold(float(error.retry_after))
            await broadcasts.retry_later(
                self.make_uow(), row_id=row.row_id, seconds=float(error.retry_after)
            )
            return None, ""
        except TelegramForbiddenError as error:
            return DeliveryState.BLOCKED, _short(error.message)
        except TelegramMigrateToChat as error:
            if not row.group:
                return DeliveryState.FAILED, _short(error.message)
            # The group became a supergroup: nothing was posted; the group and its row move to
            # the new id, and the row goes again.
            await broadcasts.group_moved(
                self.make_uow(), delivery=row, new_chat_id=str(error.migrate_to_chat_id)
            )
            return None, ""
        except TelegramServerError as error:
            if "gateway" in error.message.lower():
                # A gateway's error: Telegram behind it may have delivered it. Not again.
                return DeliveryState.UNCERTAIN, _short(error.message)
            # Telegram itself answered with an error: nothing was delivered, so try again.
            if await self._attempts_left(row):
                await broadcasts.retry_later(self.make_uow(), row_id=row.row_id, seconds=5.0)
                return None, ""
            return DeliveryState.FAILED, _short(error.message)
        except TelegramBadRequest as error:
            return DeliveryState.FAILED, _short(error.message)
        except TelegramNetworkError as error:
            # No answer: it may have arrived. Not sent again (see the module docstring).
            return DeliveryState.UNCERTAIN, _short(error.message)
        except TelegramAPIError as error:  # any other refusal the platform answered with
            return DeliveryState.FAILED, _short(error.message)
        finally:
            outcome.reset(token)

    async def _attempts_left(self, row: broadcasts.Delivery) -> bool:
        return await broadcasts.attempts(self.make_uow(), row_id=row.row_id) < MAX_ATTEMPTS

    async def _content(self, broadcast_id: int) -> broadcasts.Content:
        found = self._contents.get(broadcast_id)
        if found is None:
            found = await broadcasts.content(self.make_uow(), broadcast_id=broadcast_id)
            self._contents[broadcast_id] = found
        return found

    async def _send(self, channel: Channel, row: broadcasts.Delivery) -> None:
        content = await self._content(row.broadcast_id)
        bot = self.bots[channel]
        with self.i18n.context(), self.i18n.use_locale(row.locale):
            # Outside WeChat's 48-hour window a broadcast goes as a template message when one
            # is configured for BROADCAST_KIND (else it waits for the person's next message).
            sending.set(
                Sending(
                    BROADCAST_KIND,
                    _("A message from your community"),
                    _("Reply to this account to read it in full and to answer."),
                )
            )
            text = text_for(row.locale, content.text_zh, content.text_en)
            if content.urgent:
                text = "🚨 " + text
            if row.group:
                markup = group_keyboard(content, await self._survey_link(bot, channel, content))
            else:
                markup = recipient_keyboard(content)
        chat_id = int(row.chat_id)
        if content.photo is None:
            await bot.send_message(chat_id, text, reply_markup=markup, parse_mode=None)
            return
        # One message per row: with a photo the text is its caption (the service keeps it
        # within a caption's length), so a retry never repeats half of it.
        photo = self._photo_ids.get(content.id) if channel is Channel.TELEGRAM else None
        sent = await bot.send_photo(
            chat_id,
            photo or BufferedInputFile(content.photo, "broadcast.jpg"),
            caption=text[: MAX_CAPTION + 4],
            reply_markup=markup,
            parse_mode=None,
        )
        if channel is Channel.TELEGRAM and sent.photo:
            self._photo_ids[content.id] = sent.photo[-1].file_id

    async def _survey_link(
        self, bot: Bot, channel: Channel, content: broadcasts.Content
    ) -> str | None:
        if content.survey_id is None:
            return None
        return await start_link(bot, channel, self.settings, f"sv_{content.survey_id}")


def _short(message: str) -> str:
    return " ".join(message.split())[:200]


class ProgressReporter:
    """Keeps each author's progress message current (sent / failed / left, rate, time left),
    and sends the final report once when a broadcast is done or cancelled."""

    def __init__(
        self,
        make_uow: Callable[[], UnitOfWork],
        i18n: I18n,
        bots: dict[Channel, Bot],
        settings: Settings,
    ) -> None:
        self.make_uow = make_uow
        self.i18n = i18n
        self.bots = bots
        self.settings = settings
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        while not self.stopping.is_set():
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox: refreshing progress failed")
            await pause(self.stopping, self.settings.outbox_progress_seconds)

    async def refresh(self) -> None:
        for view in await broadcasts.active(self.make_uow()):
            if view.progress_channel is None or view.progress_chat_id is None:
                continue
            bot = self.bots.get(view.progress_channel)
            if bot is None:
                continue
            try:
                await self._show(bot, view)
            except Exception:
                log.exception("outbox: progress of broadcast %s", view.id)

    async def _show(self, bot: Bot, view: broadcasts.StatusView) -> None:
        contact = await people.contact(
            self.make_uow(), person_id=view.author_id, fallback_locale=self.settings.default_locale
        )
        locale = contact.locale if contact else self.settings.default_locale
        rate = self.settings.outbox_rate(view.progress_channel or Channel.WEB)
        finished = view.state in (BroadcastState.DONE, BroadcastState.CANCELLED)
        with self.i18n.context(), self.i18n.use_locale(locale):
            text = progress_text(view, rate)
            markup = None if finished else progress_keyboard(view)
        chat_id = int(view.progress_chat_id or 0)
        message_id = view.progress_message_id
        if not finished and message_id is not None and view.progress_channel is Channel.WECHAT:
            return  # WeChat cannot edit: each change would be a new message; the report comes
        changed = text != view.progress_text or message_id is None
        if changed:
            message_id = await self._edit_or_send(bot, chat_id, message_id, text, markup)
        if not finished:
            if changed:
                await broadcasts.progress_shown(
                    self.make_uow(),
                    broadcast_id=view.id,
                    message_id=message_id,
                    text=text,
                    reported=False,
                )
            return
        # Claim the report first: with two processes only one sends it.
        if await broadcasts.progress_shown(
            self.make_uow(), broadcast_id=view.id, message_id=message_id, text=text, reported=True
        ):
            result = await broadcasts.report(self.make_uow(), None, broadcast_id=view.id)
            with self.i18n.context(), self.i18n.use_locale(locale):
                await bot.send_message(chat_id, report_text(result))

    async def _edit_or_send(
        self,
        bot: Bot,
        chat_id: int,
        message_id: int | None,
        text: str,
        markup: InlineKeyboardMarkup | None,
    ) -> int:
        if message_id is not None:
            try:
                await bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                )
                return message_id
            except TelegramBadRequest as error:
                if "not modified" in error.message:
                    return message_id
                # The message is gone (deleted, too old): post a fresh one.
        sent = await bot.send_message(chat_id, text, reply_markup=markup)
        assert isinstance(sent, Message)
        return sent.message_id
