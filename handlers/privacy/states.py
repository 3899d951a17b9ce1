"""FSM states of privacy."""

from aiogram.fsm.state import State, StatesGroup


class GuardianForm(StatesGroup):
    guardian = State()
