"""What each chat channel can do, so handlers offer only what the person can really use."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.enums import Channel


@dataclass(frozen=True, slots=True)
class Capabilities:
    # A "share my phone number" button that sends the person's own contact (Telegram only:
    # a browser has no such thing, and on the web the button would just send its label).
    contact_sharing: bool
    # A "share my location" button.
    location_sharing: bool
    # The person can send a photo (Telegram's attachment, the web page's upload button).
    photo_upload: bool


CAPABILITIES = {
    Channel.TELEGRAM: Capabilities(contact_sharing=True, location_sharing=True, photo_upload=True),
    Channel.WEB: Capabilities(contact_sharing=False, location_sharing=True, photo_upload=True),
    Channel.WECHAT: Capabilities(contact_sharing=False, location_sharing=False, photo_upload=True),
}


def capabilities(channel: Channel) -> Capabilities:
    return CAPABILITIES[channel]
