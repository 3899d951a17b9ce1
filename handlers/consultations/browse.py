"""/consult: community consultations (协商议事) — open one (also from a need in /queue), read
the background, give and support opinions, vote, confirm attendance at the meeting; workers
moderate, record paper votes, hand out invitation links and close it; the decision is
recorded (for a major matter by the party reviewer) and the minutes can be downloaded."""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.broadcasts import parse_when
from bot.domain.consultations import INVITED_ACTORS, MAX_DAYS, Actor, Phase, parse_options
from bot.domain.enums import Channel
from bot.domain.errors import InvalidInput, NotFound, PermissionDenied
from bot.domain.policy import CONSULTATION_ROLES
from bot.domain.principal import Principal
from bot.services import UnitOfWork, consultations, needs, places
from bot.services.consultations import ConsultationView, OpinionView, Results
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import Notifier
from handlers.callbacks import NeedAction, NeedCb
from handlers.common.deeplinks import deep_link, start_link
from handlers.common.keyboards import button, choice_label
from handlers.common.openers import CONSULTATION, opens
from handlers.common.routing import RouteTable
from handlers.common.steps import (
    ask,
    communities_by_code,
    id_number,
    in_both_languages,
    whole_number,
)
from handlers.common.texts import local_time
from handlers.consultations.callbacks import ConsultAction, ConsultCb
from handlers.consultations.states import ConsultForm

router = RouteTable("consultations")
TAG = re.compile(r"<[^>]+>")

PHASE_NAMES = {
    Phase.DISCUSSION: __("open for discussion"),
    Phase.VOTING: __("voting"),
    Phase.COUNTING: __("voting over, to be closed"),
    Phase.CLOSED: __("closed, the decision is awaited"),
    Phase.DECIDED: __("decided"),
}
ACTOR_NAMES = {
    Actor.RESIDENT: __("resident"),
    Actor.SOCIAL_WORKER: __("social worker"),
    Actor.ORGANISATION: __("social organisation"),
    Actor.VOLUNTEER: __("volunteer"),
    Actor.CHARITY: __("charity donor"),
    Actor.COMMUNITY: __("community"),
}


# ---------------------------------------------------------------- seeing a consultation


def consultation_text(view: ConsultationView, tz: Any) -> str:
    s = view.schedule
    lines = [
        _("<b>Consultation C{id}: {title}</b>").format(id=view.id, title=html.escape(view.title)),
        html.escape(view.background),
        "",
        _("Now: {phase}").format(phase=PHASE_NAMES[view.phase]),
        _("Discussion until {when}").format(when=local_time(s.discussion_ends_at, tz)),
    ]
    if view.options:
        lines.append(_("Voting until {when}").format(when=local_time(s.voting_ends_at, tz)))
        lines.append(_("Anonymous vote") if view.anonymous else _("Named vote"))
        lines += [f"{n}. {html.escape(o.text)}" for n, o in enumerate(view.options, 1)]
    if view.major:
        lines.append(_("A major matter: the community party organisation decides."))
    if view.meeting_at:
        lines.append(
            _("Meeting: {when}, {place}").format(
                when=local_time(view.meeting_at, tz), place=html.escape(view.meeting_place or "")
            )
        )
    if view.my_option is not None:
        chosen = next((o.text for o in view.options if o.id == view.my_option), "")
        lines.append(_("Your vote: {option}").format(option=html.escape(chosen)))
    if view.decision:
        lines.append(_("Decision: {decision}").format(decision=html.escape(view.decision)))
    return "\n".join(lines)


def _keyboard(view: ConsultationView) -> InlineKeyboardMarkup:
    def act(label: str, action: ConsultAction) -> list[Any]:
        return [button(label, ConsultCb(action=action, id=view.id))]

    rows = []
    open_ = view.phase in (Phase.DISCUSSION, Phase.VOTING)
    if view.entitled or view.can_manage or view.can_decide:
        rows.append(act(_("Opinions"), ConsultAction.OPINIONS))
    if view.entitled and open_:
        rows.append(act(_("Give an opinion"), ConsultAction.OPINE))
    if view.entitled and view.phase is Phase.VOTING:
        rows.append(act(_("Vote"), ConsultAction.BALLOT))
    if view.entitled and view.meeting_at and view.phase is not Phase.DECIDED:
        rows.append(act(_("I am at the meeting"), ConsultAction.ATTEND))
    if view.can_manage and view.phase is not Phase.DECIDED:
        rows.append(act(_("Invitation links"), ConsultAction.INVITE))
        if view.phase is Phase.VOTING:
            rows.append(act(_("Record a paper vote"), ConsultAction.PAPER))
        if view.meeting_at:
            rows.append(act(_("Meeting code"), ConsultAction.CODE))
        if view.phase is Phase.COUNTING:
            rows.append(act(_("Close and count"), ConsultAction.CLOSE))
    if view.can_decide and view.phase is Phase.CLOSED:
        rows.append(act(_("Record the decision"), ConsultAction.DECIDE))
    if view.phase in (Phase.CLOSED, Phase.DECIDED):
        rows.append(
            act(_("Results"), ConsultAction.RESULTS) + act(_("Minutes"), ConsultAction.MINUTES)
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def show(message: Message, view: ConsultationView, settings: Settings) -> None:
    await message.answer(consultation_text(view, settings.tz), reply_markup=_keyboard(view))


@opens(CONSULTATION)
async def open_from_broadcast(
    message: Message,
    *,
    item_id: int,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    cipher: PersonalDataCipher,
) -> None:
    """A broadcast's "open the consultation" button."""
    found = await consultations.view(
        uow, principal, consultation_id=item_id, ballot_secret=cipher.ballot_secret
    )
    await show(message, found, settings)


@router.message(Command("consult"))
async def consult_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    await state.clear()
    if (command.args or "").strip().lower() == "new":
        await _start_form(message, state, principal, uow, need_id=None)
        return
    found = await consultations.listing(uow, principal)
    rows = [
        [
            button(
                f"C{v.id} {v.title} · {PHASE_NAMES[v.phase]}"[:60],
                ConsultCb(action=ConsultAction.OPEN, id=v.id),
            )
        ]
        for v in found
    ]
    if await places.covered_communities(uow, principal, CONSULTATION_ROLES):
        rows.append([button(_("Open a new consultation"), ConsultCb(action=ConsultAction.NEW))])
    if not rows:
        await message.answer(_("There is no consultation in your community right now."))
        return
    await message.answer(
        _("Consultations (协商议事):") if found else _("No consultations yet."),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.OPEN))
async def open_page(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    cipher: PersonalDataCipher,
) -> None:
    view = await consultations.view(
        uow, principal, consultation_id=callback_data.id, ballot_secret=cipher.ballot_secret
    )
    await callback.answer()
    if isinstance(callback.message, Message):
        await show(callback.message, view, settings)


@deep_link("c_")
async def consultation_link(message: Message, rest: str, data: dict[str, Any]) -> None:
    """`c_<id>` opens it; `c_<id>_<actor>_<token>` also takes an invited seat."""
    principal: Principal = data["principal"]
    number, _sep, invitation = rest.partition("_")
    try:
        if id_number(number) is None:
            raise NotFound("consultation", 0)
        if invitation:
            actor_name, _sep2, token = invitation.rpartition("_")
            actor = Actor(actor_name) if actor_name in Actor._value2member_map_ else None
            if actor is None:
                raise PermissionDenied()
            await consultations.take_seat(
                data["uow"],
                data["cipher"],
                principal,
                consultation_id=int(number),
                actor=actor,
                token=token,
            )
            await message.answer(_("You take part as: {actor}.").format(actor=ACTOR_NAMES[actor]))
        view = await consultations.view(
            data["uow"],
            principal,
            consultation_id=int(number),
            ballot_secret=data["cipher"].ballot_secret,
        )
    except (NotFound, PermissionDenied):
        await message.answer(_("This link is not valid or has expired."))
        return
    await show(message, view, data["settings"])


# ---------------------------------------------------------------- opening one


async def _start_form(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    need_id: int | None,
) -> None:
    covered = await places.covered_communities(uow, principal, CONSULTATION_ROLES)
    if not covered:
        await message.answer(_("Consultations are opened by community workers and admins."))
        return
    await state.set_state(ConsultForm.title)
    await state.update_data(allowed=[c.id for c in covered], need=need_id)
    await message.answer(_("The topic, in one line? /cancel stops."))


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.NEW))
async def new_from_button(
    callback: CallbackQuery, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _start_form(callback.message, state, principal, uow, need_id=None)


@router.callback_query(NeedCb.filter(F.action == NeedAction.CONSULT))
async def new_from_need(
    callback: CallbackQuery,
    callback_data: NeedCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    detail = await needs.need_detail(uow, principal, need_id=callback_data.id)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    await _start_form(callback.message, state, principal, uow, need_id=detail.brief.id)
    await callback.message.answer(
        _("It will be linked to request {reference}; its outcome goes to the resident.").format(
            reference=detail.brief.reference
        )
    )


@router.message(ConsultForm.title, F.text)
async def form_title(message: Message, state: FSMContext) -> None:
    title = " ".join((message.text or "").split())
    if not title or len(title) > 120:
        await message.answer(_("Please keep the topic to one line of at most 120 characters."))
        return
    await state.update_data(title=title)
    await state.set_state(ConsultForm.background)
    await message.answer(_("The background: what is it about, what is known? (one message)"))


@router.message(ConsultForm.background, F.text)
async def form_background(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip()
    if len(text) > 3000:
        await message.answer(_("That is too long: please keep it under 3,000 characters."))
        return
    await state.update_data(background=text)
    await state.set_state(ConsultForm.options)
    await message.answer(
        _(
            "The options to vote on, one a line (2 to 8). Send - for an open discussion "
            "without a vote."
        )
    )


@router.message(ConsultForm.options, F.text)
async def form_options(message: Message, state: FSMContext) -> None:
    try:
        options = parse_options(message.text or "")
    except InvalidInput:
        await message.answer(
            _("Please send 2 to 8 different options, one a line (or - for no vote).")
        )
        return
    await state.update_data(options=options)
    data = await state.get_data()
    await state.set_state(ConsultForm.communities)
    allowed: list[int] = data["allowed"]
    if len(allowed) == 1:
        await state.update_data(communities=allowed)
        await _ask_days(message, state)
        return
    await message.answer(
        _("Residents of which communities take part? Send their codes, or tap All."),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(
                        _("All {count}").format(count=len(allowed)),
                        ConsultCb(action=ConsultAction.ALL),
                    )
                ]
            ]
        ),
    )


@router.callback_query(ConsultForm.communities, ConsultCb.filter(F.action == ConsultAction.ALL))
async def form_all(callback: CallbackQuery, state: FSMContext) -> None:
    await state.update_data(communities=(await state.get_data())["allowed"])
    await callback.answer()
    if isinstance(callback.message, Message):
        await _ask_days(callback.message, state)


@router.message(ConsultForm.communities, F.text)
async def form_communities(message: Message, state: FSMContext, uow: UnitOfWork) -> None:
    chosen = await communities_by_code(message, uow, (await state.get_data())["allowed"])
    if chosen is None:
        return
    await state.update_data(communities=chosen)
    await _ask_days(message, state)


async def _ask_days(message: Message, state: FSMContext) -> None:
    await state.set_state(ConsultForm.discussion_days)
    await message.answer(_("How many days of discussion? (1 to {max})").format(max=MAX_DAYS))


@router.message(ConsultForm.discussion_days, F.text)
async def form_discussion(message: Message, state: FSMContext) -> None:
    days = whole_number(message.text, MAX_DAYS)
    if days is None:
        await message.answer(_("Please send a whole number from 1 to {max}.").format(max=MAX_DAYS))
        return
    await state.update_data(discussion_days=days)
    if not (await state.get_data())["options"]:
        await state.update_data(voting_days=0, anonymous=True)
        await _ask_major(message, state)
        return
    await state.set_state(ConsultForm.voting_days)
    await message.answer(_("How many days of voting after it? (1 to {max})").format(max=MAX_DAYS))


@router.message(ConsultForm.voting_days, F.text)
async def form_voting(message: Message, state: FSMContext) -> None:
    days = whole_number(message.text, MAX_DAYS)
    if days is None:
        await message.answer(_("Please send a whole number from 1 to {max}.").format(max=MAX_DAYS))
        return
    await state.update_data(voting_days=days)
    await state.set_state(ConsultForm.anonymous)
    await message.answer(
        _("Anonymous or named voting?"),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("Anonymous"), ConsultCb(action=ConsultAction.ANON, value="1"))],
                [button(_("Named"), ConsultCb(action=ConsultAction.ANON, value="0"))],
            ]
        ),
    )


@router.callback_query(ConsultForm.anonymous, ConsultCb.filter(F.action == ConsultAction.ANON))
async def form_anonymous(
    callback: CallbackQuery, callback_data: ConsultCb, state: FSMContext
) -> None:
    await state.update_data(anonymous=callback_data.value == "1")
    await callback.answer()
    if isinstance(callback.message, Message):
        await _ask_major(callback.message, state)


async def _ask_major(message: Message, state: FSMContext) -> None:
    await state.set_state(ConsultForm.major)
    await message.answer(
        _("Is it a major matter (重大事项), decided by the community party organisation?"),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(
                        _("Yes, a major matter"), ConsultCb(action=ConsultAction.MAJOR, value="1")
                    )
                ],
                [button(_("No"), ConsultCb(action=ConsultAction.MAJOR, value="0"))],
            ]
        ),
    )


@router.callback_query(ConsultForm.major, ConsultCb.filter(F.action == ConsultAction.MAJOR))
async def form_major(callback: CallbackQuery, callback_data: ConsultCb, state: FSMContext) -> None:
    await state.update_data(major=callback_data.value == "1")
    await state.set_state(ConsultForm.meeting)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _(
                "An in-person meeting? Send its time and place, e.g. 2026-12-05 19:00 活动室, "
                "or tap No meeting."
            ),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [button(_("No meeting"), ConsultCb(action=ConsultAction.NO_MEETING))]
                ]
            ),
        )


@router.message(ConsultForm.meeting, F.text)
async def form_meeting(message: Message, state: FSMContext, settings: Settings) -> None:
    parts = (message.text or "").split(maxsplit=2)
    try:
        if len(parts) < 3:
            raise InvalidInput("meeting", "format")
        moment = parse_when(f"{parts[0]} {parts[1]}", settings.tz)
    except InvalidInput:
        await message.answer(_("Please write it like 2026-12-05 19:00 活动室, or tap No meeting."))
        return
    await state.update_data(meeting_at=moment.isoformat(), meeting_place=parts[2])
    await _confirm(message, state, settings)


@router.callback_query(ConsultForm.meeting, ConsultCb.filter(F.action == ConsultAction.NO_MEETING))
async def form_no_meeting(callback: CallbackQuery, state: FSMContext, settings: Settings) -> None:
    await state.update_data(meeting_at=None, meeting_place=None)
    await callback.answer()
    if isinstance(callback.message, Message):
        await _confirm(callback.message, state, settings)


async def _confirm(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    await state.set_state(ConsultForm.confirm)
    options = "\n".join(f"{n}. {html.escape(o)}" for n, o in enumerate(data["options"], 1))
    summary = _(
        "<b>{title}</b>\n{background}\n\n{options}\nDiscussion {discussion} days, voting "
        "{voting} days."
    ).format(
        title=html.escape(data["title"]),
        background=html.escape(data["background"]),
        options=options or _("(an open discussion, no vote)"),
        discussion=data["discussion_days"],
        voting=data["voting_days"],
    )
    await message.answer(
        summary + "\n\n" + _("Open it and tell the residents?"),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("Open it"), ConsultCb(action=ConsultAction.CREATE))],
                [button(_("Cancel"), ConsultCb(action=ConsultAction.DROP))],
            ]
        ),
    )


@router.callback_query(ConsultForm.confirm, ConsultCb.filter(F.action == ConsultAction.DROP))
async def form_drop(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(_("Cancelled. Nothing was saved."))


@router.callback_query(ConsultForm.confirm, ConsultCb.filter(F.action == ConsultAction.CREATE))
async def form_create(
    callback: CallbackQuery,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    meeting = datetime.fromisoformat(data["meeting_at"]) if data.get("meeting_at") else None
    spec = consultations.NewConsultation(
        title=data["title"],
        background=data["background"],
        options=data["options"],
        community_ids=data["communities"],
        discussion_days=data["discussion_days"],
        voting_days=data["voting_days"],
        anonymous=data["anonymous"],
        major=data["major"],
        meeting_at=meeting,
        meeting_place=data.get("meeting_place"),
        need_id=data.get("need"),
    )
    title = data["title"]
    view = await consultations.open_consultation(
        uow,
        principal,
        spec,
        texts=in_both_languages(
            i18n,
            lambda: _(
                "New consultation in your community: “{title}”. Read it, "
                "give your opinion and vote."
            ).format(title=title),
        ),
        reminder=in_both_languages(
            i18n,
            lambda: _("Voting on “{title}” closes soon, and you have not voted yet.").format(
                title=title
            ),
        ),
    )
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(_("Opened. Residents are being told."))
        await show(callback.message, view, settings)


# ---------------------------------------------------------------- opinions


@router.callback_query(ConsultCb.filter(F.action.in_({ConsultAction.OPINIONS, ConsultAction.MORE})))
async def list_opinions(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    page = min(id_number(callback_data.value) or 0, 10_000)
    found = await consultations.opinions(
        uow, principal, consultation_id=callback_data.id, page=page
    )
    view = await consultations.view(uow, principal, consultation_id=callback_data.id)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if not found.items:
        await callback.message.answer(_("No opinions yet."))
        return
    for opinion in found.items:
        who = f"{html.escape(opinion.author)} ({ACTOR_NAMES[opinion.actor]})"
        if opinion.text is None:
            text = _("{who}: hidden by a moderator ({reason})").format(
                who=who, reason=html.escape(opinion.hidden_reason or "")
            )
        else:
            text = f"{who}: {html.escape(opinion.text)}"
        row = []
        if opinion.text is not None and view.entitled:
            label = _("Support ({count})").format(count=opinion.supporters)
            row.append(button(label, ConsultCb(action=ConsultAction.SUPPORT, id=opinion.id)))
        if opinion.text is not None and view.can_manage:
            row.append(button(_("Hide"), ConsultCb(action=ConsultAction.HIDE, id=opinion.id)))
        markup = InlineKeyboardMarkup(inline_keyboard=[row]) if row else None
        await callback.message.answer(text, reply_markup=markup)
    if found.has_next:
        more = ConsultCb(action=ConsultAction.MORE, id=callback_data.id, value=str(page + 1))
        await callback.message.answer(
            _("Page {page} of {pages}").format(page=page + 1, pages=found.pages),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button("›", more)]]),
        )


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.OPINE))
async def opine(callback: CallbackQuery, callback_data: ConsultCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        ConsultForm.opinion,
        _("Your opinion (one message)? /cancel"),
        consultation=callback_data.id,
    )


@router.message(ConsultForm.opinion, F.text)
async def opinion_typed(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.get_data()
    try:
        await consultations.add_opinion(
            uow, principal, consultation_id=data["consultation"], text=message.text or ""
        )
    except InvalidInput:
        await message.answer(_("Please keep your opinion under 1,000 characters."))
        return
    await state.clear()
    await message.answer(_("Thank you: your opinion is posted."))


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.SUPPORT))
async def support(
    callback: CallbackQuery, callback_data: ConsultCb, principal: Principal, uow: UnitOfWork
) -> None:
    added = await consultations.support(uow, principal, opinion_id=callback_data.id)
    await callback.answer(_("You support it.") if added else _("You support it already."))


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.HIDE))
async def hide(callback: CallbackQuery, callback_data: ConsultCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        ConsultForm.hide_reason,
        _("Why hide it? (the reason is shown)"),
        opinion=callback_data.id,
    )


@router.message(ConsultForm.hide_reason, F.text)
async def hide_reason(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.get_data()
    await consultations.hide(uow, principal, opinion_id=data["opinion"], reason=message.text or "")
    await state.clear()
    await message.answer(_("Hidden. The reason is shown in its place."))


# ---------------------------------------------------------------- voting and the meeting


def _options_keyboard(
    view: ConsultationView, action: ConsultAction, value: str = ""
) -> InlineKeyboardMarkup:
    rows = []
    for option in view.options:
        mine = option.id == view.my_option and action is ConsultAction.VOTE
        data = ConsultCb(action=action, id=view.id, value=f"{option.id}{value}")
        rows.append([button(choice_label(option.text[:50], mine), data)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.BALLOT))
async def ballot(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
) -> None:
    view = await consultations.view(
        uow, principal, consultation_id=callback_data.id, ballot_secret=cipher.ballot_secret
    )
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("Your vote (you can change it until voting closes):"),
            reply_markup=_options_keyboard(view, ConsultAction.VOTE),
        )


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.VOTE))
async def vote(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
) -> None:
    option = id_number(callback_data.value)
    if option is None:
        raise InvalidInput("option", callback_data.value)
    await consultations.vote(
        uow, cipher, principal, consultation_id=callback_data.id, option_id=option
    )
    view = await consultations.view(
        uow, principal, consultation_id=callback_data.id, ballot_secret=cipher.ballot_secret
    )
    await callback.answer(_("Your vote is counted."))
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(
            reply_markup=_options_keyboard(view, ConsultAction.VOTE)
        )


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.PAPER))
async def paper(callback: CallbackQuery, callback_data: ConsultCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        ConsultForm.paper_person,
        _("The number of the person who voted on paper (their /me shows it)?"),
        consultation=callback_data.id,
    )


@router.message(ConsultForm.paper_person, F.text)
async def paper_person(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    number = whole_number(message.text, 10**12)
    if number is None:
        await message.answer(_("Please send the person's number."))
        return
    data = await state.get_data()
    view = await consultations.view(uow, principal, consultation_id=data["consultation"])
    await state.clear()
    await message.answer(
        _("Their choice on paper:"),
        reply_markup=_options_keyboard(view, ConsultAction.PAPER_VOTE, f"_{number}"),
    )


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.PAPER_VOTE))
async def paper_vote(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
) -> None:
    option_text, _sep, person_text = callback_data.value.partition("_")
    option, person = id_number(option_text), id_number(person_text)
    if option is None or person is None:
        raise InvalidInput("option", callback_data.value)
    await consultations.record_paper_vote(
        uow,
        cipher,
        principal,
        consultation_id=callback_data.id,
        person_id=int(person),
        option_id=int(option),
    )
    await callback.answer(_("The paper vote is recorded (marked as assisted)."), show_alert=True)


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.ATTEND))
async def attend(callback: CallbackQuery, callback_data: ConsultCb, state: FSMContext) -> None:
    await ask(
        callback,
        state,
        ConsultForm.meeting_code,
        _("Type the code shown at the meeting."),
        consultation=callback_data.id,
    )


@router.message(ConsultForm.meeting_code, F.text)
async def meeting_code_typed(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
) -> None:
    data = await state.get_data()
    try:
        await consultations.attend(
            uow, cipher, principal, consultation_id=data["consultation"], code=message.text or ""
        )
    except InvalidInput:
        await message.answer(_("That is not the meeting's code. Try again, or /cancel."))
        return
    await state.clear()
    await message.answer(_("Your attendance is recorded. Welcome!"))


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.CODE))
async def show_code(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
) -> None:
    view = await consultations.view(uow, principal, consultation_id=callback_data.id)
    if not view.can_manage:
        raise PermissionDenied()
    await callback.answer()
    if isinstance(callback.message, Message):
        code = consultations.meeting_code(cipher, view.id)
        await callback.message.answer(
            _("Meeting code for “{title}”: <b>{code}</b>").format(
                title=html.escape(view.title), code=code
            )
        )


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.INVITE))
async def invite(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    settings: Settings,
    bot: Bot,
    channel: Channel,
) -> None:
    view = await consultations.view(uow, principal, consultation_id=callback_data.id)
    if not view.can_manage:
        raise PermissionDenied()
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    lines = [_("Send each representative the link of their seat:")]
    for actor in INVITED_ACTORS:
        token = consultations.invite_token(cipher, view.id, actor)
        link = await start_link(bot, channel, settings, f"c_{view.id}_{actor.value}_{token}")
        lines.append(f"{ACTOR_NAMES[actor]}: {html.escape(link)}")
    await callback.message.answer("\n".join(lines))


# ---------------------------------------------------------------- closing and deciding


def results_text(found: Results) -> str:
    view, counted = found.consultation, found.tally
    lines = [
        _("<b>Results of C{id}: {title}</b>").format(id=view.id, title=html.escape(view.title))
    ]
    for option in view.options:
        lines.append(f"{html.escape(option.text)}: {counted.per_option.get(option.id, 0)}")
    lines.append(
        _("Turnout: {ballots} of {entitled} ({share:.0%}), of them {assisted} on paper").format(
            ballots=counted.ballots,
            entitled=counted.entitled,
            share=counted.turnout,
            assisted=counted.assisted,
        )
    )
    for actor, entitled in sorted(counted.entitled_per_actor.items()):
        lines.append(
            _("  {actor}: {ballots} of {entitled}").format(
                actor=ACTOR_NAMES[actor], ballots=counted.per_actor.get(actor, 0), entitled=entitled
            )
        )
    if view.meeting_at:
        lines.append(_("At the meeting: {count}").format(count=found.attended))
    return "\n".join(lines)


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.CLOSE))
async def close(
    callback: CallbackQuery, callback_data: ConsultCb, principal: Principal, uow: UnitOfWork
) -> None:
    found = await consultations.close(uow, principal, consultation_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(results_text(found))
        await callback.message.answer(
            _(
                "Closed. The decision is recorded next (for a major matter by the party "
                "organisation's reviewer)."
            )
        )


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.RESULTS))
async def show_results(
    callback: CallbackQuery, callback_data: ConsultCb, principal: Principal, uow: UnitOfWork
) -> None:
    found = await consultations.results(uow, principal, consultation_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(results_text(found))


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.DECIDE))
async def decide(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    view = await consultations.view(uow, principal, consultation_id=callback_data.id)
    if not view.can_decide:
        raise PermissionDenied()
    await ask(
        callback,
        state,
        ConsultForm.decision,
        _("The decision, as it will be announced?"),
        consultation=view.id,
        major=view.major,
    )


@router.message(ConsultForm.decision, F.text)
async def decision_typed(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    i18n: I18n,
    settings: Settings,
) -> None:
    await state.update_data(decision=(message.text or "").strip())
    if (await state.get_data())["major"]:
        await state.set_state(ConsultForm.decided_on)
        await message.answer(_("The date of the party organisation's meeting (YYYY-MM-DD)?"))
        return
    await _record_decision(message, state, principal, uow, notifier, i18n, settings)


@router.message(ConsultForm.decided_on, F.text)
async def decided_on_typed(message: Message, state: FSMContext) -> None:
    try:
        day = date.fromisoformat((message.text or "").strip())
    except ValueError:
        await message.answer(_("Please write the date like 2026-12-01."))
        return
    await state.update_data(decided_on=day.isoformat())
    await state.set_state(ConsultForm.minutes)
    await message.answer(_("The minutes of that meeting (a summary)?"))


@router.message(ConsultForm.minutes, F.text)
async def minutes_typed(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    i18n: I18n,
    settings: Settings,
) -> None:
    await state.update_data(minutes=(message.text or "").strip())
    await _record_decision(message, state, principal, uow, notifier, i18n, settings)


async def _record_decision(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    i18n: I18n,
    settings: Settings,
) -> None:
    data = await state.get_data()
    view = await consultations.view(uow, principal, consultation_id=data["consultation"])
    decision = data["decision"]
    shown = await consultations.decide(
        uow,
        notifier,
        principal,
        consultation_id=view.id,
        decision=decision,
        decided_on=date.fromisoformat(data["decided_on"]) if data.get("decided_on") else None,
        minutes=data.get("minutes"),
        texts=in_both_languages(
            i18n,
            lambda: _("Outcome of the consultation “{title}”: {decision}").format(
                title=view.title, decision=decision
            ),
        ),
    )
    await state.clear()
    await message.answer(_("The decision is recorded and sent to everyone who took part."))
    await show(message, shown, settings)


@router.callback_query(ConsultCb.filter(F.action == ConsultAction.MINUTES))
async def minutes(
    callback: CallbackQuery,
    callback_data: ConsultCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    found = await consultations.results(uow, principal, consultation_id=callback_data.id)
    opinions: list[OpinionView] = []
    page = 0
    while True:
        chunk = await consultations.opinions(
            uow, principal, consultation_id=callback_data.id, page=page
        )
        opinions.extend(chunk.items)
        if not chunk.has_next or page > 40:
            break
        page += 1
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    text = minutes_text(found, opinions, settings)
    await callback.message.answer_document(
        BufferedInputFile(
            text.encode("utf-8"), filename=f"consultation-C{found.consultation.id}.txt"
        ),
        caption=_("Minutes of C{id}").format(id=found.consultation.id),
    )


def minutes_text(found: Results, opinions: list[Any], settings: Settings) -> str:
    """Plain text: what was asked, who could take part, the count, the opinions, the decision.
    An anonymous vote's minutes name no voter."""
    view = found.consultation
    plain = [
        _("Minutes of the consultation C{id}").format(id=view.id),
        view.title,
        "",
        view.background,
        "",
        _results_plain(found),
        "",
        _("Opinions:"),
    ]
    for opinion in opinions:
        text = (
            opinion.text
            if opinion.text is not None
            else _("(hidden: {reason})").format(reason=opinion.hidden_reason or "")
        )
        plain.append(f"- {opinion.author} ({ACTOR_NAMES[opinion.actor]}): {text}")
    if found.named:
        options = {o.id: o.text for o in view.options}
        plain += ["", _("Named votes:")]
        plain += [f"- {name}: {options.get(option, '?')}" for name, option in found.named]
    if view.decision:
        plain += ["", _("Decision: {decision}").format(decision=view.decision)]
        if view.decided_on:
            plain.append(
                _("Decided by the party organisation on {day}").format(day=view.decided_on)
            )
        if view.minutes:
            plain.append(view.minutes)
    return "\n".join(plain) + "\n"


def _results_plain(found: Results) -> str:
    return html.unescape(TAG.sub("", results_text(found)))
