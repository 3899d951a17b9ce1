"""FSM states of the consultation conversations: the form, opinions, votes and the decision."""

from aiogram.fsm.state import State, StatesGroup


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
