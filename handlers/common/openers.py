"""What a broadcast's button opens is shown by the feature it belongs to: each registers its
opener here (the consultation's page, the project's card, the survey's first question), so
broadcasts import none of the features they link to. Registered when the routers are imported,
before any update."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.config import Settings
from bot.domain.principal import Principal
from bot.services import UnitOfWork
from bot.services.crypto import PersonalDataCipher

CONSULTATION = "consultation"
PROJECT = "project"
SURVEY = "survey"


class Opener(Protocol):
    async def __call__(
        self,
        message: Message,
        *,
        item_id: int,
        state: FSMContext,
        principal: Principal,
        uow: UnitOfWork,
        settings: Settings,
        cipher: PersonalDataCipher,
    ) -> None: ...


_OPENERS: dict[str, Opener] = {}


def opens(kind: str) -> Callable[[Opener], Opener]:
    def register(opener: Opener) -> Opener:
        _OPENERS[kind] = opener
        return opener

    return register


def opener(kind: str) -> Opener:
    return _OPENERS[kind]
