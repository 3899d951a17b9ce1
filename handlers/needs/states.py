"""FSM states of the needs conversations: filing one, and the texts typed about one."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import files_a_need, writes_for_others


class NeedForm(StatesGroup):
    category = State()
    description = State()
    extras = State()
    urgency = State()
    beneficiary = State()
    visit = State()
    phone = State()
    address = State()
    similar = State()
    confirm = State()


class NeedText(StatesGroup):
    """Free text a worker, assignee or resident types for one need (its id is in the data)."""

    note = State()
    resolve = State()
    refer = State()
    reject = State()
    hand_back = State()
    not_solved = State()


# A worker's note, a resolution, a referral …: written for the record. The reason a resident
# gives for "not solved" is about themselves; so is every step of filing, but for the list of
# similar requests, which the alert's button would not fit.
writes_for_others(NeedText, but=[NeedText.not_solved])
files_a_need(NeedForm, but=[NeedForm.similar])
