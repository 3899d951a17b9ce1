"""FSM states of starting emergency mode."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import writes_for_others


class EmergencyForm(StatesGroup):
    description = State()
    confirm = State()


writes_for_others(EmergencyForm)  # the description of emergency mode
