"""/volunteer: a resident registers as a volunteer; /volunteers: a worker verifies them."""

from __future__ import annotations

import html
from collections.abc import Awaitable
from typing import Any

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.domain.enums import Channel
from bot.domain.errors import InvalidInput
from bot.domain.principal import Principal
from bot.domain.privacy import CONSENT_VERSION
from bot.domain.volunteers import (
    PERIODS,
    WEEKDAYS,
    Skill,
    VolunteerStatus,
    clean_tags,
    mask_id_number,
    may_hold_id_number,
    normalise_id_number,
    normalise_phone,
)
from bot.services import UnitOfWork, places, privacy, volunteers
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import Notifier
from bot.services.volunteers import VolunteerView
from handlers.common.callbacks import ConfirmCb, PrivacyAction, PrivacyCb
from handlers.common.capabilities import phone_keyboard, phone_question
from handlers.common.confirm import ConfirmStep
from handlers.common.consent import (
    consent_keyboard,
    consent_notice,
    declined_text,
    id_consent_notice,
)
from handlers.common.keyboards import Keyboard, button, choice_label, toggle_keyboard
from handlers.common.routing import RouteTable
from handlers.common.steps import delete_typed, save_then_clear
from handlers.common.volunteer_texts import (
    DAY_NAMES,
    PERIOD_NAMES,
    SKILL_NAMES,
    skill_options,
    slot_label,
)
from handlers.volunteers.callbacks import VolunteerAction, VolunteerCb
from handlers.volunteers.states import ConsentForm, VolunteerForm, VolunteerReview

router = RouteTable("volunteers")
CONFIRM = ConfirmStep("volunteer", VolunteerForm.confirm)

STATUS_NAMES = {
    VolunteerStatus.PENDING: __("waiting for verification by a community worker"),
    VolunteerStatus.VERIFIED: __("verified"),
    VolunteerStatus.REJECTED: __("not verified"),
    VolunteerStatus.WITHDRAWN: __("stopped: consent withdrawn (register again with /volunteer)"),
}
ID_PROBLEMS = {
    "shape": __("An ID number has 18 characters: 17 digits, then a digit or X."),
    "birth_date": __("The date of birth in that number is not a real date."),
    "check_digit": __("The last character does not match the others. Please check the number."),
}


def profile_text(view: VolunteerView, locale: str) -> str:
    lines = [
        _("<b>Volunteer registration</b>"),
        _("Status: {status}").format(status=STATUS_NAMES[view.status]),
        _("Name: {name}").format(name=html.escape(view.real_name)),
        _("ID number: {masked}").format(masked=view.masked_id),
        _("Phone: {phone}").format(phone=view.phone),
        _("Skills: {skills}").format(
            skills=", ".join(str(SKILL_NAMES[s]) for s in view.skills) or "—"
        ),
    ]
    if view.tags:
        lines.append(_("Other skills: {tags}").format(tags=html.escape(", ".join(view.tags))))
    slots = ", ".join(slot_label(s) for s in view.availability) or "—"
    lines.append(_("Available: {slots}").format(slots=slots))
    if view.number:
        lines.append(_("Volunteer number: {number}").format(number=view.number))
    if view.rejection_reason:
        lines.append(_("Reason: {reason}").format(reason=html.escape(view.rejection_reason)))
    return "\n".join(lines)


# ---------------------------------------------------------------- registration


@router.message(Command("volunteer"))
async def volunteer_start(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    if principal.home is None:
        await message.answer(_("Please choose your community first: send /start."))
        return
    current = await volunteers.my_registration(uow, principal)
    if current is not None and current.status is VolunteerStatus.VERIFIED:
        await message.answer(profile_text(current, principal.locale))
        return
    if not await privacy.has_registration_consent(uow, principal):
        # PIPL: the notice and consent (and a separate one for the ID number) come first.
        await state.set_state(ConsentForm.notice)
        await message.answer(consent_notice(), reply_markup=consent_keyboard(PrivacyAction.AGREE))
        return
    await _ask_name(message, state, current, principal)


async def _ask_name(
    message: Message, state: FSMContext, current: VolunteerView | None, principal: Principal
) -> None:
    if current is not None and current.status is VolunteerStatus.PENDING:
        await message.answer(
            profile_text(current, principal.locale)
            + "\n\n"
            + _("To correct it, send your real name again now; or /cancel.")
        )
    else:
        await message.answer(
            _(
                "Thank you for volunteering! A community worker will check your ID card in person "
                "(实名认证). Your ID number is stored encrypted and shown only masked.\n\n"
                "What is your real name (as on your ID card)? Or /cancel."
            )
        )
    await state.set_state(VolunteerForm.name)


# The form's personal data (name, ID number, phone) is kept in the conversation state — memory
# or Redis, expiring after FSM_TTL_SECONDS — only as ciphertext, until the save decrypts it.
@router.callback_query(ConsentForm.notice, PrivacyCb.filter(F.action == PrivacyAction.AGREE))
async def consent_agree(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(ConsentForm.id_number)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            id_consent_notice(), reply_markup=consent_keyboard(PrivacyAction.AGREE_ID)
        )


@router.callback_query(ConsentForm.id_number, PrivacyCb.filter(F.action == PrivacyAction.AGREE_ID))
async def consent_agree_id(
    callback: CallbackQuery, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await privacy.give_registration_consent(uow, principal, locale=principal.locale, id_number=True)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("Thank you: your consent (notice version {version}) is recorded.").format(
                version=CONSENT_VERSION
            )
        )
        current = await volunteers.my_registration(uow, principal)
        await _ask_name(callback.message, state, current, principal)


@router.callback_query(
    StateFilter(ConsentForm.notice, ConsentForm.id_number),
    PrivacyCb.filter(F.action == PrivacyAction.DECLINE),
)
async def consent_decline(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(declined_text())


@router.message(StateFilter(ConsentForm.notice, ConsentForm.id_number))
async def consent_typed(message: Message, state: FSMContext) -> None:
    notice = await state.get_state() == ConsentForm.notice.state
    agree = PrivacyAction.AGREE if notice else PrivacyAction.AGREE_ID
    await message.answer(
        _("Please tap “I agree” or “I do not agree” (or send /cancel)."),
        reply_markup=consent_keyboard(agree),
    )


@router.message(VolunteerForm.name, F.text)
async def volunteer_name(message: Message, state: FSMContext, cipher: PersonalDataCipher) -> None:
    name = " ".join((message.text or "").split())
    if not 2 <= len(name) <= volunteers.MAX_NAME:
        await message.answer(_("Please send your full real name (2 to 50 characters)."))
        return
    await state.update_data(real_name=cipher.encrypt(name))
    await state.set_state(VolunteerForm.id_number)
    await message.answer(_("Your resident ID number (18 characters)?"))


@router.message(VolunteerForm.id_number, F.text)
async def volunteer_id_number(
    message: Message, state: FSMContext, cipher: PersonalDataCipher, channel: Channel
) -> None:
    text = message.text or ""
    removed = may_hold_id_number(text) and await delete_typed(message)
    removed_note = _("For your safety, the message with the full number was removed.")
    try:
        number = normalise_id_number(text)
    except InvalidInput as error:
        if removed:  # said first, so that the person knows where their message went
            await message.answer(removed_note)
        await message.answer(str(ID_PROBLEMS[error.reason]))
        return
    masked = mask_id_number(number)
    await state.update_data(id_number=cipher.encrypt(number), id_masked=masked)
    await state.set_state(VolunteerForm.phone)
    noted = _("ID number: {masked}").format(masked=masked)
    if removed:
        noted += "\n" + removed_note
    await message.answer(noted)
    await message.answer(phone_question(channel), reply_markup=phone_keyboard(channel))


@router.message(VolunteerForm.phone, F.contact | F.text)
async def volunteer_phone(message: Message, state: FSMContext, cipher: PersonalDataCipher) -> None:
    if message.contact is not None:
        if message.from_user is None or message.contact.user_id != message.from_user.id:
            await message.answer(_("Please share your own phone number."))
            return
        raw = message.contact.phone_number
    else:
        raw = message.text or ""
    try:
        phone = normalise_phone(raw)
    except InvalidInput:
        await message.answer(_("That is not a mainland mobile number (11 digits starting with 1)."))
        return
    await state.update_data(phone=cipher.encrypt(phone), skills=[], availability=[], communities=[])
    await state.set_state(VolunteerForm.skills)
    await message.answer(_("Phone number saved."), reply_markup=ReplyKeyboardRemove())
    await message.answer(
        _("What can you help with? Tap all that apply, then Next."),
        reply_markup=_skills_keyboard(set()),
    )


def _skills_keyboard(chosen: set[str]) -> InlineKeyboardMarkup:
    return toggle_keyboard(
        skill_options(),
        chosen,
        tap=lambda value: VolunteerCb(action=VolunteerAction.SKILL, value=value),
        done=VolunteerCb(action=VolunteerAction.NEXT),
    )


@router.callback_query(VolunteerForm.skills, VolunteerCb.filter(F.action == VolunteerAction.SKILL))
async def volunteer_skill(
    callback: CallbackQuery, callback_data: VolunteerCb, state: FSMContext
) -> None:
    if callback_data.value not in Skill._value2member_map_:
        await callback.answer()
        return
    chosen = set((await state.get_data())["skills"]) ^ {callback_data.value}
    await state.update_data(skills=sorted(chosen))
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=_skills_keyboard(chosen))


@router.callback_query(VolunteerForm.skills, VolunteerCb.filter(F.action == VolunteerAction.NEXT))
async def volunteer_skills_done(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(VolunteerForm.tags)
    await callback.answer()
    if isinstance(callback.message, Message):
        skip = InlineKeyboardMarkup(
            inline_keyboard=[[button(_("Skip"), VolunteerCb(action=VolunteerAction.SKIP))]]
        )
        await callback.message.answer(
            _("Any other skills? Type them separated by commas (e.g. 理发, 书法), or tap Skip."),
            reply_markup=skip,
        )


@router.message(VolunteerForm.tags, F.text)
async def volunteer_tags(message: Message, state: FSMContext) -> None:
    await state.update_data(tags=list(clean_tags(message.text or "")))
    await _ask_availability(message, state, edit=False)


@router.callback_query(VolunteerForm.tags, VolunteerCb.filter(F.action == VolunteerAction.SKIP))
async def volunteer_tags_skip(callback: CallbackQuery, state: FSMContext) -> None:
    await state.update_data(tags=[])
    await callback.answer()
    if isinstance(callback.message, Message):
        await _ask_availability(callback.message, state, edit=False)


def _availability_keyboard(chosen: set[str]) -> InlineKeyboardMarkup:
    builder = Keyboard()
    for day in WEEKDAYS:
        row = []
        for period in PERIODS:
            slot = f"{day}_{period}"
            label = f"{DAY_NAMES[day]} {PERIOD_NAMES[period]}"
            row.append(
                button(
                    choice_label(label, slot in chosen),
                    VolunteerCb(action=VolunteerAction.SLOT, value=slot),
                )
            )
        builder.row(*row)
    builder.row(button(_("Next »"), VolunteerCb(action=VolunteerAction.NEXT)))
    return builder.as_markup()


async def _ask_availability(message: Message, state: FSMContext, *, edit: bool) -> None:
    await state.set_state(VolunteerForm.availability)
    chosen = set((await state.get_data())["availability"])
    await message.answer(
        _("When are you usually free? Tap the times, then Next."),
        reply_markup=_availability_keyboard(chosen),
    )


@router.callback_query(
    VolunteerForm.availability, VolunteerCb.filter(F.action == VolunteerAction.SLOT)
)
async def volunteer_slot(
    callback: CallbackQuery, callback_data: VolunteerCb, state: FSMContext
) -> None:
    chosen = set((await state.get_data())["availability"]) ^ {callback_data.value}
    chosen &= {f"{d}_{p}" for d in WEEKDAYS for p in PERIODS}
    await state.update_data(availability=sorted(chosen))
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=_availability_keyboard(chosen))


@router.callback_query(
    VolunteerForm.availability, VolunteerCb.filter(F.action == VolunteerAction.NEXT)
)
async def volunteer_availability_done(
    callback: CallbackQuery, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.set_state(VolunteerForm.communities)
    assert principal.home is not None
    await state.update_data(communities=[principal.home.community_id])
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _(
                "Where do you want to serve? Your own community is chosen; "
                "add others nearby, then Next."
            ),
            reply_markup=await _places_keyboard(uow, principal, {principal.home.community_id}),
        )


async def _places_keyboard(
    uow: UnitOfWork, principal: Principal, chosen: set[int]
) -> InlineKeyboardMarkup:
    assert principal.home is not None
    builder = Keyboard()
    listing = await places.communities(uow, street_id=principal.home.street_id, per_page=20)
    for community in listing.items:
        label = choice_label(community.label(principal.locale), community.id in chosen)
        builder.row(button(label, VolunteerCb(action=VolunteerAction.PLACE, id=community.id)))
    builder.row(button(_("Next »"), VolunteerCb(action=VolunteerAction.NEXT)))
    return builder.as_markup()


@router.callback_query(
    VolunteerForm.communities, VolunteerCb.filter(F.action == VolunteerAction.PLACE)
)
async def volunteer_place(
    callback: CallbackQuery,
    callback_data: VolunteerCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    chosen = set((await state.get_data())["communities"]) ^ {callback_data.id}
    await state.update_data(communities=sorted(chosen))
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(
            reply_markup=await _places_keyboard(uow, principal, chosen)
        )


@router.callback_query(
    VolunteerForm.communities, VolunteerCb.filter(F.action == VolunteerAction.NEXT)
)
async def volunteer_confirm(
    callback: CallbackQuery, state: FSMContext, cipher: PersonalDataCipher
) -> None:
    data = await state.get_data()
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    skills = ", ".join(str(SKILL_NAMES[Skill(s)]) for s in data["skills"]) or "—"
    slots = ", ".join(slot_label(s) for s in data["availability"]) or "—"
    text = "\n".join(
        [
            _("<b>Please check</b>"),
            _("Name: {name}").format(name=html.escape(cipher.decrypt(data["real_name"]))),
            _("ID number: {masked}").format(masked=data["id_masked"]),
            _("Phone: {phone}").format(phone=cipher.decrypt(data["phone"])),
            _("Skills: {skills}").format(skills=skills),
            _("Available: {slots}").format(slots=slots),
        ]
    )
    await CONFIRM.ask(callback.message, state, text)


@router.callback_query(*CONFIRM.filters)
async def volunteer_save(
    callback: CallbackQuery,
    callback_data: ConfirmCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    notifier: Notifier,
) -> None:
    data = await state.get_data()
    if not await CONFIRM.confirmed(callback, callback_data, state):
        return
    if not isinstance(callback.message, Message):
        return
    view = await save_then_clear(state, _register(uow, cipher, notifier, principal, data))
    await callback.message.edit_text(
        _(
            "Registered! Please show your ID card to a worker of your community; once verified you "
            "get your volunteer number here."
        )
        + "\n\n"
        + profile_text(view, principal.locale)
    )
    if await privacy.guardian_needed(uow, principal):
        await callback.message.answer(
            _(
                "You are under 14: a parent or guardian must agree too. Please come with them to "
                "a worker of your community, who records their consent."
            )
        )


def _register(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    notifier: Notifier,
    principal: Principal,
    data: dict[str, Any],
) -> Awaitable[VolunteerView]:
    """The service call that saves the registration form (its personal data kept encrypted in
    the conversation state until now)."""
    return volunteers.register(
        uow,
        cipher,
        notifier,
        principal,
        real_name=cipher.decrypt(data["real_name"]),
        id_number=cipher.decrypt(data["id_number"]),
        phone=cipher.decrypt(data["phone"]),
        skills=[Skill(s) for s in data["skills"]],
        tags=data.get("tags", []),
        availability=data["availability"],
        community_ids=data["communities"],
    )


# ---------------------------------------------------------------- verification by workers


@router.message(Command("volunteers"))
async def review_list(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    waiting = await volunteers.pending(uow, principal)
    if not waiting:
        await message.answer(_("No volunteer registration is waiting for verification."))
        return
    builder = Keyboard()
    for view in waiting:
        builder.row(
            button(
                f"{view.real_name} · {view.masked_id}",
                VolunteerCb(action=VolunteerAction.OPEN, id=view.id),
            )
        )
    await message.answer(
        _("Waiting for verification: {count}. Check each person's ID card in person.").format(
            count=len(waiting)
        ),
        reply_markup=builder.as_markup(),
    )


@router.callback_query(VolunteerCb.filter(F.action == VolunteerAction.OPEN))
async def review_open(
    callback: CallbackQuery, callback_data: VolunteerCb, principal: Principal, uow: UnitOfWork
) -> None:
    view = next(
        (v for v in await volunteers.pending(uow, principal) if v.id == callback_data.id), None
    )
    await callback.answer()
    if view is None or not isinstance(callback.message, Message):
        return
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_("ID checked: verify"), VolunteerCb(action=VolunteerAction.OK, id=view.id)),
                button(_("Refuse"), VolunteerCb(action=VolunteerAction.NO, id=view.id)),
            ]
        ]
    )
    await callback.message.answer(profile_text(view, principal.locale), reply_markup=keyboard)


@router.callback_query(VolunteerCb.filter(F.action == VolunteerAction.OK))
async def review_verify(
    callback: CallbackQuery,
    callback_data: VolunteerCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
) -> None:
    view = await volunteers.verify(
        uow, notifier, principal, volunteer_id=callback_data.id, approve=True
    )
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("Verified: {name}, volunteer number {number}.").format(
                name=html.escape(view.real_name), number=view.number
            )
        )


@router.callback_query(VolunteerCb.filter(F.action == VolunteerAction.NO))
async def review_refuse(
    callback: CallbackQuery, callback_data: VolunteerCb, state: FSMContext
) -> None:
    await state.set_state(VolunteerReview.reason)
    await state.update_data(volunteer_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(_("Why is it refused? The person will see this. Or /cancel."))


@router.message(VolunteerReview.reason, F.text)
async def review_reason(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    **_data: Any,
) -> None:
    volunteer_id = (await state.get_data())["volunteer_id"]
    view = await save_then_clear(
        state,
        volunteers.verify(
            uow,
            notifier,
            principal,
            volunteer_id=volunteer_id,
            approve=False,
            reason=message.text or "",
        ),
    )
    await message.answer(
        _("Refused; {name} has been told why.").format(name=html.escape(view.real_name))
    )
