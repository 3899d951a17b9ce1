"""Translated names and messages shared by several handlers."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.domain.enums import Channel, OrganisationType, Role, ScopeLevel
from bot.domain.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from bot.domain.needs import NeedCategory
from bot.domain.resources import ResourceKind
from bot.services.resources import ResourceView

ROLE_NAMES = {
    Role.RESIDENT: __("Resident"),
    Role.VOLUNTEER: __("Volunteer"),
    Role.SOCIAL_WORKER: __("Social worker"),
    Role.COMMUNITY_WORKER: __("Community worker"),
    Role.GRID_WORKER: __("Grid worker"),
    Role.ORG_MEMBER: __("Organisation member"),
    Role.ORG_ADMIN: __("Organisation admin"),
    Role.PARTY_REVIEWER: __("Party organisation reviewer"),
    Role.STREET_ADMIN: __("Street admin"),
    Role.DISTRICT_ADMIN: __("District admin"),
}

LEVEL_NAMES = {
    ScopeLevel.DISTRICT: __("district"),
    ScopeLevel.STREET: __("street/township"),
    ScopeLevel.COMMUNITY: __("community/village"),
}

CHANNEL_NAMES = {
    Channel.TELEGRAM: __("Telegram"),
    Channel.WEB: __("Web chat"),
    Channel.WECHAT: __("WeChat"),
}

LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


def role_name(role: Role) -> str:
    return str(ROLE_NAMES[role])


def error_text(error: DomainError) -> str:
    """One clear, translated sentence for any domain error."""
    if isinstance(error, PermissionDenied):
        return _("Sorry, you are not allowed to do that here.")
    if isinstance(error, NotFound):
        return _("That record no longer exists. Please start again.")
    if isinstance(error, InvalidInput):
        specific = INVALID_TEXTS.get(error.field)
        if specific is not None:
            return str(specific)
        return _("That input is not valid. Please check it and try again.")
    if isinstance(error, Conflict):
        if error.reason.startswith("milestone_transition:"):
            return _("This milestone has moved on meanwhile; open the purchase again.")
        if error.reason.startswith("project_transition:"):
            return _("This project has moved on meanwhile; open it again to see where it stands.")
        if error.reason.startswith("need_transition:"):
            return _("This request has moved on meanwhile; open it again to see where it stands.")
        return str(CONFLICT_TEXTS.get(error.reason, __("That was already done.")))
    return _("Sorry, that did not work. Please try again.")


CONFLICT_TEXTS = {
    # Neutral on purpose: it must not tell anyone whether an ID number is registered.
    "id_registered": __(
        "Thank you. This registration cannot be finished in chat: a worker of your community "
        "will contact you to complete it in person. What you entered is kept."
    ),
    "guardian_consent_needed": __(
        "This volunteer is under 14: record their guardian's consent with /guardian first."
    ),
    "guardian_not_needed": __("This volunteer is 14 or older: no guardian's consent is needed."),
    "guardian_already_recorded": __("A guardian's consent is already recorded for this child."),
    "no_consent_to_withdraw": __("You have no consent to withdraw."),
    "not_a_verified_volunteer": __(
        "Only verified volunteers can do this. Register with /volunteer, then show your ID card "
        "to a community worker."
    ),
    "volunteer_pending_verification": __(
        "Your volunteer registration is waiting for verification: please show your ID card to a "
        "community worker of your community. You will get a message when it is done."
    ),
    "already_signed_up": __("You are already signed up for this shift."),
    "shift_started": __("This shift has already started."),
    "cancel_deadline_passed": __(
        "It is too late to cancel online; please tell the organiser directly."
    ),
    "no_shift_now": __(
        "You have no shift to check in or out of now. Check-in opens 30 minutes before the start; "
        "see /myshifts."
    ),
    "not_signed_up": __("You are not confirmed for this shift. See /myshifts."),
    "already_checked_in": __("You are already checked in. Use /checkout when you leave."),
    "already_checked_out": __("You have already checked out of this shift."),
    "not_checked_in": __("You are not checked in to this shift: use /checkin first."),
    "too_early": __("Check-in opens 30 minutes before the shift starts."),
    "shift_over": __("This shift is over; ask the organiser to record your service."),
    "check_out_closed": __(
        "It is too late to check out; the organiser will confirm your hours from the record."
    ),
    "no_location_for_shift": __(
        "This shift has no location set: please type the site code the organiser shows."
    ),
    "site_code_expired": __(
        "That site code has expired (they change every few minutes). Ask the organiser for the "
        "current one."
    ),
    "record_not_awaiting": __("This record was already confirmed."),
    "record_not_confirmed": __("Only a confirmed record can be corrected."),
    "correction_pending": __("A correction for this record is already waiting for a decision."),
    "correction_unchanged": __("That is what the record already shows."),
    "correction_decided": __("This correction was already decided."),
    "already_credited": __("This record was already credited."),
    "credit_missing": __("The time bank has no credit for this record; please tell an admin."),
    "nothing_to_check": __("There are no confirmed records in that community and period."),
    "already_marked": __("This record was already marked in this spot check."),
    "out_of_stock": __("Sorry, this reward is out of stock."),
    "not_enough_points": __("You do not have enough points for this reward."),
    "already_handed_over": __("This reward was already handed over."),
    "redemption_cancelled": __("The volunteer cancelled this reservation; nothing to hand over."),
    "no_confirmed_hours": __("You have no confirmed hours in that period yet."),
    "insufficient_balance": __("There are not enough hours in the time bank for that."),
    "transfer_decided": __("This was already accepted or declined."),
    "own_transfer": __("You cannot accept your own request; send the link to the other person."),
    "organisation_name_taken": __("An organisation with that name is already registered."),
    "no_home_community": __("Please choose your community first: send /start."),
    "certificate_recorded": __("This qualification is already recorded for you; see /mytraining."),
    "certificate_decided": __("This certificate was already decided by another worker."),
    "place_exists": __("This unit already has its social-work place of that level."),
    "already_member": __("You are already a member of this organisation."),
    "organisation_verified": __("This organisation is already verified."),
    "project_not_yours": __("That step is for the other side (the organisation or the worker)."),
    "party_decision_needed": __(
        "This is a major matter: the community Party organisation must record its decision first."
    ),
    "organisation_not_verified": __(
        "The organisation is not verified yet; a community worker verifies it in /orgs."
    ),
    "not_a_major_matter": __("This project is not a major matter."),
    "project_not_submitted": __("The project is not waiting for a decision."),
    "need_outside_project": __("That need is not in one of the project's communities."),
    "project_not_recruiting": __("Shifts can be added once the project is approved."),
    "resource_expired": __("This resource is no longer available."),
    "resource_insufficient": __("Not enough of this resource is left for that."),
    "resource_outside_project": __("The resource is not in one of the project's communities."),
    "already_released": __("This reservation was already released."),
    "not_a_fund_holder": __("Only charities and community foundations hold funds."),
    "same_organisation": __("募用分离: a fund cannot pay for its own organisation's projects."),
    "project_not_fundable": __("Money goes only to approved projects that are not finished."),
    "purpose_mismatch": __(
        "That money is restricted to another purpose than the ones this project answers."
    ),
    "fund_insufficient": __("The fund does not have that much left for this purpose."),
    "allocation_exceeded": __("That is more than is left of the allocation."),
    "duplicate_allocation": __("That allocation was already recorded."),
    "offer_taken": __("Someone else has taken this request already. Thank you all the same!"),
    "already_offered": __("You have already offered to help with this request."),
    "reopen_window": __("It is too late to reopen this request; please file a new one with /need."),
    "need_not_open": __("This request is already closed."),
    "need_not_resolved": __("This request is not waiting for your confirmation."),
    "already_supporting": __("You already support this request."),
    "already_in_progress": __("This request is already in progress."),
    "survey_closed": __("This survey is closed."),
    "already_answered": __("You have already answered this survey. Thank you!"),
    "already_granted": __("This person already has that role there."),
    "already_linked": __("This chat is already linked to that profile."),
    "channel_taken": __(
        "That profile already has an account on this channel; unlink it there first."
    ),
    # Competitions (三.(四)) and purchases of services (四.(三)).
    "fund_outside_unit": __("That fund belongs to another street or district."),
    "call_closed": __("The call no longer takes proposals: its deadline has passed."),
    "organisation_not_eligible": __("Your kind of organisation may not enter this call."),
    "project_outside_unit": __("The project is not in the call's street or district."),
    "project_not_a_draft": __(
        "Only a draft project that is not a major matter can be put forward."
    ),
    "over_budget": __("The proposal asks for more than the call's whole budget."),
    "panel_closed": __("The panel can only be named while proposals are taken."),
    "conflict_of_interest": __(
        "You belong to the organisation that proposed it: you are excluded from scoring it."
    ),
    "not_reviewing": __("The panel is not reviewing now (it reviews after the proposal deadline)."),
    "scores_hidden": __("The scores stay hidden until the panel closes."),
    "panel_not_closed": __("Close the panel before publishing the results."),
    "no_vote": __("This call has no residents' vote."),
    "vote_options": __("The proposals changed; open the vote again."),
    "provider_outside_unit": __("The provider does not serve this street or district."),
    "milestone_own_acceptance": __(
        "You are a member of the provider: a provider cannot accept its own milestone."
    ),
    "milestone_not_buyer": __("Only the buyer accepts and pays milestones."),
    "milestone_not_provider": __("Only the provider reports its milestones."),
    "milestones_open": __("Every milestone must be accepted before the evaluation."),
    "already_evaluated": __("This purchase was already evaluated."),
    "purchase_overpaid": __("That would pay more than the purchase's amount."),
}

INVALID_TEXTS = {
    "exam_year": __("Please send the exam year as four digits, from 2008 to this year."),
    "baseline_year": __("Please give a baseline year from 2000 to this year."),
    "note": __("Please describe the service in a few words."),
    "guardian": __("Please send the guardian's name and relation (2 to 100 characters)."),
    "name": __("Please send a name of 2 to 100 characters."),
    "registration_number": __("Please give the registration or filing number."),
    "amount": __("Please write an amount in yuan, like 12000 or 12,000.50."),
    "communities": __("Please choose at least one community."),
    "project": __("Please give the project a title and a purpose."),
    "minutes_text": __("Please add the minutes below the date."),
    "summary": __("Please write a short summary."),
    "need_reference": __("No need with that reference in your area."),
    "description": __("Please say what it was spent on."),
    "resource": __("Please say what it is and in what unit."),
    "site_code": __("That site code is not right. Please check it with the organiser."),
    "minutes": __("That number of hours is not possible for this record."),
    "hours": __("Please write hours like 2.5 or 2:30."),
    "reason": __("Please give a reason."),
    "location": __("That location is not valid."),
    "handover_code": __("That code is unknown. Please check it with the volunteer."),
    "period": __("That period is not valid."),
    "criteria": __("The criteria need names and weights that sum to 100."),
    "milestones": __("The milestones need deliverables and shares that sum to 100%."),
    "deadline": __("The deadlines must be in the future, the review after the proposals."),
    "budget_lines": __("Please give each budget line an item and an amount."),
    "expected_results": __("Please describe the expected results."),
    "scores": __("Please give one score from 0 to 100 per criterion."),
    "indicators": __("The indicators need weights that sum to 100 and scores from 0 to 100."),
    "service": __("Please name the service."),
    "report": __("Please say what was delivered."),
    "sample_size": __("Please draw between 1 and 50 records."),
    "number": __("That number is out of range."),
    "reward": __("Please give the reward and who provides it."),
    "text": __("That is too long. Please keep it under 1,000 characters."),
    "link_code": __(
        "That code is unknown, already used or expired. Send /link in your other app for a new one."
    ),
}

# The categories of needs: resources, funds, projects and matching name them too.
CATEGORY_NAMES = {
    # Home repair and housekeeping carry the names of the volunteer skills that serve them.
    NeedCategory.HOME_REPAIR: __("Repairs"),
    NeedCategory.HOUSEKEEPING: __("Housekeeping"),
    NeedCategory.ELDERLY_CARE: __("Elderly care"),
    NeedCategory.CHILD_CARE: __("Child care"),
    NeedCategory.DISABILITY: __("Disability support"),
    NeedCategory.SOCIAL_ASSISTANCE: __("Social assistance"),
    NeedCategory.PSYCHOLOGICAL: __("Psychological / emotional support"),
    NeedCategory.COMMUNITY_AFFAIRS: __("Community affairs"),
    NeedCategory.OTHER: __("Other"),
}


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


ORG_TYPE_NAMES = {
    OrganisationType.COMMUNITY_SOCIAL_ORG: __("Community social organisation"),
    OrganisationType.SOCIAL_WORK_AGENCY: __("Social-work agency"),
    OrganisationType.CHARITY: __("Charity organisation"),
    OrganisationType.COMMUNITY_FOUNDATION: __("Community foundation"),
}


RESOURCE_KIND_NAMES = {
    ResourceKind.GOODS: __("Goods"),
    ResourceKind.MONEY: __("Money"),
    ResourceKind.SERVICE: __("Service"),
    ResourceKind.VENUE: __("Venue"),
    ResourceKind.SKILL: __("Skill"),
}


def resource_text(view: ResourceView, locale: str) -> str:
    line = _("{kind} · <b>{title}</b>: {available} of {quantity} {unit} available · {community}")
    text = line.format(
        kind=RESOURCE_KIND_NAMES[view.kind],
        title=html.escape(view.title),
        available=view.available,
        quantity=view.quantity,
        unit=html.escape(view.unit),
        community=html.escape(view.community.label(locale)),
    )
    if view.available_until:
        text += "\n" + _("Until {day}").format(day=view.available_until)
    return text
