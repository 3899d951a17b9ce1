"""FSM states of rewards."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import writes_for_others


class RewardForm(StatesGroup):
    community = State()
    title = State()
    provider = State()
    points = State()
    stock = State()


writes_for_others(RewardForm)  # written for others or for the record
