"""Keyboards and media that depend on what the person's channel can do (bot/domain/channels.py):
the phone-number keyboard, and photos shown on a channel other than the one they came from."""

from __future__ import annotations

import logging
from io import BytesIO

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BufferedInputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _

from bot.domain.channels import capabilities
from bot.domain.enums import Channel
from bot.domain.needs import photo_url

log = logging.getLogger(__name__)


def phone_keyboard(channel: Channel) -> ReplyKeyboardMarkup | ReplyKeyboardRemove:
    """Where the channel can share the person's own contact, a button for it; elsewhere the
    person types the number (no button that would only send its label)."""
    if not capabilities(channel).contact_sharing:
        return ReplyKeyboardRemove()
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def phone_question(channel: Channel) -> str:
    """The question that goes with `phone_keyboard`."""
    if capabilities(channel).contact_sharing:
        return _("Your mobile phone number? Type it, or share it with the button.")
    return _("Your mobile phone number? Please type it (11 digits).")


def photo_reference(channel: Channel, message: Message) -> str | None:
    """How a photo a person sent is kept: "<channel>:<file id>" (the largest size); the file id
    works only through that channel's bot, so `PhotoLibrary` fetches it for another."""
    if not message.photo:
        return None
    return f"{channel.value}:{message.photo[-1].file_id}"


class PhotoLibrary:
    """Shows a kept photo on any channel: the same channel sends it by its file id; another
    downloads it through the bot of the channel it came from and uploads it."""

    def __init__(self, bots: dict[Channel, Bot]) -> None:
        self.bots = bots

    async def sendable(self, reference: str, channel: Channel) -> str | BufferedInputFile | None:
        address = photo_url(reference)
        if address is not None:
            # Telegram fetches a photo by its address itself; elsewhere it is shown as a link.
            return address if channel is Channel.TELEGRAM else None
        source, _sep, file_id = reference.partition(":")
        if source not in Channel._value2member_map_ or not file_id:
            return None
        if Channel(source) is channel:
            return file_id
        bot = self.bots.get(Channel(source))
        if bot is None:
            return None
        buffer = BytesIO()
        try:
            await bot.download(file_id, destination=buffer)
        except (TelegramAPIError, OSError) as error:
            log.warning("could not fetch a %s photo: %s", source, error)
            return None
        return BufferedInputFile(buffer.getvalue(), "photo.jpg")

    async def show(self, message: Message, reference: str | None, channel: Channel) -> bool:
        """Send the photo into the chat of `message`; False (and nothing sent) if it cannot be
        had any more."""
        if not reference:
            return False
        photo = await self.sendable(reference, channel)
        if photo is None:
            return False
        try:
            await message.answer_photo(photo)
        except TelegramAPIError as error:
            log.warning("could not show a photo: %s", error)
            return False
        return True
