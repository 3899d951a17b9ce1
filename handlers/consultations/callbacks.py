"""The buttons of consultations: everything in them is re-checked server-side, never trusted."""

from aiogram.filters.callback_data import CallbackData

from handlers.callbacks import Id


class ConsultCb(CallbackData, prefix="cs"):
    """An action on a consultation (or, for support/hide, on an opinion); every id is
    re-checked against the person's right to take part or to run it."""

    action: str
    id: Id = 0
    value: str = ""
