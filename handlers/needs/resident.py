"""Residents: /need (file a need), /mine (their needs), and "is it solved?" feedback."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.domain.contacts import clean_address, normalise_contact_phone
from bot.domain.enums import Channel
from bot.domain.errors import InvalidInput
from bot.domain.needs import Beneficiary, NeedCategory, Urgency, guess_category
from bot.domain.principal import Principal
from bot.services import UnitOfWork, matching, needs, people
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import Notifier
from handlers.common import drafts
from handlers.common.callbacks import ConfirmCb, NeedAction, NeedCb, NeedNewCb
from handlers.common.capabilities import PhotoLibrary, photo_reference
from handlers.common.confirm import ConfirmStep
from handlers.common.deeplinks import deep_link
from handlers.common.emergency_alert import emergency_alert
from handlers.common.keyboards import Keyboard, button
from handlers.common.routing import RouteTable
from handlers.common.steps import save_then_clear
from handlers.common.texts import CATEGORY_NAMES, local_time
from handlers.needs.callbacks import ListCb
from handlers.needs.states import NeedForm, NeedText
from handlers.needs.texts import BENEFICIARY_NAMES, URGENCY_NAMES, detail_text, resident_summary
from handlers.needs.worker import action_keyboard

router = RouteTable("needs_resident")
CONFIRM = ConfirmStep("need", NeedForm.confirm)


def _choices(step: str, names: dict[Any, Any], columns: int = 2) -> InlineKeyboardMarkup:
    builder = Keyboard()
    for value, name in names.items():
        builder.button(text=str(name), callback_data=NeedNewCb(step=step, value=value.value))
    builder.adjust(columns)
    return builder.as_markup()


@router.message(Command("need"))
async def need_start(message: Message, state: FSMContext, principal: Principal) -> None:
    await state.clear()
    await _begin(message, state, principal)


async def _begin(
    message: Message, state: FSMContext, principal: Principal, *, description: str | None = None
) -> None:
    if principal.home is None:
        await message.answer(_("Please choose your community first: send /start."))
        return
    await state.set_state(NeedForm.category)
    if description:
        await _take_description(message, state, description)
        return
    await message.answer(
        _(
            "What is your request about? Tap a kind, or just write what you need. "
            "(Send /cancel at any time to stop.)"
        ),
        reply_markup=_choices("cat", CATEGORY_NAMES),
    )


@deep_link("need")
async def need_from_link(message: Message, rest: str, data: dict[str, Any]) -> None:
    """`/start need` (the web page's first screen, or /need typed before onboarding): file a
    request; what was typed before onboarding becomes its description."""
    state: FSMContext = data["state"]
    cipher: PersonalDataCipher = data["cipher"]
    draft = await drafts.take(state, cipher, drafts.FIRST_MESSAGE)
    await state.clear()
    principal: Principal = data["principal"]
    await _begin(message, state, principal, description=str(draft["text"]) if draft else None)
    if draft and draft.get("urgent"):
        await state.update_data(urgency=Urgency.URGENT.value)


@router.message(NeedForm.category, F.text)
async def need_category_typed(message: Message, state: FSMContext) -> None:
    """A description typed where the kind was asked: keep it, guess the kind, let them check."""
    await _take_description(message, state, (message.text or "").strip())


async def _take_description(message: Message, state: FSMContext, text: str) -> None:
    if not await _description_fits(message, text):
        return
    guess = guess_category(text) or NeedCategory.OTHER
    await state.update_data(description=text, category=guess.value)
    builder = Keyboard()
    builder.row(
        button(
            _("✅ Yes: {category}").format(category=CATEGORY_NAMES[guess]),
            NeedNewCb(step="cat", value=guess.value),
        )
    )
    others = Keyboard()
    for value, name in CATEGORY_NAMES.items():
        if value is not guess:
            others.button(text=str(name), callback_data=NeedNewCb(step="cat", value=value.value))
    others.adjust(2)
    builder.attach(others)
    await message.answer(
        _(
            "I noted your request:\n<i>{description}</i>\n\n"
            "Kind of request: <b>{category}</b>. Is that right? "
            "Tap “Yes”, or tap another kind to change it."
        ).format(description=html.escape(text[:500]), category=CATEGORY_NAMES[guess]),
        reply_markup=builder.as_markup(),
    )


async def _description_fits(message: Message, text: str) -> bool:
    if not text:
        await message.answer(
            _("Please describe the request in a few words (a photo may come with a caption).")
        )
        return False
    if len(text) > needs.MAX_DESCRIPTION:
        await message.answer(
            _("That is too long ({length} characters). Please keep it under {limit}.").format(
                length=len(text), limit=needs.MAX_DESCRIPTION
            )
        )
        return False
    return True


@router.callback_query(NeedForm.category, NeedNewCb.filter(F.step == "cat"))
async def need_category(
    callback: CallbackQuery, callback_data: NeedNewCb, state: FSMContext
) -> None:
    category = NeedCategory(callback_data.value)
    await state.update_data(category=category.value)
    described = bool((await state.get_data()).get("description"))
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if described:
        await callback.message.edit_text(
            _("Kind of request: {category}.").format(category=CATEGORY_NAMES[category])
        )
        await _ask_extras(callback.message, state)
        return
    await state.set_state(NeedForm.description)
    await callback.message.edit_text(
        _("{category}. Please describe what you need, in your own words.").format(
            category=CATEGORY_NAMES[category]
        )
    )


@router.message(NeedForm.description, F.text | F.photo)
async def need_description(message: Message, state: FSMContext, channel: Channel) -> None:
    text = (message.text or message.caption or "").strip()
    if not await _description_fits(message, text):
        return
    data: dict[str, Any] = {"description": text}
    if message.photo:
        data["photo"] = photo_reference(channel, message)
    await state.update_data(**data)
    await _ask_extras(message, state)


async def _ask_extras(message: Message, state: FSMContext) -> None:
    await state.set_state(NeedForm.extras)
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📍 Share my location"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await message.answer(
        _("You may add a photo or your location now (optional)."), reply_markup=keyboard
    )
    skip = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Skip"), callback_data=NeedNewCb(step="extras", value="skip").pack()
                )
            ]
        ]
    )
    await message.answer(_("Or tap Skip."), reply_markup=skip)


@router.message(NeedForm.extras, F.location)
async def need_location(message: Message, state: FSMContext) -> None:
    assert message.location is not None
    await state.update_data(
        latitude=message.location.latitude, longitude=message.location.longitude
    )
    await message.answer(_("Location added."), reply_markup=ReplyKeyboardRemove())
    await _ask_urgency(message, state)


@router.message(NeedForm.extras, F.photo)
async def need_photo(message: Message, state: FSMContext, channel: Channel) -> None:
    assert message.photo
    await state.update_data(photo=photo_reference(channel, message))
    await message.answer(_("Photo added."), reply_markup=ReplyKeyboardRemove())
    await _ask_urgency(message, state)


@router.callback_query(NeedForm.extras, NeedNewCb.filter(F.step == "extras"))
async def need_skip_extras(callback: CallbackQuery, state: FSMContext) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        # A new message, because only a new one can take the location button away again.
        await callback.message.answer(
            _("No photo or location."), reply_markup=ReplyKeyboardRemove()
        )
        await _ask_urgency(callback.message, state)


@router.message(NeedForm.extras)
async def need_extras_other(message: Message) -> None:
    await message.answer(_("Send a photo or your location, or tap Skip."))


async def _ask_urgency(message: Message, state: FSMContext) -> None:
    if (await state.get_data()).get("urgency"):
        # Marked urgent already (from an emergency alert): no need to ask.
        await _ask_beneficiary(message, state)
        return
    await state.set_state(NeedForm.urgency)
    await message.answer(_("How urgent is it?"), reply_markup=_choices("urg", URGENCY_NAMES, 3))


async def _ask_beneficiary(message: Message, state: FSMContext) -> None:
    await state.set_state(NeedForm.beneficiary)
    await message.answer(_("Who is it for?"), reply_markup=_choices("who", BENEFICIARY_NAMES, 3))


# ---------------------------------------------------------------- from an emergency alert


@router.callback_query(NeedNewCb.filter(F.step == "sos"))
async def need_from_emergency(
    callback: CallbackQuery,
    callback_data: NeedNewCb,
    state: FSMContext,
    principal: Principal,
    cipher: PersonalDataCipher,
) -> None:
    """ "File it as an urgent request" (the text typed is its description), or, inside /need,
    "mark my request as urgent"."""
    await callback.answer()
    message = callback.message
    if not isinstance(message, Message):
        return
    await message.edit_reply_markup(reply_markup=None)
    current = await state.get_state()
    if callback_data.value == "mark" and current in NeedForm.__all_states_names__:
        await _mark_urgent(message, state, current)
        return
    draft = (
        await drafts.take(state, cipher, drafts.EMERGENCY)
        if callback_data.value == "file"
        else None
    )
    if draft is None or principal.home is None:
        await message.answer(_("This button is no longer valid. Send /start to begin again."))
        return
    text = str(draft["text"])
    category = guess_category(text) or NeedCategory.OTHER
    await state.clear()
    await state.update_data(description=text, category=category.value, urgency=Urgency.URGENT.value)
    await message.answer(
        _("An urgent request ({category}): <i>{description}</i>").format(
            category=CATEGORY_NAMES[category], description=html.escape(text[:500])
        )
    )
    await _ask_beneficiary(message, state)


async def _mark_urgent(message: Message, state: FSMContext, current: str | None) -> None:
    """Inside /need: the request becomes urgent; at the urgency step the form moves on."""
    await state.update_data(urgency=Urgency.URGENT.value)
    if current == NeedForm.urgency.state:
        await _ask_beneficiary(message, state)
    elif current == NeedForm.confirm.state:
        await _ask_confirm(message, state, edit=False)
    else:
        await message.answer(_("Your request is marked urgent."))


@router.callback_query(NeedNewCb.filter(F.step == "draft"))
async def need_from_first_message(
    callback: CallbackQuery,
    callback_data: NeedNewCb,
    state: FSMContext,
    principal: Principal,
    cipher: PersonalDataCipher,
) -> None:
    """After onboarding: file what the person typed first as a request (or not)."""
    await callback.answer()
    message = callback.message
    if not isinstance(message, Message):
        return
    await message.edit_reply_markup(reply_markup=None)
    draft = await drafts.take(state, cipher, drafts.FIRST_MESSAGE)
    if callback_data.value != "file":
        await message.answer(_("All right. Send /need whenever you want to ask for help."))
        return
    if draft is None:
        await message.answer(_("This button is no longer valid. Send /start to begin again."))
        return
    await state.clear()
    await _begin(message, state, principal, description=str(draft["text"]))
    if draft.get("urgent"):
        await state.update_data(urgency=Urgency.URGENT.value)


@router.callback_query(NeedForm.urgency, NeedNewCb.filter(F.step == "urg"))
async def need_urgency(
    callback: CallbackQuery, callback_data: NeedNewCb, state: FSMContext
) -> None:
    urgency = Urgency(callback_data.value)
    await state.update_data(urgency=urgency.value)
    await state.set_state(NeedForm.beneficiary)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("Who is it for?"), reply_markup=_choices("who", BENEFICIARY_NAMES, 3)
        )


@router.callback_query(NeedForm.beneficiary, NeedNewCb.filter(F.step == "who"))
async def need_beneficiary(
    callback: CallbackQuery,
    callback_data: NeedNewCb,
    state: FSMContext,
) -> None:
    await state.update_data(beneficiary=Beneficiary(callback_data.value).value)
    await callback.answer()
    if isinstance(callback.message, Message):
        await _ask_visit(callback.message, state, edit=True)


# ---------------------------------------------------------------- visit, phone, address


def _visit_keyboard() -> InlineKeyboardMarkup:
    builder = Keyboard()
    builder.button(
        text=_("🏠 Yes, please come"), callback_data=NeedNewCb(step="visit", value="yes")
    )
    builder.button(text=_("No visit needed"), callback_data=NeedNewCb(step="visit", value="no"))
    builder.adjust(1)
    return builder.as_markup()


async def _ask_visit(message: Message, state: FSMContext, *, edit: bool) -> None:
    await state.set_state(NeedForm.visit)
    text = _(
        "Do you want someone to come to you?\n"
        "If so, I will ask for a phone number and your address, so that they can find you."
    )
    if edit:
        await message.edit_text(text, reply_markup=_visit_keyboard())
    else:
        await message.answer(text, reply_markup=_visit_keyboard())


@router.callback_query(NeedForm.visit, NeedNewCb.filter(F.step == "visit"))
async def need_visit(
    callback: CallbackQuery,
    callback_data: NeedNewCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if callback_data.value != "yes":
        await state.update_data(wants_visit=False, contact_phone=None, address=None)
        await callback.message.edit_text(_("No visit: the community will contact you in chat."))
        await _similar_or_confirm(callback.message, state, principal, uow)
        return
    # The last phone and address given (or the volunteer's registered phone), offered again.
    defaults = await people.contact_defaults(uow, principal)
    await state.update_data(
        wants_visit=True, saved_phone=defaults.phone, saved_address=defaults.address
    )
    await callback.message.edit_text(_("Someone will come to you."))
    await _ask_phone(callback.message, state)


@router.message(NeedForm.visit)
async def need_visit_other(message: Message) -> None:
    await message.answer(
        _("Please tap one of the buttons: should someone come to you?"),
        reply_markup=_visit_keyboard(),
    )


def _saved_keyboard(step: str, saved: str | None, label: str) -> InlineKeyboardMarkup:
    builder = Keyboard()
    if saved:
        builder.button(text=label, callback_data=NeedNewCb(step=step, value="saved"))
    builder.button(text=_("Skip"), callback_data=NeedNewCb(step=step, value="skip"))
    builder.adjust(1)
    return builder.as_markup()


async def _ask_phone(message: Message, state: FSMContext) -> None:
    await state.set_state(NeedForm.phone)
    saved = (await state.get_data()).get("saved_phone")
    text = _("Which phone number should they call? Type it (mobile or landline).")
    label = _("Use {phone}").format(phone=saved) if saved else ""
    await message.answer(text, reply_markup=_saved_keyboard("phone", saved, label))


@router.callback_query(NeedForm.phone, NeedNewCb.filter(F.step == "phone"))
async def need_phone_choice(
    callback: CallbackQuery, callback_data: NeedNewCb, state: FSMContext
) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    data = await state.get_data()
    phone = data.get("saved_phone") if callback_data.value == "saved" else None
    await state.update_data(contact_phone=phone)
    await callback.message.edit_reply_markup(reply_markup=None)
    await _ask_address(callback.message, state)


@router.message(NeedForm.phone, F.text)
async def need_phone_typed(message: Message, state: FSMContext) -> None:
    try:
        phone = normalise_contact_phone(message.text or "")
    except InvalidInput:
        await message.answer(
            _(
                "That does not look like a phone number. Please type a mobile number "
                "(11 digits, e.g. 138 0013 8000) or a landline with its area code "
                "(e.g. 023-6812 3456), or tap Skip."
            ),
            reply_markup=_saved_keyboard("phone", None, ""),
        )
        return
    await state.update_data(contact_phone=phone)
    await _ask_address(message, state)


@router.message(NeedForm.phone)
async def need_phone_other(message: Message, state: FSMContext) -> None:
    await _ask_phone(message, state)


async def _ask_address(message: Message, state: FSMContext) -> None:
    await state.set_state(NeedForm.address)
    saved = (await state.get_data()).get("saved_address")
    text = _("Your address or house number (门牌), e.g. “5栋2单元301”?")
    label = _("Use “{address}”").format(address=saved[:40]) if saved else ""
    await message.answer(text, reply_markup=_saved_keyboard("addr", saved, label))


@router.callback_query(NeedForm.address, NeedNewCb.filter(F.step == "addr"))
async def need_address_choice(
    callback: CallbackQuery,
    callback_data: NeedNewCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    data = await state.get_data()
    address = data.get("saved_address") if callback_data.value == "saved" else None
    await state.update_data(address=address)
    await callback.message.edit_reply_markup(reply_markup=None)
    await _similar_or_confirm(callback.message, state, principal, uow)


@router.message(NeedForm.address, F.text)
async def need_address_typed(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    try:
        address = clean_address(message.text or "")
    except InvalidInput:
        await message.answer(
            _("Please keep the address under 200 characters, or tap Skip."),
            reply_markup=_saved_keyboard("addr", None, ""),
        )
        return
    await state.update_data(address=address)
    await _similar_or_confirm(message, state, principal, uow)


@router.message(NeedForm.address)
async def need_address_other(message: Message, state: FSMContext) -> None:
    await _ask_address(message, state)


# ---------------------------------------------------------------- "me too"


async def _similar_or_confirm(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    """Offer to support an open request that looks the same; else check and confirm."""
    data = await state.get_data()
    similar = await needs.similar_open_needs(
        uow,
        principal,
        category=NeedCategory(data["category"]),
        description=data["description"],
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        address=data.get("address"),
    )
    if not similar:
        await _ask_confirm(message, state, edit=False)
        return
    await state.set_state(NeedForm.similar)
    # Only what was offered can be supported from here (callback data can be forged).
    await state.update_data(offered=[need.id for need in similar])
    builder = Keyboard()
    lines = [_("Someone in your community asked this already. Add yourself to it instead?")]
    for need in similar:
        lines.append(f"• <b>{need.reference}</b>: {html.escape(need.description[:80])}")
        builder.row(
            InlineKeyboardButton(
                text=_("Me too: {reference}").format(reference=need.reference),
                callback_data=NeedNewCb(step="me_too", value=str(need.id)).pack(),
            )
        )
    builder.row(
        InlineKeyboardButton(
            text=_("No, mine is different"),
            callback_data=NeedNewCb(step="me_too", value="new").pack(),
        )
    )
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


@router.callback_query(NeedForm.similar, NeedNewCb.filter(F.step == "me_too"))
async def need_me_too(
    callback: CallbackQuery,
    callback_data: NeedNewCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if callback_data.value == "new":
        await _ask_confirm(callback.message, state, edit=True)
        return
    offered = (await state.get_data()).get("offered", [])
    if not callback_data.value.isdigit() or int(callback_data.value) not in offered:
        await callback.message.answer(
            _("This button is no longer valid. Send /start to begin again.")
        )
        return
    need = await needs.support_need(uow, principal, need_id=int(callback_data.value))
    await state.clear()
    await callback.message.edit_text(
        _(
            "Added: you support {reference} ({count} people so far). You will hear when it moves."
        ).format(reference=need.reference, count=need.supporters + 1)
    )


async def _ask_confirm(message: Message, state: FSMContext, *, edit: bool) -> None:
    data = await state.get_data()
    lines = [
        _("<b>Please check your request</b>"),
        _("Category: {category}").format(category=CATEGORY_NAMES[NeedCategory(data["category"])]),
        _("Urgency: {urgency}").format(urgency=URGENCY_NAMES[Urgency(data["urgency"])]),
        _("For: {whom}").format(whom=BENEFICIARY_NAMES[Beneficiary(data["beneficiary"])]),
        "",
        html.escape(data["description"]),
    ]
    if data.get("photo"):
        lines.append(_("A photo is attached."))
    if data.get("latitude") is not None:
        lines.append(_("Your location is attached."))
    if data.get("wants_visit"):
        lines.append(_("Someone should come: yes"))
        lines.append(_("Contact phone: {phone}").format(phone=data.get("contact_phone") or "—"))
        lines.append(
            _("Address: {address}").format(address=html.escape(data.get("address") or "—"))
        )
    await CONFIRM.ask(message, state, "\n".join(lines), edit=edit)


@router.callback_query(*CONFIRM.filters)
async def need_confirmed(
    callback: CallbackQuery,
    callback_data: ConfirmCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    settings: Settings,
) -> None:
    data = await state.get_data()
    if not await CONFIRM.confirmed(callback, callback_data, state):
        return
    if not isinstance(callback.message, Message):
        return
    filed = await save_then_clear(state, _file(uow, notifier, principal, data, settings))
    await callback.message.edit_text(
        _(
            "Thank you. Your request is filed as <b>{reference}</b>.\n"
            "A community worker will answer by {due}. Follow it with /mine."
        ).format(reference=filed.need.reference, due=local_time(filed.need.due_at, settings.tz))
    )
    alert = await emergency_alert(uow, principal, data["description"]) if filed.emergency else None
    if alert:
        await callback.message.answer(alert)
    elif settings.auto_offer:
        # A low-risk need is offered to the best-matched volunteers at once.
        await matching.auto_offer(
            uow,
            notifier,
            need_id=filed.need.id,
            categories=settings.auto_offer,
            weights=settings.weights,
            tz=settings.tz,
            cache_seconds=settings.match_cache_seconds,
        )


async def _file(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    data: dict[str, Any],
    settings: Settings,
) -> needs.Filed:
    """File the need the form collected (`data`: the FSM data of NeedForm)."""
    return await needs.file_need(
        uow,
        notifier,
        principal,
        category=NeedCategory(data["category"]),
        description=data["description"],
        urgency=Urgency(data["urgency"]),
        beneficiary=Beneficiary(data["beneficiary"]),
        photo=data.get("photo"),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        wants_visit=bool(data.get("wants_visit")),
        contact_phone=data.get("contact_phone"),
        address=data.get("address"),
        tz=settings.tz,
    )


# ---------------------------------------------------------------- /mine


@router.message(Command("mine"))
async def mine(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork, settings: Settings
) -> None:
    await state.clear()
    text, keyboard = await _mine_screen(uow, principal, settings, page=0)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(ListCb.filter(F.which == "mine"))
async def mine_page(
    callback: CallbackQuery,
    callback_data: ListCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    text, keyboard = await _mine_screen(uow, principal, settings, page=callback_data.page)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text, reply_markup=keyboard)


async def _mine_screen(
    uow: UnitOfWork, principal: Principal, settings: Settings, *, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    listing = await needs.my_needs(uow, principal, page=page)
    if not listing.items:
        return _("You have no requests yet. Send /need to file one."), None
    # The count of requests, not of pages; the page only when there is more than one.
    header = _("<b>Your requests</b> ({total} in all)").format(total=listing.total)
    if listing.pages > 1:
        header += " · " + _("page {page} of {pages}").format(
            page=listing.page + 1, pages=listing.pages
        )
    blocks = [header]
    builder = Keyboard()
    for need in listing.items:
        blocks.append(resident_summary(need, settings.tz))
        builder.row(
            InlineKeyboardButton(
                text=need.reference, callback_data=NeedCb(action=NeedAction.OPEN, id=need.id).pack()
            )
        )
    nav = []
    if listing.has_prev:
        nav.append(
            InlineKeyboardButton(text="‹", callback_data=ListCb(which="mine", page=page - 1).pack())
        )
    if listing.has_next:
        nav.append(
            InlineKeyboardButton(text="›", callback_data=ListCb(which="mine", page=page + 1).pack())
        )
    if nav:
        builder.row(*nav)
    return "\n\n".join(blocks), builder.as_markup()


# ---------------------------------------------------------------- feedback


@router.callback_query(NeedCb.filter(F.action == NeedAction.SOLVED))
async def feedback_solved(callback: CallbackQuery, callback_data: NeedCb) -> None:
    builder = Keyboard()
    for stars in range(1, 6):
        builder.button(
            text="★" * stars,
            callback_data=NeedCb(action=NeedAction.RATE, id=callback_data.id, arg=str(stars)),
        )
    builder.adjust(5)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("Glad to hear it. How satisfied are you with the help? (1–5)"),
            reply_markup=builder.as_markup(),
        )


@router.callback_query(NeedCb.filter(F.action == NeedAction.RATE))
async def feedback_rate(
    callback: CallbackQuery,
    callback_data: NeedCb,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
) -> None:
    rating = int(callback_data.arg) if callback_data.arg.isdigit() else None
    need = await needs.give_feedback(
        uow, notifier, principal, need_id=callback_data.id, solved=True, rating=rating
    )
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("Thank you! {reference} is closed as solved.").format(reference=need.reference)
        )


@router.callback_query(NeedCb.filter(F.action == NeedAction.UNSOLVED))
async def feedback_unsolved(
    callback: CallbackQuery, callback_data: NeedCb, state: FSMContext
) -> None:
    await state.set_state(NeedText.not_solved)
    await state.update_data(need_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(_("Sorry to hear that. What is still wrong? (one message)"))


@router.message(NeedText.not_solved, F.text)
async def feedback_unsolved_text(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
    settings: Settings,
) -> None:
    need_id = (await state.get_data())["need_id"]
    need = await save_then_clear(
        state,
        needs.give_feedback(
            uow,
            notifier,
            principal,
            need_id=need_id,
            solved=False,
            comment=message.text,
            reopen_window=timedelta(days=settings.reopen_days),
        ),
    )
    await message.answer(
        _("{reference} is reopened and the handler has been told.").format(reference=need.reference)
    )


# ---------------------------------------------------------------- opening one need


@router.callback_query(NeedCb.filter(F.action == NeedAction.OPEN))
async def open_need(
    callback: CallbackQuery,
    callback_data: NeedCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    channel: Channel,
    photos: PhotoLibrary,
) -> None:
    detail = await needs.need_detail(uow, principal, need_id=callback_data.id)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    # Shown on every channel: a photo from another channel is fetched through its bot.
    await photos.show(callback.message, detail.photo, channel)
    await callback.message.answer(
        detail_text(detail, settings.tz, principal.locale), reply_markup=action_keyboard(detail)
    )
