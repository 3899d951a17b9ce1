"""FSM states of resources."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import writes_for_others


class ResourceForm(StatesGroup):
    community = State()
    kind = State()
    title = State()
    quantity = State()
    unit = State()
    until = State()
    reserve_quantity = State()
    reserve_target = State()


writes_for_others(ResourceForm)  # written for others or for the record
