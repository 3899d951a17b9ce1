"""FSM states of every conversation."""

from aiogram.fsm.state import State, StatesGroup

from handlers.common.authoring import writes_for_others


class Onboarding(StatesGroup):
    language = State()
    community = State()
    name = State()


class NameForm(StatesGroup):
    """/name: how the person wants to be called."""

    name = State()


class GrantRole(StatesGroup):
    person = State()
    role = State()
    scope = State()
    certified = State()
    confirm = State()


class LinkAccount(StatesGroup):
    code = State()


class SurveyForm(StatesGroup):
    source = State()
    communities = State()


class SurveyAnswering(StatesGroup):
    choosing = State()
    text = State()


class VolunteerForm(StatesGroup):
    name = State()
    id_number = State()
    phone = State()
    skills = State()
    tags = State()
    availability = State()
    communities = State()
    confirm = State()


class VolunteerReview(StatesGroup):
    reason = State()


class ShiftForm(StatesGroup):
    community = State()
    title = State()
    place = State()
    location = State()
    time = State()
    time_check = State()  # "I understood …: right?"
    capacity = State()
    skills = State()
    confirm = State()


class CheckForm(StatesGroup):
    waiting = State()  # for a location or a typed site code


class RecordAdjust(StatesGroup):
    minutes = State()
    reason = State()


class CorrectionForm(StatesGroup):
    minutes = State()
    reason = State()


class CorrectionDecision(StatesGroup):
    note = State()


class RewardForm(StatesGroup):
    community = State()
    title = State()
    provider = State()
    points = State()
    stock = State()


class SpotForm(StatesGroup):
    community = State()
    period = State()
    size = State()
    note = State()


class TransferForm(StatesGroup):
    minutes = State()
    memo = State()


class OrgForm(StatesGroup):
    name = State()
    type = State()
    registration = State()
    number = State()
    contact = State()
    confirm = State()


class OrgReview(StatesGroup):
    reason = State()


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


class ResourceForm(StatesGroup):
    community = State()
    kind = State()
    title = State()
    quantity = State()
    unit = State()
    until = State()
    reserve_quantity = State()
    reserve_target = State()


class FundForm(StatesGroup):
    name = State()
    amount = State()
    donor = State()
    purpose = State()
    project = State()
    description = State()


class ConsentForm(StatesGroup):
    notice = State()  # the registration notice, before /volunteer asks anything
    id_number = State()  # the separate consent for the ID number (sensitive information)


class GuardianForm(StatesGroup):
    guardian = State()


class CertificateForm(StatesGroup):
    level = State()
    exam_year = State()
    number = State()


class CertificateRejection(StatesGroup):
    reason = State()


class ServiceForm(StatesGroup):
    community = State()
    note = State()


class AppForm(StatesGroup):
    name = State()
    scopes = State()


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


# Written for others or for the record (the emergency check leaves them alone); a feature that
# moves its states into its own package says it there.
writes_for_others(
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
)
