"""FSM states of every conversation."""

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


class BroadcastForm(StatesGroup):
    audience = State()
    project = State()
    communities = State()
    skills = State()
    language = State()
    text_zh = State()
    text_en = State()
    photo = State()
    button = State()
    confirm = State()
    when = State()


class EmergencyForm(StatesGroup):
    description = State()
    confirm = State()


class ConsultForm(StatesGroup):
    title = State()
    background = State()
    options = State()
    communities = State()
    discussion_days = State()
    voting_days = State()
    anonymous = State()
    major = State()
    meeting = State()
    confirm = State()
    opinion = State()
    hide_reason = State()
    paper_person = State()
    meeting_code = State()
    decision = State()
    decided_on = State()
    minutes = State()
