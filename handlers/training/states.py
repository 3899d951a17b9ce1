"""FSM states of training and certificates."""

from aiogram.fsm.state import State, StatesGroup


class CertificateForm(StatesGroup):
    level = State()
    exam_year = State()
    number = State()


class CertificateRejection(StatesGroup):
    reason = State()
