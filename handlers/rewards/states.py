"""FSM states of rewards."""

from aiogram.fsm.state import State, StatesGroup


class RewardForm(StatesGroup):
    community = State()
    title = State()
    provider = State()
    points = State()
    stock = State()
