"""aiogram's Response[...] models are built once per process and kept: pydantic's cache of
parametrized models is weak, and rebuilding one after a garbage collection cost an update
milliseconds (bot/app.py: keep_response_types)."""

from __future__ import annotations

import gc
from typing import Any

from aiogram.methods import EditMessageText, SendMessage
from aiogram.methods.base import Response

from bot.app import keep_response_types


def test_the_response_models_survive_a_garbage_collection() -> None:
    keep_response_types()
    parametrize: Any = Response
    before = {m: id(parametrize[m.__returning__]) for m in (SendMessage, EditMessageText)}
    gc.collect()
    after = {m: id(parametrize[m.__returning__]) for m in (SendMessage, EditMessageText)}
    assert after == before
