"""FSM states of organisations."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import writes_for_others


class OrgForm(StatesGroup):
    name = State()
    type = State()
    registration = State()
    number = State()
    contact = State()
    confirm = State()


class OrgReview(StatesGroup):
    reason = State()


writes_for_others(OrgReview)  # written for others or for the record
