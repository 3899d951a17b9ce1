"""FSM states of the needs conversations: filing one, and the texts typed about one."""

from aiogram.fsm.state import State, StatesGroup


class NeedForm(StatesGroup):
    category = State()
    description = State()
    extras = State()
    urgency = State()
    beneficiary = State()
    visit = State()
    phone = State()
    address = State()
    similar = State()
    confirm = State()


class NeedText(StatesGroup):
    """Free text a worker, assignee or resident types for one need (its id is in the data)."""

    note = State()
    resolve = State()
    refer = State()
    reject = State()
    hand_back = State()
    not_solved = State()
