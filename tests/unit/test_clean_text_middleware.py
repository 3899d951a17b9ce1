"""The clean-text middleware finds an unstorable character wherever it is in an update (a
nested reply, an entity, a button, a field aiogram does not know) without dumping the update,
and says "nothing to clean" exactly when the dumped update has nothing to clean."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.types import Update

from bot.domain.text import needs_cleaning
from bot.middlewares import _unstorable_in


def update(**message: Any) -> dict[str, Any]:
    base = {
        "message_id": 1,
        "date": 1,
        "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "居民", "language_code": "zh"},
        "text": "楼道灯坏了",
    }
    return {"update_id": 1, "message": {**base, **message}}


@pytest.mark.parametrize("bad", ["\x00", "\ud83d", "\udfff"])
@pytest.mark.parametrize(
    "place",
    [
        lambda bad: update(text=f"a{bad}b"),
        lambda bad: update(caption=f"{bad}", text=None),
        lambda bad: update(reply_to_message=update(text=f"x{bad}")["message"]),
        lambda bad: update(entities=[{"type": "text_link", "offset": 0, "length": 1, "url": bad}]),
        lambda bad: update(chat={"id": 5, "type": "private", "first_name": f"王{bad}"}),
        lambda bad: update(something_new={"deep": [f"{bad}"]}),
        lambda bad: update(reply_markup={"inline_keyboard": [[
            {"text": f"按钮{bad}", "callback_data": "x"},
        ]]}),
        lambda bad: {"update_id": 2, "callback_query": {
            "id": "1", "chat_instance": "1", "data": f"d{bad}",
            "from": {"id": 5, "is_bot": False, "first_name": "居民"},
        }},
    ],
)  # fmt: skip
def test_an_unstorable_character_is_found_wherever_it_is(bad: str, place: Any) -> None:
    event = Update.model_validate(place(bad))
    dumped = event.model_dump(mode="python", by_alias=True, exclude_none=True)
    assert needs_cleaning(dumped)
    assert _unstorable_in(event)


def test_an_ordinary_update_has_nothing_to_clean() -> None:
    event = Update.model_validate(
        update(entities=[{"type": "bot_command", "offset": 0, "length": 3}], text="/help 🙂")
    )
    assert not _unstorable_in(event)
    assert not needs_cleaning(event.model_dump(mode="python", by_alias=True, exclude_none=True))
