"""Button actions are StrEnums, one per callback factory: what a button packs is the enum's
value (the string it always was, so buttons sent before a deploy still work), and an action
no enum knows matches no handler."""

from __future__ import annotations

from enum import StrEnum

import pytest
from aiogram.filters.callback_data import CallbackData

from bot.domain.projects import ProjectAction
from handlers.api_clients.callbacks import AppAction, AppCb
from handlers.attendance.callbacks import AttendanceAction, AttendanceCb
from handlers.common.callbacks import (
    NameAction,
    NameCb,
    PrivacyAction,
    PrivacyCb,
    ResourceAction,
    ResourceCb,
    ShiftAction,
    ShiftCb,
    SocialWorkAction,
    SocialWorkCb,
)
from handlers.competitions.callbacks import CallAction, CallCb
from handlers.funds.callbacks import FundAction, FundCb
from handlers.organisations.callbacks import OrgAction, OrgCb
from handlers.projects.callbacks import ProjectCb, ProjectCbAction
from handlers.purchases.callbacks import PurchaseAction, PurchaseCb
from handlers.rewards.callbacks import RewardAction, RewardCb
from handlers.spotchecks.callbacks import SpotAction, SpotCb
from handlers.surveys.callbacks import SurveyAction, SurveyCb
from handlers.timebank.callbacks import HoursAction, HoursCb
from handlers.volunteers.callbacks import VolunteerAction, VolunteerCb

FACTORIES: list[tuple[type[CallbackData], type[StrEnum]]] = [
    (AppCb, AppAction),
    (AttendanceCb, AttendanceAction),
    (CallCb, CallAction),
    (FundCb, FundAction),
    (HoursCb, HoursAction),
    (NameCb, NameAction),
    (OrgCb, OrgAction),
    (PrivacyCb, PrivacyAction),
    (ProjectCb, ProjectCbAction),
    (PurchaseCb, PurchaseAction),
    (ResourceCb, ResourceAction),
    (RewardCb, RewardAction),
    (ShiftCb, ShiftAction),
    (SocialWorkCb, SocialWorkAction),
    (SpotCb, SpotAction),
    (SurveyCb, SurveyAction),
    (VolunteerCb, VolunteerAction),
]


@pytest.mark.parametrize(("factory", "actions"), FACTORIES, ids=lambda f: f.__name__)
def test_a_button_packs_the_old_string_and_unpacks_to_the_enum(
    factory: type[CallbackData], actions: type[StrEnum]
) -> None:
    for action in actions:
        packed = factory(action=action).pack()
        assert packed.split(factory.__separator__)[:2] == [factory.__prefix__, action.value]
        assert factory(action=action.value).pack() == packed
        assert factory.unpack(packed).action is action  # type: ignore[attr-defined]


@pytest.mark.parametrize(("factory", "actions"), FACTORIES, ids=lambda f: f.__name__)
def test_an_unknown_action_does_not_parse(
    factory: type[CallbackData], actions: type[StrEnum]
) -> None:
    parts = factory(action=next(iter(actions))).pack().split(factory.__separator__)
    parts[1] = "forged"
    forged = factory.__separator__.join(parts)
    with pytest.raises(ValueError):
        factory.unpack(forged)


def test_every_project_step_has_a_button_action() -> None:
    assert {a.value for a in ProjectAction} <= {a.value for a in ProjectCbAction}
