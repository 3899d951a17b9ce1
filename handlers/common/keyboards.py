"""Inline keyboards. Buttons a platform cannot show become numbered menus in its adapter."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.domain.enums import Role
from bot.services.views import Named, Page
from handlers.common.callbacks import ConfirmCb, LanguageCb, NoopCb, PlaceAction, PlaceCb, RoleCb
from handlers.common.texts import LANGUAGE_NAMES, role_name

# The level below each level of the place picker.
NEXT_LEVEL = {"d": "s", "s": "c"}


def language_keyboard() -> InlineKeyboardMarkup:
    builder = Keyboard()
    for code, name in LANGUAGE_NAMES.items():
        builder.button(text=name, callback_data=LanguageCb(code=code))
    builder.adjust(2)
    return builder.as_markup()


def place_keyboard(
    page: Page[Named],
    *,
    purpose: str,
    level: str,
    parent: int,
    pick_level: str,
    locale: str,
    back: PlaceCb | None,
) -> InlineKeyboardMarkup:
    """One button per place; at `pick_level` a tap picks, above it a tap opens the level below."""
    builder = Keyboard()
    for item in page.items:
        if level == pick_level:
            data = PlaceCb(
                purpose=purpose, action=PlaceAction.PICK, level=level, parent=parent, item=item.id
            )
        else:
            data = PlaceCb(
                purpose=purpose, action=PlaceAction.LIST, level=NEXT_LEVEL[level], parent=item.id
            )
        builder.row(InlineKeyboardButton(text=item.label(locale), callback_data=data.pack()))
    nav = _page_nav(page, purpose=purpose, level=level, parent=parent)
    if nav:
        builder.row(*nav)
    if back is not None:
        builder.row(InlineKeyboardButton(text=_("« Back"), callback_data=back.pack()))
    return builder.as_markup()


def _page_nav(
    page: Page[Named], *, purpose: str, level: str, parent: int
) -> list[InlineKeyboardButton]:
    if page.pages <= 1:
        return []

    def to(n: int) -> str:
        return PlaceCb(
            purpose=purpose, action=PlaceAction.LIST, level=level, parent=parent, page=n
        ).pack()

    buttons = []
    if page.has_prev:
        buttons.append(InlineKeyboardButton(text="‹", callback_data=to(page.page - 1)))
    buttons.append(
        InlineKeyboardButton(text=f"{page.page + 1}/{page.pages}", callback_data=NoopCb().pack())
    )
    if page.has_next:
        buttons.append(InlineKeyboardButton(text="›", callback_data=to(page.page + 1)))
    return buttons


def roles_keyboard(roles: tuple[Role, ...]) -> InlineKeyboardMarkup:
    builder = Keyboard()
    for role in roles:
        builder.button(text=role_name(role), callback_data=RoleCb(role=role.value))
    builder.adjust(2)
    return builder.as_markup()


class Keyboard(InlineKeyboardBuilder):
    """aiogram's inline keyboard builder without its deep copies: it copied every button of
    the keyboard on each one added and again on `as_markup` (a category menu cost 1.5 ms).
    Rows are still copied, so a markup made never changes with the builder; the buttons
    themselves are never changed after they are made."""

    def export(self) -> list[list[InlineKeyboardButton]]:
        return [list(row) for row in self._markup]


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    """One inline button carrying packed callback data."""
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def confirm_keyboard(flow: str) -> InlineKeyboardMarkup:
    builder = Keyboard()
    builder.button(text=_("Confirm"), callback_data=ConfirmCb(flow=flow, yes=True))
    builder.button(text=_("Cancel"), callback_data=ConfirmCb(flow=flow, yes=False))
    return builder.as_markup()


def yes_no_keyboard(flow: str) -> InlineKeyboardMarkup:
    builder = Keyboard()
    builder.button(text=_("Yes"), callback_data=ConfirmCb(flow=flow, yes=True))
    builder.button(text=_("No"), callback_data=ConfirmCb(flow=flow, yes=False))
    return builder.as_markup()


def choice_label(label: str, chosen: bool) -> str:
    """A choice of a multiple choice: a chosen one says so in words ("✅ 已选 维修",
    "✅ Selected: Repairs"), not only with an emoji a screen reader or a weak eye may miss."""
    return _("✅ Selected: {label}").format(label=label) if chosen else label


def toggle_keyboard(
    options: Iterable[tuple[str, str]],
    chosen: set[str],
    *,
    tap: Callable[[str], CallbackData],
    done: CallbackData,
    columns: int = 2,
) -> InlineKeyboardMarkup:
    """A multiple choice: (value, label) buttons marked "selected" when chosen, then "Next"."""
    builder = Keyboard()
    for value, label in options:
        builder.button(text=choice_label(label, value in chosen), callback_data=tap(value))
    builder.adjust(columns)
    builder.row(InlineKeyboardButton(text=_("Next »"), callback_data=done.pack()))
    return builder.as_markup()
