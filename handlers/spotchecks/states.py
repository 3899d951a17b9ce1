"""FSM states of spot checks."""

from aiogram.fsm.state import State, StatesGroup


class SpotForm(StatesGroup):
    community = State()
    period = State()
    size = State()
    note = State()
