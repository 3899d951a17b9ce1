"""Emergencies in any message: the first router sees every free text of a private chat, in
every state, and answers at once with the number to call (120/119/110) and the community's
duty phone — then lets the conversation go on (the step the person is at still gets the text).

The word list is `bot.domain.emergency_signs`. Texts people write *for others* (a broadcast, a
worker's note on a need, the description of emergency mode…) are not checked: a notice about
fire safety must not answer its author with 119."""

from __future__ import annotations

import html

from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import StatesGroup
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.domain.emergency_signs import Emergency, Service, Sign, detect, looks_like_emergency
from bot.domain.principal import Principal
from bot.services import UnitOfWork, needs, places
from bot.services.crypto import PersonalDataCipher
from handlers.attendance.states import CorrectionDecision, RecordAdjust
from handlers.common import drafts
from handlers.common.callbacks import NeedNewCb
from handlers.common.keyboards import button
from handlers.common.questions import current_turn
from handlers.common.routing import RouteTable
from handlers.common.states import GrantRole, ShiftForm
from handlers.funds.states import FundForm
from handlers.organisations.states import OrgReview
from handlers.projects.states import ProjectForm, ProjectStep
from handlers.resources.states import ResourceForm
from handlers.rewards.states import RewardForm
from handlers.spotchecks.states import SpotForm
from handlers.states import BroadcastForm, ConsultForm, EmergencyForm, NeedForm, NeedText
from handlers.surveys.states import SurveyForm
from handlers.volunteers.states import VolunteerReview

router = RouteTable("emergency_signs")


def _names(*groups: type[StatesGroup]) -> frozenset[str]:
    return frozenset(name for group in groups for name in group.__all_states_names__)


# States in which a person writes for others or for the record, not about themselves.
AUTHORING_STATES = _names(
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
# Inside /need before the request is confirmed, the alert can mark the request urgent.
NEED_STEPS = _names(NeedForm) - {NeedForm.similar.state}

SERVICE_LINES = {
    Service.AMBULANCE: __("🚑 Ambulance (急救): 120"),
    Service.FIRE: __("🚒 Fire (火警): 119"),
    Service.POLICE: __("🚓 Police (报警): 110"),
}
TIPS = {
    Sign.FALL: __("Do not pull the person up; keep them warm and wait for the ambulance."),
    Sign.FIRE: __("Get out first and close the door behind you; do not take the lift."),
    Sign.GAS: __(
        "Do not switch lights or appliances on or off, no flames; open the windows, "
        "leave, and call from outside."
    ),
    Sign.VIOLENCE: __("Get to a safe place first."),
    Sign.SUICIDE: __("Stay with the person; do not leave them alone."),
}


def alert_text(found: Emergency, duty_phone: str | None) -> str:
    lines = [_("⚠️ <b>This sounds like an emergency. Please call now:</b>")]
    lines += [str(SERVICE_LINES[service]) for service in found.services]
    if duty_phone:
        lines.append(
            _("📞 Your community's duty phone: {phone}").format(phone=html.escape(duty_phone))
        )
    if Sign.SUICIDE in found.signs:
        lines.append(_("💬 Psychological help hotline: 12356"))
    tips = [str(TIPS[sign]) for sign in found.signs if sign in TIPS]
    if tips:
        lines += ["", *tips]
    lines += ["", _("This bot is not an emergency service and cannot send help by itself.")]
    return "\n".join(lines)


async def emergency_alert(uow: UnitOfWork, principal: Principal, text: str) -> str | None:
    """The alert for a text, with the person's community duty phone; None: no emergency."""
    found = detect(text)
    if found is None:
        return None
    phone = None
    if principal.home is not None:
        phone = await places.duty_phone(uow, community_id=principal.home.community_id)
    return alert_text(found, phone)


@router.message()
async def watch_for_emergencies(
    message: Message,
    state: FSMContext,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    principal: Principal | None = None,
) -> None:
    text = message.text or message.caption or ""
    if principal is None or message.chat.type != "private" or not text or text.startswith("/"):
        raise SkipHandler()
    if not looks_like_emergency(text):  # first the pure check: most texts stop here
        raise SkipHandler()
    current = await state.get_state()
    if current in AUTHORING_STATES:
        raise SkipHandler()
    alert = await emergency_alert(uow, principal, text)
    if alert is None:
        raise SkipHandler()
    keyboard = None
    if current in NEED_STEPS:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("🔴 Mark my request as urgent"), NeedNewCb(step="sos", value="mark"))]
            ]
        )
    elif principal.home is not None and len(text) <= needs.MAX_DESCRIPTION:
        await drafts.keep(state, cipher, drafts.EMERGENCY, text.strip())
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("📝 File it as an urgent request"), NeedNewCb(step="sos", value="file"))]
            ]
        )
    sent = await message.answer(alert, reply_markup=keyboard)
    turn = current_turn()
    if turn is not None:
        turn.not_questions.add(sent.message_id)
        turn.emergency_answered = True
    raise SkipHandler()
