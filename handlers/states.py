"""FSM states of every conversation."""

from aiogram.fsm.state import State, StatesGroup


class Onboarding(StatesGroup):
    language = State()
    community = State()


class GrantRole(StatesGroup):
    person = State()
    role = State()
    scope = State()
    certified = State()
    confirm = State()


class LinkAccount(StatesGroup):
    code = State()
