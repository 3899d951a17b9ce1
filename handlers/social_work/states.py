"""FSM states of social-work services."""

from aiogram.fsm.state import State, StatesGroup


class ServiceForm(StatesGroup):
    community = State()
    note = State()
