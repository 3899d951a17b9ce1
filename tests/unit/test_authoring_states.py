"""The emergency check leaves alone what people write for others: each feature declares those
states next to its own (handlers/common/authoring.py); together they are the list the check
used to keep itself."""

from __future__ import annotations

from aiogram.fsm.state import StatesGroup

import handlers  # noqa: F401  (imports every router, hence every states module)
from handlers.attendance.states import CorrectionDecision, RecordAdjust
from handlers.broadcasts.states import BroadcastForm
from handlers.common import authoring
from handlers.common.states import GrantRole, ShiftForm
from handlers.consultations.states import ConsultForm
from handlers.emergencies.states import EmergencyForm
from handlers.funds.states import FundForm
from handlers.needs.states import NeedForm, NeedText
from handlers.organisations.states import OrgReview
from handlers.projects.states import ProjectForm, ProjectStep
from handlers.resources.states import ResourceForm
from handlers.rewards.states import RewardForm
from handlers.spotchecks.states import SpotForm
from handlers.surveys.states import SurveyForm
from handlers.volunteers.states import VolunteerReview


def _names(*groups: type[StatesGroup]) -> frozenset[str]:
    return frozenset(name for group in groups for name in group.__all_states_names__)


def test_the_states_written_for_others_are_the_old_list() -> None:
    expected = _names(
        BroadcastForm,
        EmergencyForm,
        GrantRole,
        SurveyForm,
        VolunteerReview,
        ShiftForm,
        RecordAdjust,
        CorrectionDecision,
        RewardForm,
        SpotForm,
        OrgReview,
        ProjectForm,
        ProjectStep,
        ResourceForm,
        FundForm,
    ) | (_names(NeedText, ConsultForm) - {NeedText.not_solved.state, ConsultForm.opinion.state})
    assert expected == authoring._FOR_OTHERS
    assert not authoring.is_for_others(None)
    assert not authoring.is_for_others(ConsultForm.opinion.state)


def test_the_steps_of_filing_a_need_are_all_but_the_similar_list() -> None:
    assert _names(NeedForm) - {NeedForm.similar.state} == authoring._FILING_A_NEED
    assert authoring.is_filing_a_need(NeedForm.description.state)
    assert not authoring.is_filing_a_need(NeedForm.similar.state)
