"""FSM states of the common conversations (onboarding, /name, /grant, /link) and of the
shift form, which /newshift and a project's page both start."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import writes_for_others


class Onboarding(StatesGroup):
    language = State()
    community = State()
    name = State()


class NameForm(StatesGroup):
    """/name: how the person wants to be called."""

    name = State()


class GrantRole(StatesGroup):
    person = State()
    role = State()
    scope = State()
    certified = State()
    confirm = State()


class LinkAccount(StatesGroup):
    code = State()


class ShiftForm(StatesGroup):
    community = State()
    title = State()
    place = State()
    location = State()
    time = State()
    time_check = State()  # "I understood …: right?"
    capacity = State()
    skills = State()
    confirm = State()


writes_for_others(GrantRole, ShiftForm)  # written for others or for the record
