"""FSM states of the consultation conversations: the form, opinions, votes and the decision."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import writes_for_others


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


# An opinion is the person's own; the rest (title, background, decision, minutes …) is not.
writes_for_others(ConsultForm, but=[ConsultForm.opinion])
