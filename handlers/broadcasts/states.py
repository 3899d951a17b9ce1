"""FSM states of composing a broadcast."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import writes_for_others


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


writes_for_others(BroadcastForm)
