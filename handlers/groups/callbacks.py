"""The buttons of group chats: everything in them is re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData

from handlers.common.callbacks import Id


class GroupCb(CallbackData, prefix="gr"):
    """A community chosen for /linkgroup; whoever taps is checked again (admin + worker)."""

    community: Id
