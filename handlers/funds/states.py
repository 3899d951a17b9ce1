"""FSM states of funds."""

from aiogram.fsm.state import State, StatesGroup


class FundForm(StatesGroup):
    name = State()
    amount = State()
    donor = State()
    purpose = State()
    project = State()
    description = State()
