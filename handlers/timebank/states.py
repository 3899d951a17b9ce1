"""FSM states of the time bank (/hours)."""

from aiogram.fsm.state import State, StatesGroup


class CorrectionForm(StatesGroup):
    minutes = State()
    reason = State()


class TransferForm(StatesGroup):
    minutes = State()
    memo = State()
