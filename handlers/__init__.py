"""The aiogram routers, in the order the Dispatcher tries them (bot/app.py builds each afresh).

Order matters: errors first, then group chats and the emergency check that sees every free text,
then the commands that work in any state, the features, and the catch-all last."""

from __future__ import annotations

from handlers.alerts import router as alerts
from handlers.api_clients import router as api_clients
from handlers.attendance import router as attendance
from handlers.broadcasts import router as broadcasts
from handlers.common import admin, errors, everyone, fallback, link, onboarding
from handlers.common.routing import RouteTable
from handlers.competitions import router as competitions
from handlers.consultations import browse as consultations
from handlers.consultations import decisions as consultation_decisions
from handlers.consultations import form as consultation_form
from handlers.consultations import voting as consultation_voting
from handlers.emergencies import mode as emergency
from handlers.emergencies import signs as emergency_signs
from handlers.funds import router as funds
from handlers.groups import router as groups
from handlers.kpis import router as kpis
from handlers.matching import router as matching
from handlers.needs import resident as needs_resident
from handlers.needs import worker as needs_worker
from handlers.organisations import router as organisations
from handlers.privacy import router as privacy
from handlers.projects import router as projects
from handlers.purchases import router as purchases
from handlers.resources import router as resources
from handlers.rewards import router as rewards
from handlers.shifts import router as shifts
from handlers.social_work import router as social_work
from handlers.spotchecks import router as spotchecks
from handlers.surveys import router as surveys
from handlers.timebank import router as timebank
from handlers.training import router as training
from handlers.volunteers import router as volunteers

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
    shifts.router,
    attendance.router,
    training.router,
    social_work.router,
    timebank.router,
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
    api_clients.router,
    fallback.router,
)
