"""/broadcast: compose a message for an audience, see the count and a preview, send now or at a
time; pause, resume or cancel from the progress message. /settings: opt out by topic.
The broadcast's button (sign up, answer) opens the project or the survey for its recipient."""

from __future__ import annotations

import contextlib
import html
from io import BytesIO
from typing import Any

from aiogram import Bot, F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, ChatMemberUpdated, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.domain.broadcasts import (
    MAX_CAPTION,
    MAX_PHOTO_BYTES,
    OPTIONAL_TOPICS,
    Audience,
    AudienceKind,
    ButtonKind,
    Topic,
    clean_text,
    parse_when,
)
from bot.domain.enums import Channel, Role
from bot.domain.errors import InvalidInput
from bot.domain.principal import Principal
from bot.services import UnitOfWork, broadcasts, projects, surveys
from bot.services.crypto import PersonalDataCipher
from handlers.broadcasts.callbacks import BroadcastAction, BroadcastCb, SettingsCb
from handlers.broadcasts.preview import preview_messages
from handlers.broadcasts.states import BroadcastForm
from handlers.broadcasts.texts import (
    AUDIENCE_NAMES,
    STATE_NAMES,
    TOPIC_NAMES,
    progress_keyboard,
    progress_text,
    report_text,
)
from handlers.common.keyboards import button, toggle_keyboard
from handlers.common.openers import CONSULTATION, PROJECT, SURVEY, opener
from handlers.common.routing import RouteTable
from handlers.common.steps import communities_by_code, id_number
from handlers.common.texts import local_time
from handlers.common.volunteer_texts import skill_options

router = RouteTable("broadcasts")

LANGUAGES = (("all", "中文 + English"), ("zh", "中文"), ("en", "English"))


def _choices(rows: list[tuple[str, str]], action: BroadcastAction) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(label, BroadcastCb(action=action, value=v))] for v, label in rows]
    )


@router.message(Command("broadcast"))
async def new_broadcast(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    allowed = await broadcasts.allowed_communities(uow, principal)
    if not allowed and not principal.has_role(Role.ORG_ADMIN):
        await message.answer(
            _(
                "Broadcasts are sent by community workers, street and district admins, and by "
                "organisation admins for their projects."
            )
        )
        return
    kinds = [AudienceKind.PROJECT_FIT]
    if allowed:
        kinds = [
            AudienceKind.VOLUNTEERS,
            AudienceKind.RESIDENTS,
            AudienceKind.EVERYONE,
            *kinds,
            AudienceKind.GROUPS,
        ]
    await state.set_state(BroadcastForm.audience)
    await state.update_data(allowed=allowed)
    await message.answer(
        _("Who should get it? /cancel stops."),
        reply_markup=_choices(
            [(k.value, str(AUDIENCE_NAMES[k])) for k in kinds], BroadcastAction.AUD
        ),
    )


@router.callback_query(BroadcastForm.audience, BroadcastCb.filter(F.action == BroadcastAction.AUD))
async def audience_chosen(
    callback: CallbackQuery, callback_data: BroadcastCb, state: FSMContext
) -> None:
    if callback_data.value not in AudienceKind._value2member_map_:
        raise InvalidInput("audience", callback_data.value)
    kind = AudienceKind(callback_data.value)
    await state.update_data(kind=kind.value, skills=[])
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if kind is AudienceKind.PROJECT_FIT:
        await state.set_state(BroadcastForm.project)
        await callback.message.answer(_("Which project? Send its number, e.g. P12."))
        return
    await _ask_communities(callback.message, state)


@router.message(BroadcastForm.project, F.text)
async def project_chosen(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    number = id_number((message.text or "").strip().upper().removeprefix("P"))
    if number is None:
        await message.answer(_("Please send the project number, e.g. P12."))
        return
    view = await projects.view(uow, principal, project_id=number)
    await state.update_data(project=view.id, communities=[], button=ButtonKind.SIGN_UP.value)
    await message.answer(_("Project: {title}").format(title=html.escape(view.title)))
    await _ask_language(message, state)


async def _ask_communities(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    allowed: list[int] = data["allowed"]
    await state.set_state(BroadcastForm.communities)
    if len(allowed) == 1:
        await state.update_data(communities=allowed)
        await _after_communities(message, state)
        return
    await message.answer(
        _(
            "To all {count} communities you cover, or send the codes of some, separated by spaces."
        ).format(count=len(allowed)),
        reply_markup=_choices(
            [("all", _("All {count}").format(count=len(allowed)))], BroadcastAction.ALL
        ),
    )


@router.callback_query(
    BroadcastForm.communities, BroadcastCb.filter(F.action == BroadcastAction.ALL)
)
async def all_communities(callback: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    await state.update_data(communities=data["allowed"])
    await callback.answer()
    if isinstance(callback.message, Message):
        await _after_communities(callback.message, state)


@router.message(BroadcastForm.communities, F.text)
async def communities_typed(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    chosen = await communities_by_code(message, uow, (await state.get_data())["allowed"])
    if chosen is None:
        return
    await state.update_data(communities=chosen)
    await _after_communities(message, state)


async def _after_communities(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    if data["kind"] == AudienceKind.VOLUNTEERS.value:
        await state.set_state(BroadcastForm.skills)
        await message.answer(
            _("Only volunteers with some of these skills? Choose none for all."),
            reply_markup=_skills_keyboard(set()),
        )
        return
    await _ask_language(message, state)


def _skills_keyboard(chosen: set[str]) -> InlineKeyboardMarkup:
    return toggle_keyboard(
        skill_options(),
        chosen,
        tap=lambda value: BroadcastCb(action=BroadcastAction.SKILL, value=value),
        done=BroadcastCb(action=BroadcastAction.SKILLS_DONE),
    )


@router.callback_query(BroadcastForm.skills, BroadcastCb.filter(F.action == BroadcastAction.SKILL))
async def skill_toggled(
    callback: CallbackQuery, callback_data: BroadcastCb, state: FSMContext
) -> None:
    chosen = set((await state.get_data()).get("skills", []))
    chosen ^= {callback_data.value}
    await state.update_data(skills=sorted(chosen & {v for v, _ in skill_options()}))
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=_skills_keyboard(chosen))


@router.callback_query(
    BroadcastForm.skills, BroadcastCb.filter(F.action == BroadcastAction.SKILLS_DONE)
)
async def skills_done(callback: CallbackQuery, state: FSMContext) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _ask_language(callback.message, state)


async def _ask_language(message: Message, state: FSMContext) -> None:
    await state.set_state(BroadcastForm.language)
    rows = [(v, label if v != "all" else _("Everyone")) for v, label in LANGUAGES]
    await message.answer(
        _("Readers of which language?"), reply_markup=_choices(rows, BroadcastAction.LANG)
    )


@router.callback_query(BroadcastForm.language, BroadcastCb.filter(F.action == BroadcastAction.LANG))
async def language_chosen(
    callback: CallbackQuery, callback_data: BroadcastCb, state: FSMContext
) -> None:
    locale = callback_data.value if callback_data.value in ("zh", "en") else None
    await state.update_data(locale=locale)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if locale == "en":
        await state.update_data(text_zh="")
        await state.set_state(BroadcastForm.text_en)
        await callback.message.answer(_("Write the message in English."))
        return
    await state.set_state(BroadcastForm.text_zh)
    await callback.message.answer(_("Write the message in Chinese."))


@router.message(BroadcastForm.text_zh, F.text)
async def text_zh(message: Message, state: FSMContext) -> None:
    text = await _read_text(message)
    if text is None:
        return
    await state.update_data(text_zh=text)
    if (await state.get_data()).get("locale") == "zh":
        await state.update_data(text_en="")
        await _ask_photo(message, state)
        return
    await state.set_state(BroadcastForm.text_en)
    await message.answer(
        _("The English version, for those who read English (or Skip: they get the Chinese)."),
        reply_markup=_choices([("skip", _("Skip"))], BroadcastAction.SKIP_EN),
    )


async def _read_text(message: Message) -> str | None:
    try:
        text = clean_text(message.text)
    except InvalidInput:
        await message.answer(_("That is too long: please keep it under 3,500 characters."))
        return None
    if not text:
        await message.answer(_("Please write the message."))
        return None
    return text


@router.message(BroadcastForm.text_en, F.text)
async def text_en(message: Message, state: FSMContext) -> None:
    text = await _read_text(message)
    if text is None:
        return
    await state.update_data(text_en=text)
    await _ask_photo(message, state)


@router.callback_query(
    BroadcastForm.text_en, BroadcastCb.filter(F.action == BroadcastAction.SKIP_EN)
)
async def skip_english(callback: CallbackQuery, state: FSMContext) -> None:
    await state.update_data(text_en="")
    await callback.answer()
    if isinstance(callback.message, Message):
        await _ask_photo(callback.message, state)


async def _ask_photo(message: Message, state: FSMContext) -> None:
    await state.set_state(BroadcastForm.photo)
    await message.answer(
        _("Send a photo to go with it, or Skip."),
        reply_markup=_choices([("skip", _("Skip"))], BroadcastAction.SKIP_PHOTO),
    )


@router.message(BroadcastForm.photo, F.photo)
async def photo(message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork) -> None:
    assert message.photo
    biggest = message.photo[-1]
    if (biggest.file_size or 0) > MAX_PHOTO_BYTES:
        await message.answer(_("This photo is too big (5 MB at most)."))
        return
    data = await state.get_data()
    if max(len(data.get("text_zh", "")), len(data.get("text_en", ""))) > MAX_CAPTION:
        await message.answer(
            _(
                "With a photo the message can have at most {limit} characters. Tap Skip to send "
                "it without the photo, or /cancel and write it shorter."
            ).format(limit=MAX_CAPTION)
        )
        return
    await state.update_data(photo=biggest.file_id)
    await _ask_button(message, state, principal, uow)


@router.message(BroadcastForm.photo)
async def not_a_photo(message: Message) -> None:
    await message.answer(_("Please send a photo, or tap Skip."))


@router.callback_query(
    BroadcastForm.photo, BroadcastCb.filter(F.action == BroadcastAction.SKIP_PHOTO)
)
async def skip_photo(
    callback: CallbackQuery, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.update_data(photo=None)
    await callback.answer()
    if isinstance(callback.message, Message):
        await _ask_button(callback.message, state, principal, uow)


async def _ask_button(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    data = await state.get_data()
    if data.get("project"):
        await _preview(message, state, principal, uow)
        return
    await state.set_state(BroadcastForm.button)
    rows = [("none", _("No button")), ("survey", _("“Answer” a survey of mine"))]
    await message.answer(_("Add a button?"), reply_markup=_choices(rows, BroadcastAction.BTN))


@router.callback_query(BroadcastForm.button, BroadcastCb.filter(F.action == BroadcastAction.BTN))
async def button_chosen(
    callback: CallbackQuery,
    callback_data: BroadcastCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if callback_data.value == "survey":
        mine = await surveys.my_surveys(uow, principal)
        if not mine:
            await callback.message.answer(_("You have no open survey. Open one with /newsurvey."))
            return
        rows = [(str(s.id), s.title[:50]) for s in mine]
        await callback.message.answer(
            _("Which survey?"), reply_markup=_choices(rows, BroadcastAction.SURVEY)
        )
        return
    await state.update_data(button=ButtonKind.NONE.value, survey=None)
    await _preview(callback.message, state, principal, uow)


@router.callback_query(BroadcastForm.button, BroadcastCb.filter(F.action == BroadcastAction.SURVEY))
async def survey_chosen(
    callback: CallbackQuery,
    callback_data: BroadcastCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
) -> None:
    survey = id_number(callback_data.value)
    if survey is None:
        raise InvalidInput("survey", callback_data.value)
    await state.update_data(button=ButtonKind.ANSWER.value, survey=survey)
    await callback.answer()
    if isinstance(callback.message, Message):
        await _preview(callback.message, state, principal, uow)


def _draft(data: dict[str, Any], photo: bytes | None = None) -> broadcasts.Draft:
    """The draft as the service checks it; before the photo is downloaded, an empty stand-in
    keeps the caption-length rule in force for the preview."""
    if photo is None and data.get("photo"):
        photo = b""
    audience = Audience(
        kind=AudienceKind(data["kind"]),
        community_ids=tuple(data.get("communities") or ()),
        skills=tuple(data.get("skills") or ()),
        locale=data.get("locale"),
        project_id=data.get("project"),
    )
    return broadcasts.Draft(
        audience=audience,
        text_zh=data.get("text_zh", ""),
        text_en=data.get("text_en", ""),
        photo=photo,
        button=ButtonKind(data.get("button", "none")),
        project_id=data.get("project"),
        survey_id=data.get("survey"),
    )


async def _preview(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    """The count and the message as its readers will see it; then send, schedule or stop."""
    data = await state.get_data()
    count = await broadcasts.count(uow, principal, _draft(data))
    await state.set_state(BroadcastForm.confirm)
    await message.answer(_("Preview:"))
    for preview in preview_messages(data):
        await message.answer(preview)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("Send now"), BroadcastCb(action=BroadcastAction.SEND))],
            [button(_("Send at a time…"), BroadcastCb(action=BroadcastAction.LATER))],
            [button(_("Cancel"), BroadcastCb(action=BroadcastAction.DROP))],
        ]
    )
    if data["kind"] == AudienceKind.GROUPS.value:
        reach = _("It will be posted in {count} group chats.").format(count=count)
    else:
        reach = _("It will reach {count} people.").format(count=count)
    await message.answer(reach, reply_markup=keyboard)


@router.callback_query(BroadcastForm.confirm, BroadcastCb.filter(F.action == BroadcastAction.DROP))
async def drop(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(_("Cancelled. Nothing was sent."))


@router.callback_query(BroadcastForm.confirm, BroadcastCb.filter(F.action == BroadcastAction.LATER))
async def later(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(BroadcastForm.when)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("When? Write the local date and time, e.g. 2026-12-01 09:30.")
        )


@router.message(BroadcastForm.when, F.text)
async def when_typed(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    bot: Bot,
    channel: Channel,
) -> None:
    try:
        moment = parse_when(message.text or "", settings.tz)
    except InvalidInput:
        await message.answer(_("Please write the date and time like 2026-12-01 09:30."))
        return
    await _create(message, state, principal, uow, bot, channel, settings, moment)


@router.callback_query(BroadcastForm.confirm, BroadcastCb.filter(F.action == BroadcastAction.SEND))
async def send_now(
    callback: CallbackQuery,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    bot: Bot,
    channel: Channel,
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _create(callback.message, state, principal, uow, bot, channel, settings, None)


async def _create(
    message: Message,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    bot: Bot,
    channel: Channel,
    settings: Settings,
    moment: Any,
) -> None:
    data = await state.get_data()
    photo = await _download(bot, data.get("photo"))
    draft = _draft(data, photo)
    if moment is not None:
        draft = broadcasts.Draft(**{**_fields(draft), "scheduled_at": moment})
    view = await broadcasts.create(
        uow, principal, draft, progress_to=(channel, str(message.chat.id))
    )
    await state.clear()
    if view.scheduled_at is not None and view.started_at is None:
        await message.answer(
            _("Broadcast #{id} is scheduled for {when}. /broadcasts shows it.").format(
                id=view.id, when=local_time(view.scheduled_at, settings.tz)
            )
        )
        return
    if data["kind"] == AudienceKind.GROUPS.value:
        going = _("Broadcast #{id} is on its way to {count} group chats; its progress follows.")
    else:
        going = _("Broadcast #{id} is on its way to {count} people; its progress follows.")
    await message.answer(going.format(id=view.id, count=view.progress.total))


def _fields(draft: broadcasts.Draft) -> dict[str, Any]:
    return {name: getattr(draft, name) for name in draft.__dataclass_fields__}


async def _download(bot: Bot, file_id: str | None) -> bytes | None:
    if not file_id:
        return None
    buffer = BytesIO()
    await bot.download(file_id, destination=buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- the author's controls


@router.callback_query(
    BroadcastCb.filter(
        F.action.in_({BroadcastAction.PAUSE, BroadcastAction.RESUME, BroadcastAction.CANCEL})
    )
)
async def control(
    callback: CallbackQuery,
    callback_data: BroadcastCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    channel: Channel,
) -> None:
    view = await broadcasts.control(
        uow, principal, broadcast_id=callback_data.id, action=callback_data.action.value
    )
    await callback.answer(
        _("Broadcast #{id}: {state}").format(id=view.id, state=STATE_NAMES[view.state])
    )
    if isinstance(callback.message, Message):  # the buttons follow the new state at once
        with contextlib.suppress(TelegramBadRequest):
            await callback.message.edit_text(
                progress_text(view, settings.outbox_rate(channel)),
                reply_markup=progress_keyboard(view),
            )


@router.message(Command("broadcasts"))
async def my_broadcasts(message: Message, principal: Principal, uow: UnitOfWork) -> None:
    views = await broadcasts.mine(uow, principal)
    if not views:
        await message.answer(_("You have not sent any broadcast yet. /broadcast starts one."))
        return
    for view in views:
        p = view.progress
        keyboard = progress_keyboard(view) or InlineKeyboardMarkup(inline_keyboard=[])
        keyboard.inline_keyboard.append(
            [button(_("Report"), BroadcastCb(action=BroadcastAction.REPORT, id=view.id))]
        )
        await message.answer(
            _("Broadcast #{id}: {state}").format(id=view.id, state=STATE_NAMES[view.state])
            + "\n"
            + _("Sent {sent} · failed {failed} · left {left} · of {total}").format(
                sent=p.sent, failed=p.failed, left=p.left, total=p.total
            ),
            reply_markup=keyboard,
        )


@router.callback_query(BroadcastCb.filter(F.action == BroadcastAction.REPORT))
async def show_report(
    callback: CallbackQuery, callback_data: BroadcastCb, principal: Principal, uow: UnitOfWork
) -> None:
    """The report as of now (sign-ups keep coming after the last message went out)."""
    report = await broadcasts.report(uow, principal, broadcast_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(report_text(report))


# ---------------------------------------------------------------- recipients


@router.callback_query(BroadcastCb.filter(F.action == BroadcastAction.OPEN))
async def open_button(
    callback: CallbackQuery,
    callback_data: BroadcastCb,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    cipher: PersonalDataCipher,
) -> None:
    content = await broadcasts.opened(uow, principal, broadcast_id=callback_data.id)
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    kinds = (
        (PROJECT, content.project_id),
        (SURVEY, content.survey_id),
        (CONSULTATION, content.consultation_id),
    )
    for kind, item_id in kinds:
        if item_id is not None:
            await opener(kind)(
                callback.message,
                item_id=item_id,
                state=state,
                principal=principal,
                uow=uow,
                settings=settings,
                cipher=cipher,
            )
            return


@router.message(Command("settings"))
async def settings_menu(message: Message, principal: Principal, uow: UnitOfWork) -> None:
    out = await broadcasts.opt_outs(uow, principal)
    await message.answer(_settings_text(), reply_markup=_settings_keyboard(out))


def _settings_text() -> str:
    return _(
        "Which broadcasts do you want? Tap to switch a topic off or on. Emergency messages "
        "always reach you."
    )


def _settings_keyboard(out: set[Topic]) -> InlineKeyboardMarkup:
    rows = []
    for topic in OPTIONAL_TOPICS:
        mark = "🔕 " if topic in out else "🔔 "
        rows.append(
            [
                button(
                    mark + str(TOPIC_NAMES[topic]),
                    SettingsCb(topic=topic.value, out=topic not in out),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


@router.callback_query(SettingsCb.filter())
async def settings_toggled(
    callback: CallbackQuery, callback_data: SettingsCb, principal: Principal, uow: UnitOfWork
) -> None:
    topic = Topic(callback_data.topic) if callback_data.topic in Topic._value2member_map_ else None
    if topic is None:
        raise InvalidInput("topic", callback_data.topic)
    out = await broadcasts.set_opt_out(uow, principal, topic=topic, out=callback_data.out)
    await callback.answer(
        (_("Off: {topic}") if topic in out else _("On: {topic}")).format(topic=TOPIC_NAMES[topic])
    )
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=_settings_keyboard(out))


@router.my_chat_member()
async def membership_changed(update: ChatMemberUpdated, uow: UnitOfWork, channel: Channel) -> None:
    """The person blocked the bot (or unblocked it): broadcasts skip them until they return."""
    blocked = update.new_chat_member.status in ("kicked", "left")
    await broadcasts.account_blocked(
        uow, channel=channel, chat_id=str(update.chat.id), blocked=blocked
    )
