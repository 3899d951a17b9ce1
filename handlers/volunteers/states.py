"""FSM states of volunteer registration and review."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import writes_for_others


class VolunteerForm(StatesGroup):
    name = State()
    id_number = State()
    phone = State()
    skills = State()
    tags = State()
    availability = State()
    communities = State()
    confirm = State()


class VolunteerReview(StatesGroup):
    reason = State()


class ConsentForm(StatesGroup):
    notice = State()  # the registration notice, before /volunteer asks anything
    id_number = State()  # the separate consent for the ID number (sensitive information)


writes_for_others(VolunteerReview)  # written for others or for the record
