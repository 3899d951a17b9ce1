"""The Bot API as Telegram answers it, for every channel that is not Telegram.

Handlers speak the Bot API; the web chat and WeChat sessions (and the fake Telegram of the
tests) answer it. Telegram's rules live here once, each in one function: what text a message
may carry (its HTML / MarkdownV2 / Markdown parsed as TDLib parses it, its length), which
keyboards it may carry (callback data of 1–64 bytes …), when an edit is refused ("message is
not modified"), and the refusals' own words ("Bad Request: query is too old …"). So a handler
meets the same refusal on every channel, and a test against the fake proves it for all.

Pure Python on JSON dicts (the Bot API's own shape): no aiogram, no web server."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

JSON = dict[str, Any]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
INLINE_BUTTON_ACTIONS = frozenset(
    [
        "callback_data",
        "url",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    ]
)


# --------------------------------------------------------------------------- refusals


class ApiRefusal(Exception):
    """A refusal in Telegram's words, e.g. (400, 'Bad Request: message is too long'): becomes
    `{"ok": false, "error_code", "description", "parameters"}`."""

    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = {k: v for k, v in parameters.items() if v is not None}

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(message: str) -> ApiRefusal:
    return ApiRefusal(400, f"Bad Request: {message}")


def message_text_is_empty() -> ApiRefusal:
    return bad_request("message text is empty")


def message_is_too_long(*, caption: bool = False) -> ApiRefusal:
    return bad_request("message caption is too long" if caption else "message is too long")


def button_data_invalid() -> ApiRefusal:
    return bad_request("BUTTON_DATA_INVALID")


def message_not_found(verb: str) -> ApiRefusal:
    """ "message to edit not found", "… to delete …", "… to copy …"."""
    return bad_request(f"message to {verb} not found")


def message_cant_be_edited() -> ApiRefusal:
    return bad_request("message can't be edited")


def message_cant_be_deleted() -> ApiRefusal:
    return bad_request("message can't be deleted")


def message_is_not_modified() -> ApiRefusal:
    return bad_request(
        "message is not modified: specified new message content and reply markup are "
        "exactly the same as a current content and reply markup of the message"
    )


def query_is_too_old() -> ApiRefusal:
    """A callback query answered already, answered too late, or never sent."""
    return bad_request("query is too old and response timeout expired or query ID is invalid")


def chat_not_found() -> ApiRefusal:
    return bad_request("chat not found")


def wrong_file_identifier() -> ApiRefusal:
    """A file to send (or download) by an id that names no file."""
    return bad_request("wrong file identifier/HTTP URL specified")


def invalid_file_id() -> ApiRefusal:
    """getFile of an id a channel never gave out."""
    return bad_request("invalid file_id")


# --------------------------------------------------------------------------- formatted text

_SPACE = " \t\r\n\0\v\f"  # TDLib's is_space (NUL included: it ends every C string)
_TRIM = " \t\r\n\v\f"
_PRIORITY = {"pre": 11, "code": 20, "text_link": 49, "text_mention": 49, "bold": 90}
_PRIORITY |= {"italic": 91, "underline": 92, "strikethrough": 93, "spoiler": 94}
_PRIORITY |= {"custom_emoji": 99, "blockquote": 0, "expandable_blockquote": 0}
_HTML_TAGS = {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler"}
_HTML_TAGS |= {"tg-emoji", "span", "pre", "code", "blockquote"}
_HTML_SIMPLE = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline"}
_HTML_SIMPLE |= {"ins": "underline", "s": "strikethrough", "strike": "strikethrough"}
_HTML_SIMPLE |= {"del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler"}
_TD_NAMES = {"bold": "Bold", "italic": "Italic", "underline": "Underline", "code": "Code"}
_TD_NAMES |= {"strikethrough": "Strikethrough", "spoiler": "Spoiler", "pre": "Pre"}
_TD_NAMES |= {"text_link": "TextUrl", "custom_emoji": "CustomEmoji", "blockquote": "BlockQuote"}
_MD2_RESERVED = "_*[]()~`>#+-=|{}.!\n"
_BLOCKING = {"code", "pre", "text_link", "text_mention", "custom_emoji"}
_AUTO_ENTITIES = (
    (
        "bot_command",
        re.compile(r"(?<![\w/<>])/[a-zA-Z0-9_]{1,64}(?:@[a-zA-Z0-9_]{3,32})?(?![\w/<>])"),
    ),
    ("url", re.compile(r"(?<![\w@/.])https?://[^\s<>\"]+", re.IGNORECASE)),
    (
        "email",
        re.compile(r"(?<![\w.+-])[\w.+-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*\.[a-zA-Z]{2,}\b"),
    ),
    ("mention", re.compile(r"(?<![\w@])@[a-zA-Z0-9_]{2,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#(?=\w*[^\W\d_])\w{1,256}(?![\w#])")),
)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Telegram entity offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _entity(kind: str, offset: int, length: int, **extra: Any) -> JSON:
    return {"type": kind, "offset": offset, "length": length, **extra}


class _Cursor:
    """Character access past the end reads as NUL, like TDLib's C strings."""

    def __init__(self, src: str) -> None:
        self.src, self.n = src, len(src)

    def __getitem__(self, k: int) -> str:
        return self.src[k] if k < self.n else "\0"

    def byte(self, k: int) -> int:
        return len(self.src[:k].encode())


def _fail(message: str) -> ApiRefusal:
    return bad_request(f"can't parse entities: {message}")


def checked_link(url: str) -> str:
    """TDLib's get_checked_link, simplified: allowed schemes, bare domains get http://, / path."""
    url = url.strip()
    if not url or any(ch in url for ch in " \n<>"):
        return ""
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        if "." not in url:
            return ""
        url = "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[x": no link (TDLib drops what it cannot read as one)
        return ""
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.netloc:
            return ""
        return urlunsplit((scheme, parts.netloc, parts.path or "/", parts.query, parts.fragment))
    return url if scheme in ("tg", "ton", "ftp") else ""


def _link_entity(url: str, offset: int, length: int) -> JSON | None:
    mention = re.fullmatch(r"tg://user\?id=(\d+)", url.strip())
    if mention:
        user = {"id": int(mention.group(1)), "is_bot": False, "first_name": ""}
        return _entity("text_mention", offset, length, user=user)
    url = checked_link(url)
    return _entity("text_link", offset, length, url=url) if url else None


def _html_entity(c: _Cursor, pos: int) -> tuple[int, int]:
    """Decode `&...;` at pos (TDLib decode_html_entity): (code point or 0, end position)."""
    end, code = pos + 1, 0
    if c[pos + 1] == "#":
        end += 1
        if c[pos + 2] == "x":
            end += 1
            while c[end] in "0123456789abcdefABCDEF":
                code = code * 16 + int(c[end], 16)
                end += 1
        else:
            while c[end] in "0123456789":
                code = code * 10 + int(c[end])
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while c[end].isascii() and c[end].isalpha():
            end += 1
        code = {"lt": 60, "gt": 62, "amp": 38, "quot": 34}.get(c.src[pos + 1 : end], 0)
        if not code:
            return 0, pos
    return code, end + 1 if c[end] == ";" else end


def parse_html(src: str) -> tuple[str, list[JSON]]:
    """Telegram's parse_mode=HTML (port of TDLib parse_html)."""
    return _Html(src).parse()


class _Html:
    """TDLib's parse_html over one source: the text so far (and its UTF-16 length), the
    entities found, and the tags still open."""

    def __init__(self, src: str) -> None:
        self.src, self.c = src, _Cursor(src)
        self.out: list[str] = []
        self.u16 = 0
        self.ents: list[JSON] = []
        self.stack: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 offset, len(out)

    def parse(self) -> tuple[str, list[JSON]]:
        i = 0
        while i < self.c.n:
            ch = self.src[i]
            if ch == "&" and (end := self._character(i)) is not None:
                i = end
            elif ch != "<":
                self.out.append(ch)
                self.u16 += _units(ch)
                i += 1
            elif self.c[i + 1] != "/":
                i = self._start_tag(i)
            else:
                i = self._end_tag(i)
        if self.stack:
            raise _fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"')
        for ent in self.ents:
            if ent["type"] == "code":
                ent.pop("language", None)
        return "".join(self.out), self.ents

    def _skip_space(self, i: int) -> int:
        while i < self.c.n and self.c[i] in _SPACE:
            i += 1
        return i

    def _character(self, i: int) -> int | None:
        """An HTML entity (`&amp;` …) at i taken as its character: the position after it, or
        None when it is not one (the `&` is then a character of its own)."""
        code, end = _html_entity(self.c, i)
        if not code:
            return None
        if 0xD800 <= code <= 0xDFFF:
            raise _fail(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        self.out.append(chr(code))
        self.u16 += 2 if code > 0xFFFF else 1
        return end

    def _start_tag(self, begin: int) -> int:
        c, i = self.c, begin + 1
        while c[i] not in _SPACE and c[i] != ">":
            i += 1
        if i >= c.n:
            raise _fail(f"Unclosed start tag at byte offset {c.byte(begin)}")
        tag = self.src[begin + 1 : i].lower()
        if tag not in _HTML_TAGS:
            raise _fail(f'Unsupported start tag "{tag}" at byte offset {c.byte(begin)}')
        arg = ""
        while True:
            i = self._skip_space(i)
            if c[i] == ">":
                break
            i, name, value = self._attribute(tag, begin, i)
            arg = _tag_argument(tag, name, value, arg)
        if tag == "span" and arg != "spoiler":
            raise _fail(f'Tag "span" must have class "tg-spoiler" at byte offset {c.byte(begin)}')
        self.stack.append((tag, arg, self.u16, len(self.out)))
        return i + 1

    def _attribute(self, tag: str, begin: int, i: int) -> tuple[int, str, str | None]:
        """One attribute of a start tag: (the position after it, its name, its value; None
        for the one attribute without a value, <blockquote expandable>)."""
        c, name_begin = self.c, i
        while c[i] not in _SPACE and c[i] != "=":
            i += 1
        name = self.src[name_begin:i]
        if not name:
            raise _fail(f'Empty attribute name in the tag "{tag}" at byte offset {c.byte(begin)}')
        i = self._skip_space(i)
        if c[i] != "=":
            if tag == "blockquote" and name == "expandable":
                return i, name, None
            raise _fail(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {c.byte(begin)}'
            )
        i = self._skip_space(i + 1)
        if i >= c.n:
            raise _fail(f'Unclosed start tag "{tag}" at byte offset {c.byte(begin)}')
        i, value = self._quoted_value(i) if c[i] in "'\"" else self._token_value(i)
        if i >= c.n:
            raise _fail(f"Unclosed start tag at byte offset {c.byte(begin)}")
        return i, name, value

    def _token_value(self, i: int) -> tuple[int, str]:
        c, token_begin = self.c, i
        while c[i].isascii() and (c[i].isalnum() or c[i] in ".-"):
            i += 1
        if c[i] not in _SPACE and c[i] != ">":
            raise _fail(f"Unexpected end of name token at byte offset {c.byte(token_begin)}")
        return i, self.src[token_begin:i].lower()

    def _quoted_value(self, i: int) -> tuple[int, str]:
        src, quote, chars = self.src, self.src[i], []
        i += 1
        while i < self.c.n and src[i] != quote:
            if src[i] == "&":
                code, end = _html_entity(self.c, i)
                if code:
                    chars.append(chr(code))
                    i = end
                    continue
            chars.append(src[i])
            i += 1
        return i + (1 if i < self.c.n else 0), "".join(chars)

    def _end_tag(self, begin: int) -> int:
        c, i = self.c, begin + 1
        if not self.stack:
            raise _fail(f"Unexpected end tag at byte offset {c.byte(begin)}")
        while c[i] not in _SPACE and c[i] != ">":
            i += 1
        end_tag = self.src[begin + 2 : i].lower()
        i = self._skip_space(i)
        if c[i] != ">":
            raise _fail(f"Unclosed end tag at byte offset {c.byte(begin)}")
        tag, arg, start, out_start = self.stack.pop()
        if end_tag and end_tag != tag:
            raise _fail(
                f'Unmatched end tag at byte offset {c.byte(begin)}, expected "</{tag}>", '
                f'found "</{end_tag}>"'
            )
        if self.u16 != start:  # an empty tag makes no entity
            self._close(tag, arg, start, out_start)
        return i + 1

    def _close(self, tag: str, arg: str, start: int, out_start: int) -> None:
        """The entity of a closed tag over the text since `start`."""
        ents, length = self.ents, self.u16 - start
        last = ents[-1] if ents else None
        same_span = last is not None and (last["offset"], last["length"]) == (start, length)
        if tag in _HTML_SIMPLE:
            ents.append(_entity(_HTML_SIMPLE[tag], start, length))
        elif tag == "tg-emoji":
            if not arg.isdigit() or int(arg) == 0:
                raise _fail("Invalid custom emoji identifier specified")
            ents.append(_entity("custom_emoji", start, length, custom_emoji_id=arg))
        elif tag == "a":
            link = _link_entity(arg or "".join(self.out[out_start:]), start, length)
            if link:
                ents.append(link)
        elif tag == "pre":
            if same_span and last and last["type"] == "code" and last.get("language"):
                last["type"] = "pre"
            else:
                ents.append(_entity("pre", start, length))
        elif tag == "code":
            if same_span and last and last["type"] == "pre" and arg:
                last["language"] = arg
            else:
                ents.append(_entity("code", start, length, **({"language": arg} if arg else {})))
        else:
            kind = "expandable_blockquote" if arg == "expandable" else "blockquote"
            ents.append(_entity(kind, start, length))


def _tag_argument(tag: str, name: str, value: str | None, arg: str) -> str:
    """What a start tag's attribute tells its entity (a link's href, a code's language …)."""
    if value is None:
        return "expandable"
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value[9:]
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value[3:]
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    return arg


def parse_markdown_v2(src: str) -> tuple[str, list[JSON]]:
    """Telegram's parse_mode=MarkdownV2 (port of TDLib parse_markdown_v2)."""
    return _MarkdownV2(src).parse()


class _MarkdownV2:
    """TDLib's parse_markdown_v2 over one source: the text so far (and its UTF-16 length),
    the entities found, the entities still open, and whether a quote is open."""

    def __init__(self, src: str) -> None:
        self.src, self.c = src, _Cursor(src)
        self.out: list[str] = []
        self.u16 = 0
        self.ents: list[JSON] = []
        # kind, arg, utf16 start, byte, len(out)
        self.stack: list[tuple[str, str, int, int, int]] = []
        self.in_quote = False

    def parse(self) -> tuple[str, list[JSON]]:
        src, c, i = self.src, self.c, 0
        while i < c.n:
            ch = src[i]
            if ch == "\\" and 0 < ord(c[i + 1]) <= 126:
                self.out.append(src[i + 1])
                self.u16 += 1
                i += 2
                continue
            top = self.stack[-1][0] if self.stack else ""
            if ch not in ("`" if top in ("code", "pre") else _MD2_RESERVED):
                self.out.append(ch)
                self.u16 += _units(ch)
                i += 1
            elif not self.stack or not self._ends(top, i):
                i = self._open(i)
            else:
                i = self._close(i)
        if self.in_quote and self.stack and self.stack[-1][0] == "blockquote":
            _, _, start, _, _ = self.stack.pop()
            if self.u16 > start:
                self.ents.append(_entity("blockquote", start, self.u16 - start))
        if self.stack:
            kind, arg, _, byte, _ = self.stack[-1]
            raise _fail(f"Can't find end of {_td_name(kind, arg)} entity at byte offset {byte}")
        return "".join(self.out), self.ents

    def _ends(self, top: str, i: int) -> bool:
        """Whether the character at i closes the innermost open entity."""
        c, ch = self.c, self.c[i]
        if self.in_quote and ch == "\n" and c[i + 1] != ">":
            return True
        ends = {
            "bold": ch == "*",
            "italic": ch == "_" and c[i + 1] != "_",
            "code": ch == "`",
            "pre": ch == "`" and c[i + 1] == "`" and c[i + 2] == "`",
            "text_link": ch == "]",
            "underline": ch == "_" and c[i + 1] == "_",
            "strikethrough": ch == "~",
            "spoiler": ch == "|" and c[i + 1] == "|",
            "custom_emoji": ch == "]",
            "blockquote": False,
        }
        return ends[top]

    def _open(self, i: int) -> int:
        """A reserved character that opens an entity (or a line of a quote); the position
        after it."""
        c, ch = self.c, self.src[i]
        byte, arg, kind = c.byte(i), "", ""
        if ch == "_":
            kind = "underline" if c[i + 1] == "_" else "italic"
            i += 1 if kind == "underline" else 0
        elif ch in "*~[":
            kind = {"*": "bold", "~": "strikethrough", "[": "text_link"}[ch]
        elif ch == "|" and c[i + 1] == "|":
            kind = "spoiler"
            i += 1
        elif ch == "`" and c[i + 1] == "`" and c[i + 2] == "`":
            kind = "pre"
            arg, i = _pre_language(c, i + 3)
            i -= 1  # the common step below goes past it
        elif ch == "`":
            kind = "code"
        elif ch == "!" and c[i + 1] == "[":
            kind = "custom_emoji"
            i += 1
        elif ch == "\n":
            self.out.append("\n")
            self.u16 += 1
            if c[i + 1] == ">":
                i += 1
                if not self.in_quote:
                    kind, self.in_quote = "blockquote", True
        elif ch == ">" and i == 0:
            kind, self.in_quote = "blockquote", True
        else:
            raise _fail(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")
        if kind:
            self.stack.append((kind, arg, self.u16, byte, len(self.out)))
        return i + 1

    def _close(self, i: int) -> int:
        """The character at i closes the innermost entity; the position after it."""
        ch = self.src[i]
        kind, arg, start, byte, out_start = self.stack.pop()
        if ch == "\n" and kind != "blockquote":
            raise _fail(f"Can't find end of {_td_name(kind, arg)} entity at byte offset {byte}")
        extra: JSON = {}
        skip = self.u16 == start
        if kind in ("underline", "spoiler"):
            i += 1
        elif kind == "pre":
            i += 2
            extra = {"language": arg} if arg else {}
        elif kind == "text_link":
            i, link = self._link_end(i, start, out_start)
            skip = skip or link is None
            if link:
                kind, extra = link["type"], {k: v for k, v in link.items() if k in ("url", "user")}
        elif kind == "custom_emoji":
            i, extra = self._emoji_end(i)
        elif kind == "blockquote":
            self.in_quote = False
            self.out.append(ch)
            self.u16 += 1
        if not skip:
            self.ents.append(_entity(kind, start, self.u16 - start, **extra))
        return i + 1

    def _read_url(self, i: int) -> tuple[str, int]:
        src, c, chars = self.src, self.c, []
        while i < c.n and src[i] != ")":
            if src[i] == "\\" and 0 < ord(c[i + 1]) <= 126:
                chars.append(src[i + 1])
                i += 2
                continue
            chars.append(src[i])
            i += 1
        return "".join(chars), i

    def _link_end(self, i: int, start: int, out_start: int) -> tuple[int, JSON | None]:
        """The end of [text](url) (or of [url]): the position of its last character, and
        its entity (None for a link Telegram drops)."""
        c, url = self.c, "".join(self.out[out_start:])
        if c[i + 1] == "(":
            url_begin = i + 2
            url, i = self._read_url(url_begin)
            if c[i] != ")":
                raise _fail(f"Can't find end of a URL at byte offset {c.byte(url_begin)}")
        return i, _link_entity(url, start, self.u16 - start)

    def _emoji_end(self, i: int) -> tuple[int, JSON]:
        """The end of ![👍](tg://emoji?id=…): the position of its last character, and the
        emoji's id."""
        c = self.c
        if c[i + 1] != "(":
            raise _fail("Custom emoji entity must contain a tg://emoji URL")
        url_begin = i + 2
        url, i = self._read_url(url_begin)
        if c[i] != ")":
            raise _fail(f"Can't find end of a custom emoji URL at byte offset {c.byte(url_begin)}")
        emoji = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
        if not emoji:
            raise _fail("Invalid custom emoji identifier specified")
        return i, {"custom_emoji_id": emoji.group(1)}


def _td_name(kind: str, arg: str) -> str:
    """An entity's name in TDLib's error messages."""
    return "PreCode" if kind == "pre" and arg else _TD_NAMES[kind]


def parse_markdown(src: str) -> tuple[str, list[JSON]]:
    """Telegram's legacy parse_mode=Markdown (port of TDLib parse_markdown)."""
    c = _Cursor(src)
    out: list[str] = []
    u16 = 0
    ents: list[JSON] = []
    i = 0
    while i < c.n:
        ch = src[i]
        if ch == "\\" and c[i + 1] in "_*`[":
            out.append(src[i + 1])
            u16 += 1
            i += 2
            continue
        if ch not in "_*`[":
            out.append(ch)
            u16 += _units(ch)
            i += 1
            continue
        begin, end_char, language = i, "]" if ch == "[" else ch, None
        i += 1
        if ch == "`" and c[i] == "`" and c[i + 1] == "`":
            language, i = _pre_language(c, i + 2)
        start, inner_begin = u16, i
        while i < c.n and (
            src[i] != end_char or (language is not None and not c[i + 1] == c[i + 2] == "`")
        ):
            out.append(src[i])
            u16 += _units(src[i])
            i += 1
        if i == c.n:
            raise _fail(f"Can't find end of the entity starting at byte offset {c.byte(begin)}")
        entity, i = _markdown_entity(c, ch, i, (inner_begin, start, u16 - start), language)
        if entity:
            ents.append(entity)
        i += 3 if language is not None else 1
    return "".join(out), ents


def _pre_language(c: _Cursor, i: int) -> tuple[str, int]:
    """After the ``` of a code block: its language ("" for none), and where its text starts."""
    language, lang_end = "", i
    while c[lang_end] not in _SPACE and c[lang_end] != "`":
        lang_end += 1
    if i != lang_end and lang_end < c.n and c[lang_end] != "`":
        language, i = c.src[i:lang_end], lang_end
    if c[i] in "\n\r":
        i += 2 if c[i + 1] in "\n\r" and c[i + 1] != c[i] else 1
    return language, i


def _markdown_entity(
    c: _Cursor, ch: str, i: int, span: tuple[int, int, int], language: str | None
) -> tuple[JSON | None, int]:
    """The entity `ch` opened (None for an empty one or a dropped link), and the position of
    its last character. `span`: where its text starts in the source, its UTF-16 offset and
    length; `language`: a code block's (None when it is not one)."""
    inner_begin, start, length = span
    if ch == "[":
        url = c.src[inner_begin:i]
        if c[i + 1] == "(":
            close = c.src.find(")", i + 2)
            close = c.n if close < 0 else close
            url, i = c.src[i + 2 : close], close
        return (_link_entity(url, start, length) if length else None), i
    if not length:
        return None, i
    if ch in "_*":
        return _entity("italic" if ch == "_" else "bold", start, length), i
    if language is not None:
        return _entity("pre", start, length, **({"language": language} if language else {})), i
    return _entity("code", start, length), i


def find_entities(text: str, existing: Sequence[JSON] = ()) -> list[JSON]:
    """Entities Telegram detects by itself (commands, URLs, e-mails, @mentions, #hashtags)."""
    taken = [(e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in _BLOCKING]
    found: list[JSON] = []
    spans: list[tuple[int, int, str]] = []
    for kind, pattern in _AUTO_ENTITIES:
        for m in pattern.finditer(text):
            start, end = m.span()
            if kind == "url":  # trailing punctuation and unbalanced ")" are not part of it
                url = m.group().rstrip(".,:;!?'\"")
                while url.endswith(")") and url.count(")") > url.count("("):
                    url = url[:-1]
                end = start + len(url)
            spans.append((start, end, kind))
    for start, end, kind in sorted(spans):
        s16, e16 = utf16_len(text[:start]), utf16_len(text[:end])
        if any(s16 < b and a < e16 for a, b in taken):
            continue
        taken.append((s16, e16))
        found.append(_entity(kind, s16, e16 - s16))
    return found


def sort_entities(ents: list[JSON]) -> list[JSON]:
    return sorted(ents, key=lambda e: (e["offset"], -e["length"], _PRIORITY.get(e["type"], 50)))


def format_text(raw: str, parse_mode: str | None, entities: Any = None) -> tuple[str, list[JSON]]:
    """Parse, trim and auto-detect entities like Telegram; returns (plain text, entities)."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        text, ents = parse_html(raw)
    elif mode == "markdownv2":
        text, ents = parse_markdown_v2(raw)
    elif mode == "markdown":
        text, ents = parse_markdown(raw)
    elif mode in ("", "none"):
        text, ents = raw, []
        if isinstance(entities, list):
            ents = [dict(e) for e in entities if isinstance(e, dict)]
            for e in ents:
                if not isinstance(e.get("offset"), int) or not isinstance(e.get("length"), int):
                    raise bad_request("can't parse entities: entity offset and length must be set")
    else:
        raise bad_request("unsupported parse_mode")
    left = len(text) - len(text.lstrip(_TRIM))
    lead, text = utf16_len(text[:left]), text.strip(_TRIM)
    total, trimmed = utf16_len(text), []
    for e in ents:
        start, end = max(e["offset"] - lead, 0), min(e["offset"] + e["length"] - lead, total)
        if end > start:
            trimmed.append({**e, "offset": start, "length": end - start})
    trimmed += find_entities(text, trimmed)
    return text, sort_entities(trimmed)


def formatted(
    raw: str | None, parse_mode: str | None, entities: Any = None, *, caption: bool = False
) -> tuple[str, list[JSON]]:
    """A message's text (or a caption) as Telegram keeps it: parsed, then refused when a text
    is empty or either is too long. (plain text, entities)."""
    text, found = format_text("" if raw is None else str(raw), parse_mode, entities)
    if not text and not caption:
        raise message_text_is_empty()
    if len(text) > (MAX_CAPTION if caption else MAX_TEXT):
        raise message_is_too_long(caption=caption)
    return text, found


# --------------------------------------------------------------------------- keyboards


def _checked_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not any(key in button for key in INLINE_BUTTON_ACTIONS):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if "callback_data" in button and (
        not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA
    ):
        raise button_data_invalid()


def _checked_inline(rows: Any) -> JSON | None:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "inline_keyboard" of the '
            "InlineKeyboardMarkup should be an Array of Arrays"
        )
    for button in (b for row in rows for b in row):
        _checked_button(button)
    inline = {"inline_keyboard": [row for row in rows if row]}
    return inline if inline["inline_keyboard"] else None


def checked_markup(markup: Any, *, inline_only: bool = False) -> tuple[JSON | None, JSON | None]:
    """(the message's inline keyboard, the chat's reply-keyboard change: {} takes it off) from
    a `reply_markup`, refused as Telegram refuses it."""
    if markup is None:
        return None, None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return _checked_inline(markup["inline_keyboard"]), None
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        return None, markup
    if markup.get("remove_keyboard"):
        return None, {}
    if markup.get("force_reply"):
        return None, None
    raise bad_request("can't parse reply keyboard markup JSON object")


def inline_keys(markup: Mapping[str, Any] | None) -> Iterator[JSON]:
    """The buttons of a markup's inline keyboard, row after row."""
    for row in (markup or {}).get("inline_keyboard") or []:
        yield from row


def reply_keys(markup: Mapping[str, Any] | None) -> list[list[JSON]] | None:
    """The rows of a reply keyboard a channel without contact sharing can show, each button
    as {"text", "request_location"}: a request_contact button is left out (a browser or
    WeChat cannot share the person's contact card), and a row left empty with it. None
    without a reply keyboard."""
    if not markup or "keyboard" not in markup:
        return None
    rows = []
    for row in markup["keyboard"]:
        keys = [
            {
                "text": key["text"] if isinstance(key, dict) else str(key),
                "request_location": bool(isinstance(key, dict) and key.get("request_location")),
            }
            for key in row
            if not (isinstance(key, dict) and key.get("request_contact"))
        ]
        if keys:
            rows.append(keys)
    return rows


# --------------------------------------------------------------------------- messages


def private_message(chat_id: int, sender: JSON, message_id: int, **fields: Any) -> JSON:
    """A Message of a private chat, as the Bot API gives it (fields left None are left out)."""
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "from": sender,
        **{k: v for k, v in fields.items() if v is not None},
    }


def command_entities(text: str) -> list[JSON] | None:
    """The bot_command entity of a text that starts with a command, as the Dispatcher's
    Command filter needs it; None for any other text."""
    if not text.startswith("/"):
        return None
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": len(command)}]


def editable(message: JSON | None) -> JSON:
    """The bot's message an edit acts on, or Telegram's refusal."""
    if message is None:
        raise message_not_found("edit")
    if not message["from"]["is_bot"]:
        raise message_cant_be_edited()
    return message


def apply_changes(message: JSON, changes: Mapping[str, Any]) -> JSON:
    """`message` edited in place (a change to None takes the field off), refused when the
    edit would change nothing."""
    if all(message.get(k) == v for k, v in changes.items()):
        raise message_is_not_modified()
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    return message
