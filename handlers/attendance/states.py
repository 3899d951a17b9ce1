"""FSM states of attendance."""

from aiogram.fsm.state import State, StatesGroup


class CheckForm(StatesGroup):
    waiting = State()  # for a location or a typed site code


class RecordAdjust(StatesGroup):
    minutes = State()
    reason = State()


class CorrectionDecision(StatesGroup):
    note = State()
