"""FSM states of volunteer registration and review."""

from aiogram.fsm.state import State, StatesGroup


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
