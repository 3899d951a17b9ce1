"""Button actions are enums whose values are the old strings: a button sent before the change
still unpacks, and a new one packs to the same bytes; an unknown action matches no handler."""

from __future__ import annotations

from enum import StrEnum

import pytest
from aiogram.filters.callback_data import CallbackData

from handlers.broadcasts.callbacks import BroadcastAction, BroadcastCb
from handlers.common.callbacks import NeedAction, NeedCb
from handlers.consultations.callbacks import ConsultAction, ConsultCb
from handlers.emergencies.callbacks import EmergencyAction, EmergencyCb
from handlers.kpis.callbacks import StatsAction, StatsCb
from handlers.matching.callbacks import MatchAction, MatchCb

FACTORIES: list[tuple[type[CallbackData], type[StrEnum], dict[str, object]]] = [
    (NeedCb, NeedAction, {"id": 7}),
    (MatchCb, MatchAction, {"id": 7}),
    (BroadcastCb, BroadcastAction, {"id": 7}),
    (EmergencyCb, EmergencyAction, {"id": 7}),
    (ConsultCb, ConsultAction, {"id": 7}),
    (StatsCb, StatsAction, {"level": "street", "id": 7}),
]


@pytest.mark.parametrize(("factory", "actions", "fields"), FACTORIES)
def test_an_action_packs_to_its_old_string_and_back(
    factory: type[CallbackData], actions: type[StrEnum], fields: dict[str, object]
) -> None:
    for action in actions:
        packed = factory(action=action, **fields).pack()
        assert packed.split(":")[:2] == [factory.__prefix__, action.value]
        assert factory(action=action.value, **fields).pack() == packed
        unpacked = factory.unpack(packed)
        assert unpacked.action is action  # type: ignore[attr-defined]


@pytest.mark.parametrize(("factory", "actions", "fields"), FACTORIES)
def test_an_unknown_action_does_not_unpack(
    factory: type[CallbackData], actions: type[StrEnum], fields: dict[str, object]
) -> None:
    packed = factory(action=next(iter(actions)), **fields).pack()
    forged = packed.replace(f":{next(iter(actions)).value}:", ":nonsense:", 1)
    with pytest.raises(ValueError):
        factory.unpack(forged)
