"""FSM states of spot checks."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import writes_for_others


class SpotForm(StatesGroup):
    community = State()
    period = State()
    size = State()
    note = State()


writes_for_others(SpotForm)  # written for others or for the record
