"""FSM states of surveys."""

from aiogram.fsm.state import State, StatesGroup


class SurveyForm(StatesGroup):
    source = State()
    communities = State()


class SurveyAnswering(StatesGroup):
    choosing = State()
    text = State()
