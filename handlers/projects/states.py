"""FSM states of projects."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import writes_for_others


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


writes_for_others(ProjectForm, ProjectStep)  # written for others or for the record
