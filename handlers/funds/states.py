"""FSM states of funds."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import writes_for_others


class FundForm(StatesGroup):
    name = State()
    amount = State()
    donor = State()
    purpose = State()
    project = State()
    description = State()


writes_for_others(FundForm)  # written for others or for the record
