"""The aiogram routers, in the order the Dispatcher tries them (bot/app.py builds each afresh).

Order matters: errors first, then group chats and the emergency check that sees every free text,
then the commands that work in any state, the features, and the catch-all last."""

from __future__ import annotations

from handlers import (
    admin,
    apps,
    attendance,
    competitions,
    funds,
    hours,
    link,
    onboarding,
    organisations,
    privacy,
    projects,
    purchases,
    resources,
    rewards,
    social_work,
    spotchecks,
    surveys,
    training,
    volunteer_shifts,
    volunteers,
)
from handlers.alerts import router as alerts
from handlers.broadcasts import router as broadcasts
from handlers.common import errors, everyone, fallback
from handlers.common.routing import RouteTable
from handlers.consultations import browse as consultations
from handlers.consultations import decisions as consultation_decisions
from handlers.consultations import form as consultation_form
from handlers.consultations import voting as consultation_voting
from handlers.emergencies import mode as emergency
from handlers.emergencies import signs as emergency_signs
from handlers.groups import router as groups
from handlers.kpis import router as kpis
from handlers.matching import router as matching
from handlers.needs import resident as needs_resident
from handlers.needs import worker as needs_worker

ROUTERS: tuple[RouteTable, ...] = (
    errors.router,
    groups.router,  # every update of a group chat ends here: no private flow runs
    # Sees every free text first, answers emergencies, lets the flow go on.
    emergency_signs.router,
    everyone.router,
    onboarding.router,
    admin.router,
    link.router,
    privacy.router,
    needs_resident.router,
    needs_worker.router,
    surveys.router,
    volunteers.router,
    volunteer_shifts.router,
    attendance.router,
    training.router,
    social_work.router,
    hours.router,
    rewards.router,
    spotchecks.router,
    organisations.router,
    projects.router,
    resources.router,
    funds.router,
    competitions.router,
    purchases.router,
    matching.router,
    broadcasts.router,
    emergency.router,
    consultations.router,
    consultation_form.router,
    consultation_voting.router,
    consultation_decisions.router,
    kpis.router,
    alerts.router,
    apps.router,
    fallback.router,
)
