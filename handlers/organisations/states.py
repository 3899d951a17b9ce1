"""FSM states of organisations."""

from aiogram.fsm.state import State, StatesGroup


class OrgForm(StatesGroup):
    name = State()
    type = State()
    registration = State()
    number = State()
    contact = State()
    confirm = State()


class OrgReview(StatesGroup):
    reason = State()
