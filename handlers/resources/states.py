"""FSM states of resources."""

from aiogram.fsm.state import State, StatesGroup


class ResourceForm(StatesGroup):
    community = State()
    kind = State()
    title = State()
    quantity = State()
    unit = State()
    until = State()
    reserve_quantity = State()
    reserve_target = State()
