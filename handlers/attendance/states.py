"""FSM states of attendance."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import writes_for_others


class CheckForm(StatesGroup):
    waiting = State()  # for a location or a typed site code


class RecordAdjust(StatesGroup):
    minutes = State()
    reason = State()


class CorrectionDecision(StatesGroup):
    note = State()


writes_for_others(RecordAdjust, CorrectionDecision)  # written for others or for the record
