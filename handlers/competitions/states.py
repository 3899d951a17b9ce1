"""FSM states of calls for proposals."""

from aiogram.fsm.state import State, StatesGroup


class CallForm(StatesGroup):
    """Opening a call for proposals (competitions)."""

    unit = State()
    title = State()
    theme = State()
    budget = State()
    fund = State()
    eligible = State()
    criteria = State()
    proposals_due = State()
    review_due = State()
    vote = State()
    confirm = State()
    reviewer = State()
    publish = State()


class ProposalForm(StatesGroup):
    project = State()
    lines = State()
    needs = State()
    results = State()
    confirm = State()
    scores = State()
