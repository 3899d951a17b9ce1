"""FSM states of starting emergency mode."""

from aiogram.fsm.state import State, StatesGroup


class EmergencyForm(StatesGroup):
    description = State()
    confirm = State()
