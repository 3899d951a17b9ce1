"""What the bot asked last, so that a text typed where a button was expected repeats the
question with its buttons instead of "I didn't understand".

One mechanism for every step of every flow, no per-step copies:
* `TurnMiddleware` (an outer update middleware) opens a `Turn` for each update of a private
  chat (a context variable);
* `QuestionCapture` (a request middleware on the bots' sessions) notes every message the bot
  sends or edits into that chat while the update is handled;
* after the handler, when the conversation is in a state, the last message of the turn that
  carried buttons becomes "the question" of that state (kept in the FSM data, encrypted, since
  a question may quote what a person typed); a turn that only said plain things forgets it.
* `repeat_question` sends it again; the catch-all router calls it for texts nobody handled.
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.fsm.context import FSMContext
from aiogram.methods import EditMessageReplyMarkup, EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import (
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    TelegramObject,
)
from aiogram.utils.i18n import gettext as _
from cryptography.fernet import InvalidToken

from bot.services.crypto import PersonalDataCipher

KEY = "_question"
MESSAGE_LIMIT = 4096


@dataclass
class Asked:
    message_id: int | None
    text: str | None  # None: only the buttons of `message_id` changed
    markup: dict[str, Any] | None  # {"inline_keyboard": …} or {"keyboard": …}
    parse_mode: str  # "default", "" (plain text) or a parse mode


@dataclass
class Turn:
    """One update of one private chat: what the bot said, and what handlers noted."""

    chat_id: int
    asked: list[Asked] = field(default_factory=list)
    # Messages that are not the question of the step (an emergency notice above it).
    not_questions: set[int] = field(default_factory=set)
    emergency_answered: bool = False


_turn: ContextVar[Turn | None] = ContextVar("turn", default=None)


def current_turn() -> Turn | None:
    return _turn.get()


def _markup(markup: object) -> dict[str, Any] | None:
    if isinstance(markup, InlineKeyboardMarkup | ReplyKeyboardMarkup):
        return markup.model_dump(mode="json", exclude_none=True)
    return None


def _parse_mode(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else "default"


class QuestionCapture(BaseRequestMiddleware):
    """Register it first on a session: it reads the text before other middlewares add to it."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        turn = _turn.get()
        asking = method
        if turn is None or not isinstance(
            asking, SendMessage | EditMessageText | EditMessageReplyMarkup
        ):
            return await make_request(bot, method)
        if str(asking.chat_id) != str(turn.chat_id):
            return await make_request(bot, method)
        text, parse_mode = None, "default"
        if isinstance(asking, SendMessage | EditMessageText):
            text, parse_mode = asking.text, _parse_mode(asking.parse_mode)
        markup = _markup(asking.reply_markup)
        response = await make_request(bot, method)
        message_id = getattr(asking, "message_id", None)
        # The session hands back the method's result (a Message for a send), not a Response.
        result: object = response
        if isinstance(result, Message):
            message_id = result.message_id
        turn.asked.append(Asked(message_id, text, markup, parse_mode))
        return response


class TurnMiddleware(BaseMiddleware):
    """Outer, on updates."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat = data.get("event_chat")
        if chat is None or chat.type != "private":
            return await handler(event, data)
        turn = Turn(chat.id)
        token = _turn.set(turn)
        try:
            result = await handler(event, data)
        finally:
            _turn.reset(token)
        state: FSMContext | None = data.get("state")
        cipher: PersonalDataCipher | None = data.get("cipher")
        if turn.asked and state is not None and cipher is not None:
            await _remember(turn, state, cipher)
        return result


async def _remember(turn: Turn, state: FSMContext, cipher: PersonalDataCipher) -> None:
    current = await state.get_state()
    if current is None:
        return
    data = await state.get_data()
    before = data.get(KEY)
    question = load(before, cipher)
    if question is not None and question.get("state") != current:
        question = None  # the question of an earlier step
    said_plain = False
    for asked in turn.asked:
        if asked.message_id in turn.not_questions:
            continue
        if asked.text is None:  # the buttons of a message changed (a multiple choice)
            if question is not None and question.get("message_id") == asked.message_id:
                question = {**question, "markup": asked.markup} if asked.markup else None
            continue
        if asked.markup is not None:
            question = {
                "state": current,
                "message_id": asked.message_id,
                "text": asked.text,
                "markup": asked.markup,
                "parse_mode": asked.parse_mode,
            }
            said_plain = False
        else:
            said_plain = True
    if said_plain:
        question = None
    after = cipher.encrypt(json.dumps(question, ensure_ascii=False)) if question else None
    if question == load(before, cipher):
        return
    if after is None:
        data.pop(KEY, None)
    else:
        data[KEY] = after
    await state.set_data(data)


def load(token: object, cipher: PersonalDataCipher) -> dict[str, Any] | None:
    if not isinstance(token, str):
        return None
    try:
        value = json.loads(cipher.decrypt(token))
    except (InvalidToken, ValueError):
        return None
    return value if isinstance(value, dict) else None


async def repeat_question(message: Message, state: FSMContext, cipher: PersonalDataCipher) -> bool:
    """Ask the question of the current step again, with its buttons. False: there is none."""
    current = await state.get_state()
    if current is None:
        return False
    question = load((await state.get_data()).get(KEY), cipher)
    if question is None or question.get("state") != current or not question.get("text"):
        return False
    raw = question.get("markup") or {}
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup = (
        InlineKeyboardMarkup.model_validate(raw)
        if "inline_keyboard" in raw
        else ReplyKeyboardMarkup.model_validate(raw)
    )
    hint = _("Please answer with the buttons below (or send /cancel to stop).")
    parse_mode = question.get("parse_mode", "default")
    body = str(question["text"])
    if parse_mode in ("default", "HTML"):
        text = f"{html.escape(hint)}\n\n{body}"
    elif parse_mode == "":
        text = f"{hint}\n\n{body}"
    else:  # another markup language: the question as it was
        text = body
    if len(text) > MESSAGE_LIMIT:
        text = body
    if parse_mode == "default":
        await message.answer(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup, parse_mode=parse_mode or None)
    return True
