"""FSM states of /apps."""

from aiogram.fsm.state import State, StatesGroup


class AppForm(StatesGroup):
    name = State()
    scopes = State()
