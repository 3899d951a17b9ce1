"""FSM states of composing a broadcast."""

from aiogram.fsm.state import State, StatesGroup


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
