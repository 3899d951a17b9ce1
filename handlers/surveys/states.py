"""FSM states of surveys."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import writes_for_others


class SurveyForm(StatesGroup):
    source = State()
    communities = State()


class SurveyAnswering(StatesGroup):
    choosing = State()
    text = State()


writes_for_others(SurveyForm)  # written for others or for the record
