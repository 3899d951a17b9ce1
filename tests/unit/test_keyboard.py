"""The project's keyboard builder lays buttons out exactly as aiogram's does, without copying
every button each time one is added; a markup made does not change with the builder."""

from __future__ import annotations

import pytest
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.common.keyboards import Keyboard


def fill(builder: InlineKeyboardBuilder, count: int, sizes: tuple[int, ...]) -> None:
    for n in range(count):
        builder.button(text=f"按钮{n}", callback_data=f"b:{n}")
    if sizes:
        builder.adjust(*sizes)


@pytest.mark.parametrize("count", [1, 5, 12, 25])
@pytest.mark.parametrize("sizes", [(), (1,), (2,), (5,), (3, 2), (1, 2, 1)])
def test_the_same_rows_as_aiograms_builder(count: int, sizes: tuple[int, ...]) -> None:
    ours, theirs = Keyboard(), InlineKeyboardBuilder()
    fill(ours, count, sizes)
    fill(theirs, count, sizes)
    assert ours.as_markup() == theirs.as_markup()


def test_a_made_markup_does_not_change_with_the_builder() -> None:
    builder = Keyboard()
    fill(builder, 3, (1,))
    markup = builder.as_markup()
    builder.button(text="再来一个", callback_data="b:more")
    other = Keyboard()
    other.button(text="附加", callback_data="b:x")
    builder.attach(other)
    assert [b.text for row in markup.inline_keyboard for b in row] == ["按钮0", "按钮1", "按钮2"]
    assert len(builder.as_markup().inline_keyboard) == 4
