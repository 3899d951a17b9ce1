"""Broadcasts: compose for an audience in scope, queue one outbox row per recipient, and let
the sender (bot/channels/telegram/sender.py) work through the outbox. Also opt-outs by topic and the
author's progress and report. See docs/broadcasts.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot.domain.broadcasts import (
    COMPOSABLE,
    MAX_CAPTION,
    MAX_TEXT,
    OPTIONAL_TOPICS,
    TOPIC_OF_BUTTON,
    Audience,
    AudienceKind,
    BroadcastState,
    ButtonKind,
    DeliveryState,
    Progress,
    Topic,
    clean_text,
)
from bot.domain.enums import Channel, Role
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.matching import category_mask, skill_mask
from bot.domain.needs import NeedCategory
from bot.domain.policy import BROADCAST_ROLES
from bot.domain.principal import Principal
from bot.domain.projects import RECRUITING
from bot.services import alerts, audit, webhooks
from bot.services.organisations import member_of
from storage.models import Broadcast, OutboxMessage
from storage.types import utcnow
from storage.uow import UnitOfWork

# What a post in a group chat may carry (as a link that continues in a private chat).
GROUP_BUTTONS = frozenset({ButtonKind.NONE, ButtonKind.ANSWER})
# A claim older than this is taken over, a row `sending` for longer is marked uncertain (its
# process died). Safe even if too short: a row is only sent by the holder of its claim.
LEASE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Draft:
    audience: Audience
    text_zh: str = ""
    text_en: str = ""
    photo: bytes | None = None
    button: ButtonKind = ButtonKind.NONE
    project_id: int | None = None
    survey_id: int | None = None
    scheduled_at: datetime | None = None
    urgent: bool = False
    emergency_id: int | None = None
    consultation_id: int | None = None


@dataclass(frozen=True, slots=True)
class Content:
    """What the sender needs to render one broadcast for any recipient."""

    id: int
    text_zh: str
    text_en: str
    photo: bytes | None
    button: ButtonKind
    project_id: int | None
    survey_id: int | None
    emergency_id: int | None
    urgent: bool
    consultation_id: int | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    row_id: int
    broadcast_id: int
    person_id: int | None  # None: a group's row
    channel: Channel
    chat_id: str
    locale: str
    group: bool = False  # a community group chat (paced at the platform's group rate)


@dataclass(frozen=True, slots=True)
class StatusView:
    id: int
    state: BroadcastState
    progress: Progress
    author_id: int
    progress_channel: Channel | None
    progress_chat_id: str | None
    progress_message_id: int | None
    progress_text: str
    scheduled_at: datetime | None
    started_at: datetime | None


@dataclass(frozen=True, slots=True)
class Report:
    id: int
    state: BroadcastState
    progress: Progress
    sent: int
    blocked: int
    opted_out: int
    uncertain: int
    failures: dict[str, int] = field(default_factory=dict)
    template: int = 0  # WeChat, outside the 48-hour window: as a template message
    waiting: int = 0  # WeChat, outside the window: in the notice list for the next message
    sign_ups: int = 0
    project_id: int | None = None
    groups: int = 0  # of those delivered, posts in community group chats


# ------------------------------------------------------------------ composing


_audit = partial(audit.step, entity="broadcast")


async def _communities(uow: UnitOfWork, principal: Principal) -> set[int]:
    return set(await uow.places.communities_covered(principal, BROADCAST_ROLES))


async def allowed_communities(uow: UnitOfWork, principal: Principal) -> list[int]:
    """The communities this person may broadcast to as a worker (empty for others)."""
    async with uow:
        return sorted(await _communities(uow, principal))


def _skills(draft: Draft, project_categories: list[str]) -> int:
    mask = skill_mask(draft.audience.skills)
    if draft.audience.kind is AudienceKind.PROJECT_FIT:
        for category in project_categories:
            mask |= category_mask(NeedCategory(category))
    return mask


async def _checked(uow: UnitOfWork, principal: Principal, draft: Draft) -> tuple[Audience, int]:
    """The audience as it may be sent (scope checked here, not trusted from the chat) and its
    skills mask. Inside an entered unit of work."""
    _check_texts(draft)
    audience = draft.audience
    if audience.kind not in COMPOSABLE:  # the others belong to a consultation's service
        raise InvalidInput("audience", audience.kind.value)
    covered = await _communities(uow, principal)
    categories: list[str] = []
    if draft.project_id is not None:
        audience, categories = await _for_project(uow, principal, draft, covered)
    elif audience.kind is AudienceKind.PROJECT_FIT:
        raise InvalidInput("audience", "project")
    await _check_button(uow, draft, audience, covered)
    if not audience.community_ids or not set(audience.community_ids) <= covered:
        raise PermissionDenied()
    return audience, _skills(draft, categories)


def _check_texts(draft: Draft) -> None:
    if not (draft.text_zh or draft.text_en):
        raise InvalidInput("text", "empty")
    for text in (draft.text_zh, draft.text_en):
        clean_text(text, MAX_CAPTION if draft.photo is not None else MAX_TEXT)


async def _for_project(
    uow: UnitOfWork, principal: Principal, draft: Draft, covered: set[int]
) -> tuple[Audience, list[str]]:
    """A recruiting project's broadcast: its organisation's admin also reaches the project's
    communities (`covered` grows), and a project-fit audience without communities gets the
    project's. Returns the audience and the project's categories."""
    assert draft.project_id is not None
    project = await uow.projects.get(draft.project_id)
    if project is None:
        raise NotFound("project", draft.project_id)
    if project.state not in RECRUITING:
        raise Conflict("project_not_recruiting")
    project_communities = set(await uow.projects.communities_of(project.id))
    owner = project.organisation_id is not None and member_of(
        principal, project.organisation_id, Role.ORG_ADMIN
    )
    if owner:
        covered |= project_communities
    audience = draft.audience
    if audience.kind is AudienceKind.PROJECT_FIT and not audience.community_ids:
        audience = Audience(
            audience.kind,
            tuple(sorted(project_communities & covered)),
            audience.skills,
            audience.locale,
            project.id,
        )
    return audience, list(project.categories)


async def _check_button(
    uow: UnitOfWork, draft: Draft, audience: Audience, covered: set[int]
) -> None:
    if audience.kind is AudienceKind.GROUPS and draft.button not in GROUP_BUTTONS:
        # A group post carries no personal button: only a link to answer in a private chat.
        raise InvalidInput("button", "group")
    if draft.button is ButtonKind.SIGN_UP and draft.project_id is None:
        raise InvalidInput("button", "project")
    if draft.button is ButtonKind.ANSWER:
        await _check_survey(uow, draft.survey_id, covered)


async def _check_survey(uow: UnitOfWork, survey_id: int | None, covered: set[int]) -> None:
    """An open survey of the sender's communities."""
    survey = await uow.surveys.get(survey_id) if survey_id is not None else None
    if survey is None or survey.closed_at is not None:
        raise InvalidInput("button", "survey")
    if not set(await uow.surveys.communities(survey.id)) & covered:
        raise PermissionDenied()


async def count(uow: UnitOfWork, principal: Principal, draft: Draft) -> int:
    """How many people the draft would reach now (the preview's count)."""
    async with uow:
        audience, mask = await _checked(uow, principal, draft)
        if audience.kind is AudienceKind.GROUPS:
            return await uow.groups.count_linked(audience.community_ids, audience.locale)
        return await uow.broadcasts.count_audience(audience, mask)


async def create(
    uow: UnitOfWork,
    principal: Principal,
    draft: Draft,
    *,
    progress_to: tuple[Channel, str] | None = None,
    now: datetime | None = None,
) -> StatusView:
    """Store the broadcast; queue it at once unless it is scheduled for later."""
    now = now or utcnow()
    if draft.scheduled_at is not None and draft.scheduled_at > now + timedelta(days=60):
        raise InvalidInput("time", "too_far")
    if draft.photo is not None and len(draft.photo) > 5 * 1024 * 1024:
        raise InvalidInput("photo", "too_big")
    async with uow:
        audience, _ = await _checked(uow, principal, draft)
        broadcast = await _insert(uow, principal, draft, audience, progress_to)
        if draft.scheduled_at is None or draft.scheduled_at <= now:
            await _queue(uow, broadcast, now)
        view = await _status(uow, broadcast)
        await uow.commit()
        return view


async def _insert(
    uow: UnitOfWork,
    principal: Principal,
    draft: Draft,
    audience: Audience,
    progress_to: tuple[Channel, str] | None,
) -> Broadcast:
    urgent = draft.urgent and draft.emergency_id is not None
    broadcast = Broadcast(
        author_id=principal.person_id,
        topic=Topic.EMERGENCY if urgent else TOPIC_OF_BUTTON[draft.button],
        urgent=urgent,
        text_zh=draft.text_zh,
        text_en=draft.text_en,
        photo=draft.photo,
        button=draft.button,
        project_id=draft.project_id,
        survey_id=draft.survey_id,
        emergency_id=draft.emergency_id,
        consultation_id=draft.consultation_id,
        audience=audience.as_json(),
        state=BroadcastState.SCHEDULED,
        scheduled_at=draft.scheduled_at,
        progress_channel=progress_to[0] if progress_to else None,
        progress_chat_id=progress_to[1] if progress_to else None,
    )
    uow.broadcasts.add(broadcast)
    await uow.broadcasts.flush()
    details = {"audience": audience.as_json(), "button": draft.button.value, "urgent": urgent}
    _audit(uow, principal, "broadcast.create", broadcast.id, details=details)
    return broadcast


async def _queue(uow: UnitOfWork, broadcast: Broadcast, now: datetime) -> None:
    """One outbox row per person: their most recently used reachable chat; people who opted
    out of the topic (never of an emergency) or blocked the bot are recorded, not sent."""
    audience = Audience.from_json(broadcast.audience)
    if audience.kind is AudienceKind.GROUPS:
        await _queue_groups(uow, broadcast, audience, now)
        return
    project = await uow.projects.get(audience.project_id) if audience.project_id else None
    mask = _skills(
        Draft(audience=audience, text_zh="-"), list(project.categories) if project else []
    )
    chosen = await _chat_of_each(uow, audience, mask)
    opted_out = set() if broadcast.urgent else await uow.broadcasts.opted_out(broadcast.topic)
    for person, (_, channel, chat, locale, blocked) in sorted(chosen.items()):
        uow.broadcasts.add(
            OutboxMessage(
                broadcast_id=broadcast.id,
                person_id=person,
                channel=channel,
                chat_id=chat,
                locale=locale,
                state=_delivery_state(blocked, person in opted_out),
                not_before=now,
                error="blocked" if blocked else "",
            )
        )
    broadcast.total = len(chosen)
    broadcast.state = BroadcastState.SENDING
    broadcast.started_at = now
    await _tell_apps(uow, broadcast, audience, mask, opted_out, now)
    await uow.broadcasts.flush()


async def _chat_of_each(
    uow: UnitOfWork, audience: Audience, mask: int
) -> dict[int, tuple[Any, ...]]:
    """Per person of the audience: a reachable chat before a blocked one, the most recently
    used first — (its rank, channel, chat id, locale, blocked)."""
    chosen: dict[int, tuple[Any, ...]] = {}
    for person, channel, chat, locale, blocked, seen in await uow.broadcasts.audience_accounts(
        audience, mask
    ):
        key = (not blocked, seen)
        if person not in chosen or key > chosen[person][0]:
            chosen[person] = (key, channel, chat, locale or "zh", blocked)
    return chosen


def _delivery_state(blocked: bool, opted_out: bool) -> DeliveryState:
    if blocked:
        return DeliveryState.BLOCKED
    if opted_out:
        return DeliveryState.OPTED_OUT
    return DeliveryState.QUEUED


async def _tell_apps(
    uow: UnitOfWork,
    broadcast: Broadcast,
    audience: Audience,
    mask: int,
    opted_out: set[int],
    now: datetime,
) -> None:
    """An app acting for someone in the audience hears the broadcast by webhook (only when an
    app listens: one event per person)."""
    if not await webhooks.listened(uow, "broadcast.sent"):
        return
    accounts = await uow.broadcasts.audience_accounts(audience, mask, apps=True)
    people = sorted({row[0] for row in accounts} - opted_out)
    shown = {
        "id": broadcast.id,
        "topic": broadcast.topic.value,
        "urgent": broadcast.urgent,
        "text_zh": broadcast.text_zh,
        "text_en": broadcast.text_en,
    }
    for person in people:
        webhooks.record(
            uow, "broadcast.sent", {"broadcast": shown}, community_id=None, person_id=person, at=now
        )


async def _queue_groups(
    uow: UnitOfWork, broadcast: Broadcast, audience: Audience, now: datetime
) -> None:
    """One row per group linked to the communities when it goes out (opt-outs are people's)."""
    groups = await uow.groups.linked(audience.community_ids, audience.locale)
    for group in groups:
        uow.broadcasts.add(
            OutboxMessage(
                broadcast_id=broadcast.id,
                group_id=group.id,
                channel=group.channel,
                chat_id=group.chat_id,
                locale=group.locale,
                state=DeliveryState.QUEUED,
                not_before=now,
            )
        )
    broadcast.total = len(groups)
    broadcast.state = BroadcastState.SENDING
    broadcast.started_at = now
    await uow.broadcasts.flush()


async def queue_due(uow: UnitOfWork, *, now: datetime | None = None) -> list[int]:
    """Queue the scheduled broadcasts whose time has come (each exactly once: the row is
    locked and its state checked again)."""
    now = now or utcnow()
    started = []
    async with uow:
        due = await uow.broadcasts.due(now)
    for broadcast_id in due:
        if await _queue_if_scheduled(uow, broadcast_id, now):
            started.append(broadcast_id)
    return started


async def _queue_if_scheduled(uow: UnitOfWork, broadcast_id: int, now: datetime) -> bool:
    async with uow:
        broadcast = await uow.broadcasts.get(broadcast_id, lock=True)
        if broadcast is None or broadcast.state is not BroadcastState.SCHEDULED:
            return False
        await _queue(uow, broadcast, now)
        await uow.commit()
        return True


async def create_checked(
    uow: UnitOfWork,
    principal: Principal,
    draft: Draft,
    *,
    progress_to: tuple[Channel, str] | None = None,
    now: datetime | None = None,
) -> StatusView:
    """A broadcast whose audience the calling service has already checked (emergencies,
    consultations): queued now, or stored until `draft.scheduled_at`."""
    now = now or utcnow()
    async with uow:
        view = await add_checked(uow, principal, draft, progress_to=progress_to, now=now)
        await uow.commit()
        return view


async def add_checked(
    uow: UnitOfWork,
    principal: Principal,
    draft: Draft,
    *,
    progress_to: tuple[Channel, str] | None = None,
    now: datetime,
) -> StatusView:
    """As `create_checked`, inside the caller's entered unit of work, so the broadcast is
    stored with (and only with) what it announces."""
    broadcast = await _insert(uow, principal, draft, draft.audience, progress_to)
    if draft.scheduled_at is None or draft.scheduled_at <= now:
        await _queue(uow, broadcast, now)
    return await _status(uow, broadcast)


# ------------------------------------------------------------------ the author's controls


async def _own(uow: UnitOfWork, principal: Principal, broadcast_id: int) -> Broadcast:
    broadcast = await uow.broadcasts.get(broadcast_id, lock=True)
    if broadcast is None:
        raise NotFound("broadcast", broadcast_id)
    if broadcast.author_id != principal.person_id and not principal.is_superadmin:
        raise PermissionDenied()
    return broadcast


CONTROL = {
    "pause": ({BroadcastState.SENDING}, BroadcastState.PAUSED),
    "resume": ({BroadcastState.PAUSED}, BroadcastState.SENDING),
    "cancel": (
        {BroadcastState.SCHEDULED, BroadcastState.SENDING, BroadcastState.PAUSED},
        BroadcastState.CANCELLED,
    ),
}


async def control(
    uow: UnitOfWork, principal: Principal, *, broadcast_id: int, action: str
) -> StatusView:
    """Pause, resume or cancel one's own broadcast (cancelled rows are never sent)."""
    if action not in CONTROL:
        raise InvalidInput("action", action)
    allowed, target = CONTROL[action]
    async with uow:
        broadcast = await _own(uow, principal, broadcast_id)
        if broadcast.state not in allowed:
            raise Conflict("broadcast_state")
        await _move(uow, broadcast, target)
        _audit(uow, principal, f"broadcast.{action}", broadcast.id)
        await uow.broadcasts.flush()
        view = await _status(uow, broadcast)
        await uow.commit()
        return view


async def _move(uow: UnitOfWork, broadcast: Broadcast, target: BroadcastState) -> None:
    """A cancelled broadcast's queued rows are cancelled with it."""
    broadcast.state = target
    if target is BroadcastState.CANCELLED:
        await uow.broadcasts.cancel_queued(broadcast.id)
        broadcast.finished_at = utcnow()


def _progress(counts: dict[DeliveryState, int]) -> Progress:
    total = sum(counts.values())
    return Progress(
        total=total,
        queued=counts.get(DeliveryState.QUEUED, 0) + counts.get(DeliveryState.SENDING, 0),
        # Done with, as far as the outbox goes: a WeChat template message or a message waiting
        # in the person's notice list is not a failure.
        sent=sum(
            counts.get(s, 0)
            for s in (DeliveryState.SENT, DeliveryState.TEMPLATE, DeliveryState.WAITING)
        ),
        failed=sum(
            counts.get(s, 0)
            for s in (DeliveryState.FAILED, DeliveryState.BLOCKED, DeliveryState.UNCERTAIN)
        ),
        skipped=counts.get(DeliveryState.OPTED_OUT, 0) + counts.get(DeliveryState.CANCELLED, 0),
    )


async def _status(uow: UnitOfWork, broadcast: Broadcast) -> StatusView:
    return StatusView(
        id=broadcast.id,
        state=broadcast.state,
        progress=_progress(await uow.broadcasts.counts(broadcast.id)),
        author_id=broadcast.author_id,
        progress_channel=broadcast.progress_channel,
        progress_chat_id=broadcast.progress_chat_id,
        progress_message_id=broadcast.progress_message_id,
        progress_text=broadcast.progress_text,
        scheduled_at=broadcast.scheduled_at,
        started_at=broadcast.started_at,
    )


async def status(uow: UnitOfWork, principal: Principal, *, broadcast_id: int) -> StatusView:
    async with uow:
        broadcast = await _own(uow, principal, broadcast_id)
        return await _status(uow, broadcast)


async def mine(uow: UnitOfWork, principal: Principal, *, limit: int = 5) -> list[StatusView]:
    async with uow:
        return [
            await _status(uow, b)
            for b in await uow.broadcasts.of_author(principal.person_id, limit)
        ]


async def _reported(uow: UnitOfWork, principal: Principal | None, broadcast_id: int) -> Broadcast:
    """Any broadcast for the bot itself; one's own for a person."""
    if principal is not None:
        return await _own(uow, principal, broadcast_id)
    broadcast = await uow.broadcasts.get(broadcast_id)
    if broadcast is None:
        raise NotFound("broadcast", broadcast_id)
    return broadcast


async def report(uow: UnitOfWork, principal: Principal | None, *, broadcast_id: int) -> Report:
    """Delivered, failed with reasons, and the sign-ups a project call produced. `principal`
    None: the bot itself (the end-of-run report to the author)."""
    async with uow:
        broadcast = await _reported(uow, principal, broadcast_id)
        counts = await uow.broadcasts.counts(broadcast_id)
        errors = await uow.broadcasts.errors(broadcast_id)
        return Report(
            id=broadcast.id,
            state=broadcast.state,
            progress=_progress(counts),
            sent=counts.get(DeliveryState.SENT, 0),
            blocked=counts.get(DeliveryState.BLOCKED, 0),
            opted_out=counts.get(DeliveryState.OPTED_OUT, 0),
            uncertain=counts.get(DeliveryState.UNCERTAIN, 0),
            template=counts.get(DeliveryState.TEMPLATE, 0),
            waiting=counts.get(DeliveryState.WAITING, 0),
            failures={e or "unknown": n for e, n in errors.items()},
            sign_ups=await uow.broadcasts.sign_ups_from(broadcast),
            project_id=broadcast.project_id,
            groups=await uow.broadcasts.sent_to_groups(broadcast_id),
        )


# ------------------------------------------------------------------ for the sender


async def content(uow: UnitOfWork, *, broadcast_id: int) -> Content:
    async with uow:
        b = await uow.broadcasts.get(broadcast_id)
        if b is None:
            raise NotFound("broadcast", broadcast_id)
        return _content(b)


def _content(b: Broadcast) -> Content:
    return Content(
        b.id,
        b.text_zh,
        b.text_en,
        b.photo,
        b.button,
        b.project_id,
        b.survey_id,
        b.emergency_id,
        b.urgent,
        b.consultation_id,
    )


async def claim(
    uow: UnitOfWork,
    *,
    channel: Channel,
    owner: str,
    limit: int,
    lease: timedelta = LEASE,
    now: datetime | None = None,
) -> list[Delivery]:
    now = now or utcnow()
    async with uow:
        rows = await uow.broadcasts.claim(channel, owner, now, lease, limit)
        claimed = [
            Delivery(
                r.id,
                r.broadcast_id,
                r.person_id,
                r.channel,
                r.chat_id,
                r.locale,
                group=r.group_id is not None,
            )
            for r in rows
        ]
        await uow.commit()
        return claimed


async def start_sending(
    uow: UnitOfWork, *, row_id: int, owner: str, lease: timedelta = LEASE
) -> bool:
    """Committed before the platform is called: from here on the row is never sent again."""
    async with uow:
        ours = await uow.broadcasts.start_sending(row_id, owner, utcnow(), lease)
        await uow.commit()
        return ours


async def finish(
    uow: UnitOfWork, *, delivery: Delivery, state: DeliveryState, error: str = ""
) -> None:
    async with uow:
        await uow.broadcasts.finish(delivery.row_id, state, utcnow(), error)
        if state is DeliveryState.BLOCKED and delivery.group:
            # The bot is no longer in the group: nothing more is posted there.
            await _unlink_removed(uow, delivery)
        elif state is DeliveryState.BLOCKED:
            await uow.broadcasts.mark_blocked(delivery.channel, delivery.chat_id, utcnow())
        await uow.commit()


async def _unlink_removed(uow: UnitOfWork, delivery: Delivery) -> None:
    group = await uow.groups.by_chat(delivery.channel, delivery.chat_id, lock=True)
    if group is not None and group.unlinked_at is None:
        group.unlinked_at = utcnow()
        uow.audit.record(
            actor_id=None,
            action="group.unlink",
            entity="community_group",
            entity_id=group.id,
            details={"community": group.community_id, "by": "refused_post"},
        )


async def attempts(uow: UnitOfWork, *, row_id: int) -> int:
    async with uow:
        return await uow.broadcasts.attempts(row_id)


async def retry_later(uow: UnitOfWork, *, row_id: int, seconds: float) -> None:
    async with uow:
        await uow.broadcasts.requeue(row_id, utcnow() + timedelta(seconds=seconds))
        await uow.commit()


async def defer(uow: UnitOfWork, *, owner: str, row_id: int, seconds: float) -> None:
    """A claimed row that may not go yet (its group had a post moments ago): back to the
    queue, due in `seconds`."""
    async with uow:
        await uow.broadcasts.defer(owner, row_id, utcnow() + timedelta(seconds=seconds))
        await uow.commit()


async def group_moved(uow: UnitOfWork, *, delivery: Delivery, new_chat_id: str) -> None:
    """The platform refused a group post because the group became a supergroup with a new
    id: the group's link and its queued rows follow it, and this row goes again."""
    async with uow:
        group = await uow.groups.by_chat(delivery.channel, delivery.chat_id, lock=True)
        taken = await uow.groups.by_chat(delivery.channel, new_chat_id)
        if group is not None and taken is None:
            group.chat_id = new_chat_id
        await uow.broadcasts.move_rows(delivery.channel, delivery.chat_id, new_chat_id)
        await uow.broadcasts.requeue(delivery.row_id, utcnow())
        await uow.commit()


async def release(uow: UnitOfWork, *, owner: str, row_ids: list[int]) -> None:
    if row_ids:
        async with uow:
            await uow.broadcasts.release(owner, row_ids)
            await uow.commit()


async def recover(uow: UnitOfWork, *, lease: timedelta = LEASE, now: datetime | None = None) -> int:
    """Rows a dead process left `sending` become uncertain (never re-sent)."""
    now = now or utcnow()
    async with uow:
        count = await uow.broadcasts.mark_interrupted(now - lease)
        await uow.commit()
        return count


async def account_blocked(
    uow: UnitOfWork, *, channel: Channel, chat_id: str, blocked: bool
) -> None:
    """The platform told us the person blocked (or unblocked) the bot."""
    async with uow:
        await uow.broadcasts.mark_blocked(channel, chat_id, utcnow() if blocked else None)
        await uow.commit()


async def _alert_failed(uow: UnitOfWork, broadcast: Broadcast, progress: Progress) -> None:
    """The workers' WeCom robots of the audience's communities hear of a broadcast that did
    not reach everyone (once per robot; inside the caller's transaction)."""
    told: set[int] = set()
    title = " ".join((broadcast.text_zh or broadcast.text_en).split())[:40]
    title_en = " ".join((broadcast.text_en or broadcast.text_zh).split())[:40]
    for community_id in Audience.from_json(broadcast.audience).community_ids:
        community = await uow.places.community(community_id)
        if community is None:
            continue
        robot = await alerts.robot_for(uow, community)
        if robot is None or robot in told:
            continue
        told.add(robot)
        params: dict[str, str | int] = {
            "title": title,
            "title_en": title_en,
            "sent": progress.sent,
            "failed": progress.failed,
        }
        await alerts.queue(uow, community, "broadcast.failed", params)


async def active(uow: UnitOfWork) -> list[StatusView]:
    """Broadcasts whose author should see fresh progress (or still gets the final report);
    those with nothing left to send are marked done here."""
    async with uow:
        views = []
        for broadcast in await uow.broadcasts.active():
            view = await _status(uow, broadcast)
            if broadcast.state is BroadcastState.SENDING and view.progress.queued == 0:
                broadcast.state = BroadcastState.DONE
                broadcast.finished_at = utcnow()
                view = await _status(uow, broadcast)
                if view.progress.failed:
                    await _alert_failed(uow, broadcast, view.progress)
            finished = broadcast.state in (BroadcastState.DONE, BroadcastState.CANCELLED)
            if finished and broadcast.progress_chat_id is None:
                broadcast.reported_at = utcnow()  # nobody to report to (e.g. an emergency's)
                continue
            views.append(view)
        await uow.broadcasts.flush()
        await uow.commit()
        return views


async def progress_shown(
    uow: UnitOfWork, *, broadcast_id: int, message_id: int | None, text: str, reported: bool
) -> bool:
    """Remember the progress message and what it shows; `reported`: mark the final report
    sent — False if another process reported it already."""
    async with uow:
        broadcast = await uow.broadcasts.get(broadcast_id, lock=True)
        if broadcast is None or (reported and broadcast.reported_at is not None):
            return False
        broadcast.progress_message_id = message_id
        broadcast.progress_text = text
        if reported:
            broadcast.reported_at = utcnow()
        await uow.commit()
        return True


# ------------------------------------------------------------------ recipients


async def opened(uow: UnitOfWork, principal: Principal, *, broadcast_id: int) -> Content:
    """A recipient tapped the broadcast's button: only someone it was sent to may."""
    async with uow:
        row = await uow.broadcasts.row_for(broadcast_id, principal.person_id)
        if row is None:
            raise PermissionDenied()
        if row.clicked_at is None:
            row.clicked_at = utcnow()
        await uow.commit()
    return await content(uow, broadcast_id=broadcast_id)


async def opt_outs(uow: UnitOfWork, principal: Principal) -> set[Topic]:
    async with uow:
        return await uow.broadcasts.opt_outs_of(principal.person_id)


async def set_opt_out(
    uow: UnitOfWork, principal: Principal, *, topic: Topic, out: bool
) -> set[Topic]:
    if topic not in OPTIONAL_TOPICS:
        raise InvalidInput("topic", topic.value)  # emergencies always reach everyone
    async with uow:
        await uow.broadcasts.set_opt_out(principal.person_id, topic, out)
        _audit_choice(uow, principal, "broadcast.opt_out" if out else "broadcast.opt_in", topic)
        topics = await uow.broadcasts.opt_outs_of(principal.person_id)
        await uow.commit()
        return topics


def _audit_choice(uow: UnitOfWork, principal: Principal, action: str, topic: Topic) -> None:
    """An opt-out (or back in) is the person's own step, audited against them."""
    uow.audit.record(
        actor_id=principal.person_id,
        action=action,
        entity="person",
        entity_id=principal.person_id,
        details={"topic": topic.value},
    )
