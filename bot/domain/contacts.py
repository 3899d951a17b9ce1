"""How people are called and reached: the name a person gives (称呼), a contact phone
(mainland mobile or landline) and an address / house number (门牌). Pure rules, no I/O.

Nobody is ever shown a channel id: a person who gave no name is shown by their person
number (the number /me shows and `admin grant` takes)."""

from __future__ import annotations

import re

from bot.domain.errors import InvalidInput

MAX_NAME = 30
MAX_ADDRESS = 200

_SPACES = re.compile(r"\s+")
# What chat adapters used to invent from chat ids ("web-85245", "telegram:123"): never a name.
_CHANNEL_LIKE = re.compile(r"^(?:web-\d{5}|(?:telegram|web|wechat):\S+)$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Landline: the area code (010 and 02x have three digits, e.g. Chongqing 023; the others
# four), then a 7-8 digit number, optional extension.
_LANDLINE = re.compile(r"^(0[12]\d|0[3-9]\d{2})([2-9]\d{6,7})(?:(?:转|ext\.?|x|#)(\d{1,6}))?$")
# Local landline without an area code (a Chongqing number typed as 6812 3456).
_LOCAL = re.compile(r"^[2-9]\d{6,7}$")


def is_channel_label(name: str) -> bool:
    """True for names an adapter made up from a chat id (never shown to anyone)."""
    return bool(_CHANNEL_LIKE.match(name.strip()))


def shown_name(name: str | None, person_id: int) -> str:
    """The name to show for a person: what they gave, or their person number."""
    text = (name or "").strip()
    if text and not is_channel_label(text):
        return text
    return f"#{person_id}"


NOT_NAMES = frozenset(
    {
        "你好",
        "您好",
        "在吗",
        "在不在",
        "谢谢",
        "好的",
        "嗯",
        "是",
        "不",
        "hello",
        "hi",
        "hey",
        "thanks",
        "thank you",
        "ok",
        "yes",
        "no",
        "help",
        "帮助",
        "救命",
    }
)


def clean_name(raw: str) -> str:
    """How a person wants to be called: one line, at most MAX_NAME characters."""
    text = _SPACES.sub(" ", raw).strip()
    if not text:
        raise InvalidInput("name", "empty")
    if len(text) > MAX_NAME:
        raise InvalidInput("name", "too long")
    if text.startswith("/") or is_channel_label(text) or not any(ch.isalpha() for ch in text):
        raise InvalidInput("name", "shape")
    if text.lower().strip("!！?？.。~ ") in NOT_NAMES or any(ch in text for ch in "，。！？!?"):
        # A greeting or a sentence is what people type first, not how they are called.
        raise InvalidInput("name", "shape")
    return text


def normalise_contact_phone(raw: str) -> str:
    """A mainland mobile (138 0013 8000, +86 …) or landline (023-6812 3456, 023 68123456
    转 12) in one written form: 13800138000, 023-68123456, 023-68123456-12."""
    value = raw.strip().replace("（", "(").replace("）", ")").replace("－", "-")
    value = value.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    value = re.sub(r"[\s\-()（）.]", "", value).lower()
    value = value.removeprefix("+86").removeprefix("0086")
    if value.startswith("86") and len(value) == 13:
        value = value[2:]
    if _MOBILE.match(value):
        return value
    landline = _LANDLINE.match(value)
    if landline:
        area, number, extension = landline.groups()
        return f"{area}-{number}" + (f"-{extension}" if extension else "")
    if _LOCAL.match(value):
        return value
    raise InvalidInput("contact_phone", "shape")


def clean_address(raw: str) -> str:
    text = _SPACES.sub(" ", raw).strip()
    if not text:
        raise InvalidInput("address", "empty")
    if len(text) > MAX_ADDRESS:
        raise InvalidInput("address", "too long")
    return text


_BUILDING = re.compile(
    r"(\d+)\s*(?:栋|幢|号楼|座)|(?:building|bldg\.?|block|blk\.?|tower)\s*(?:no\.?\s*)?(\d+)",
    re.IGNORECASE,
)
_NUMERALS = dict(zip("一二三四五六七八九十", range(1, 11), strict=True))
_HAN_BUILDING = re.compile(r"([一二三四五六七八九十])\s*(?:栋|幢|号楼|座)")


def building_of(address: str | None) -> str | None:
    """The building number in an address ("5栋2单元301", "Building 5, Flat 301") or None."""
    if not address:
        return None
    match = _BUILDING.search(address)
    if match:
        return str(int(match.group(1) or match.group(2)))
    han = _HAN_BUILDING.search(address)
    if han:
        return str(_NUMERALS[han.group(1)])
    return None
