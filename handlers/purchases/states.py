"""FSM states of government purchases."""

from aiogram.fsm.state import State, StatesGroup


class PurchaseForm(StatesGroup):
    unit = State()
    service = State()
    provider = State()
    amount = State()
    source = State()
    period = State()
    milestones = State()
    confirm = State()
    report = State()
    pay = State()
    indicators = State()
    summary = State()
