"""FSM states of projects."""

from aiogram.fsm.state import State, StatesGroup


class ProjectForm(StatesGroup):
    organisation = State()
    title = State()
    purpose = State()
    kind = State()
    categories = State()
    communities = State()
    budget = State()
    period = State()
    major = State()
    confirm = State()


class ProjectStep(StatesGroup):
    reject_reason = State()
    decision_minutes = State()
    beneficiaries = State()
    summary = State()
    need_reference = State()
