"""Texts a person typed that may become a request later ("what you typed is kept").

They live next to the conversation state, in a record of their own (an FSM destiny), so a
flow that clears its state (/start, /cancel, the end of a form) does not lose them; they are
encrypted (a description can hold names, addresses, illnesses) and expire after a day."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Literal

from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import DEFAULT_DESTINY, DefaultKeyBuilder, StorageKey
from cryptography.fernet import InvalidToken

from bot.services.crypto import PersonalDataCipher

DESTINY = "drafts"
MAX_AGE_SECONDS = 24 * 3600

# The names of the drafts.
EMERGENCY = "emergency"  # a text that sounded like an emergency, offered to file as urgent
FIRST_MESSAGE = "first_message"  # typed before onboarding, offered to file after it


class DestinyKeyBuilder(DefaultKeyBuilder):
    """DefaultKeyBuilder that adds the destiny only when it is not the default one, so the
    keys of the conversation state stay what they were."""

    def build(self, key: StorageKey, part: Literal["data", "state", "lock"] | None = None) -> str:
        if key.destiny == DEFAULT_DESTINY:
            return super().build(key, part)
        built = super().build(replace(key, destiny=DEFAULT_DESTINY), part)
        head, sep, tail = built.rpartition(self.separator) if part else (built, "", "")
        return f"{head}{self.separator}{key.destiny}{sep}{tail}"


def _drafts(state: FSMContext) -> FSMContext:
    return FSMContext(storage=state.storage, key=replace(state.key, destiny=DESTINY))


async def keep(
    state: FSMContext, cipher: PersonalDataCipher, name: str, text: str, **extra: object
) -> None:
    payload = json.dumps({"text": text, "at": time.time(), **extra}, ensure_ascii=False)
    await _drafts(state).update_data({name: cipher.encrypt(payload)})


async def peek(
    state: FSMContext, cipher: PersonalDataCipher, name: str
) -> dict[str, object] | None:
    token = (await _drafts(state).get_data()).get(name)
    if not isinstance(token, str):
        return None
    try:
        draft = json.loads(cipher.decrypt(token))
    except (InvalidToken, ValueError):
        return None
    if not isinstance(draft, dict) or time.time() - float(draft.get("at", 0)) > MAX_AGE_SECONDS:
        return None
    return draft


async def take(
    state: FSMContext, cipher: PersonalDataCipher, name: str
) -> dict[str, object] | None:
    draft = await peek(state, cipher, name)
    await drop(state, name)
    return draft


async def drop(state: FSMContext, name: str) -> None:
    drafts = _drafts(state)
    data = await drafts.get_data()
    if name in data:
        data.pop(name)
        await drafts.set_data(data)
