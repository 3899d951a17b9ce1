"""Consultations (协商议事): a community worker opens one (topic, background, options, who may
take part, discussion and voting periods, anonymous or named, an optional meeting); entitled
people read, give and support opinions and vote once (changeable until voting closes); workers
moderate and record paper votes; the worker closes it and the decision is recorded — for a major
matter by the party organisation's reviewer. Notices are bundled: one when it opens, one
reminder before voting closes (to those who have not voted), one with the outcome. See
docs/consultations.md."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from bot.domain.attendance import code_from_digest
from bot.domain.broadcasts import Audience, AudienceKind, ButtonKind, clean_text
from bot.domain.consultations import (
    MAX_BACKGROUND,
    MAX_OPINION,
    MAX_TITLE,
    Actor,
    Ballot,
    Phase,
    Schedule,
    Tally,
    clean,
    schedule,
    tally,
    voter_key,
)
from bot.domain.enums import Role
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.policy import AREA_READ_ROLES, CONSULTATION_ROLES
from bot.domain.principal import Principal
from bot.domain.privacy import Access
from bot.services import access_log, audit, broadcasts, needs, people, webhooks
from bot.services.crypto import PersonalDataCipher
from bot.services.places import area_of
from bot.services.ports import Notifier
from bot.services.views import Page
from storage.models import (
    Consultation,
    ConsultationCommunity,
    ConsultationOpinion,
    ConsultationOption,
    ConsultationSeat,
    ConsultationVote,
)
from storage.types import utcnow
from storage.uow import UnitOfWork

PER_PAGE = 5
LIST_LIMIT = 10


@dataclass(frozen=True, slots=True)
class NewConsultation:
    title: str
    background: str
    options: Sequence[str]  # empty: an open discussion without a vote
    community_ids: Sequence[int]
    discussion_days: int
    voting_days: int
    anonymous: bool = True
    major: bool = False
    meeting_at: datetime | None = None
    meeting_place: str | None = None
    need_id: int | None = None
    photo_file_id: str | None = None


@dataclass(frozen=True, slots=True)
class OptionView:
    id: int
    text: str


@dataclass(frozen=True, slots=True)
class ConsultationView:
    id: int
    title: str
    background: str
    photo_file_id: str | None
    phase: Phase
    schedule: Schedule
    options: tuple[OptionView, ...]
    anonymous: bool
    major: bool
    meeting_at: datetime | None
    meeting_place: str | None
    community_ids: tuple[int, ...]
    need_id: int | None
    decision: str | None
    decided_on: date | None
    minutes: str | None
    # About the reader:
    entitled: bool
    actor: Actor | None
    my_option: int | None
    can_manage: bool
    can_decide: bool


@dataclass(frozen=True, slots=True)
class OpinionView:
    id: int
    author: str
    actor: Actor
    text: str | None  # None when hidden
    hidden_reason: str | None
    supporters: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Results:
    consultation: ConsultationView
    tally: Tally
    attended: int
    named: tuple[tuple[str, int], ...]  # (voter, option) of a named vote; empty when anonymous


# ------------------------------------------------------------------ loading and seeing


_audit = partial(audit.step, entity="consultation")


def _audit_opinion(
    uow: UnitOfWork, principal: Principal, action: str, opinion_id: int, **rest: Any
) -> None:
    uow.audit.record(
        actor_id=principal.person_id,
        action=action,
        entity="consultation_opinion",
        entity_id=opinion_id,
        **rest,
    )


async def _load(uow: UnitOfWork, consultation_id: int, *, lock: bool = False) -> Consultation:
    found = await uow.consultations.get(consultation_id, lock=lock)
    if found is None:
        raise NotFound("consultation", consultation_id)
    return found


def _schedule(c: Consultation) -> Schedule:
    return Schedule(c.opened_at, c.discussion_ends_at, c.voting_ends_at)


async def _phase(uow: UnitOfWork, c: Consultation, now: datetime) -> Phase:
    has_vote = bool(await uow.consultations.options(c.id))
    return _schedule(c).phase(
        now, closed=c.closed_at is not None, decided=c.decided_at is not None, has_vote=has_vote
    )


async def _check_open(uow: UnitOfWork, c: Consultation, now: datetime) -> None:
    """Opinions are given (and supported) while it is discussed or voted on."""
    if await _phase(uow, c, now) not in (Phase.DISCUSSION, Phase.VOTING):
        raise Conflict("consultation_not_open")


async def _covers_all(
    uow: UnitOfWork, principal: Principal, c: Consultation, roles: tuple[Role, ...]
) -> bool:
    """Every community taking part is within the person's grants (a worker of one community
    does not run a consultation of the whole street)."""
    covered = set(await uow.places.communities_covered(principal, roles))
    return set(await uow.consultations.communities_of(c.id)) <= covered


async def _manages(uow: UnitOfWork, principal: Principal, c: Consultation) -> bool:
    return await _covers_all(uow, principal, c, CONSULTATION_ROLES)


async def _managed(
    uow: UnitOfWork, principal: Principal, consultation_id: int, *, lock: bool = False
) -> Consultation:
    """The consultation, if the principal runs it (covers every community taking part)."""
    c = await _load(uow, consultation_id, lock=lock)
    if not await _manages(uow, principal, c):
        raise PermissionDenied()
    return c


async def _decides(uow: UnitOfWork, principal: Principal, c: Consultation) -> bool:
    """A major matter is decided by the party organisation; anything else by the worker."""
    if not c.major:
        return await _manages(uow, principal, c)
    return await _covers_all(uow, principal, c, (Role.PARTY_REVIEWER,))


async def _actor(uow: UnitOfWork, principal: Principal, c: Consultation) -> Actor | None:
    """Whom the person takes part as, or None if they are not entitled."""
    seat = await uow.consultations.seat(c.id, principal.person_id)
    if seat is not None:
        return seat.actor
    home = principal.home.community_id if principal.home else None
    if home is not None and home in await uow.consultations.communities_of(c.id):
        return Actor.RESIDENT
    return None


async def _view(
    uow: UnitOfWork,
    principal: Principal,
    c: Consultation,
    now: datetime,
    ballot_secret: bytes | None,
) -> ConsultationView:
    actor = await _actor(uow, principal, c)
    my_option = None
    if actor is not None and ballot_secret is not None:
        my_option = await _my_option(uow, principal, c, ballot_secret)
    return ConsultationView(
        id=c.id,
        title=c.title,
        background=c.background,
        photo_file_id=c.photo_file_id,
        phase=await _phase(uow, c, now),
        schedule=_schedule(c),
        options=tuple(OptionView(o.id, o.text) for o in await uow.consultations.options(c.id)),
        anonymous=c.anonymous,
        major=c.major,
        meeting_at=c.meeting_at,
        meeting_place=c.meeting_place,
        community_ids=tuple(await uow.consultations.communities_of(c.id)),
        need_id=c.need_id,
        decision=c.decision,
        decided_on=c.decided_on,
        minutes=c.minutes,
        entitled=actor is not None,
        actor=actor,
        my_option=my_option,
        can_manage=await _manages(uow, principal, c),
        can_decide=await _decides(uow, principal, c),
    )


async def _my_option(
    uow: UnitOfWork, principal: Principal, c: Consultation, ballot_secret: bytes
) -> int | None:
    """The option the reader voted for (found by their voter key), if they voted."""
    key = voter_key(ballot_secret, c.id, principal.person_id, c.anonymous)
    ballot = await uow.consultations.ballot(c.id, key)
    return ballot.option_id if ballot else None


def _check_may_see(shown: ConsultationView) -> None:
    """The entitled, its workers and (for a major matter) the party reviewer; nobody else."""
    if not (shown.entitled or shown.can_manage or shown.can_decide):
        raise PermissionDenied()


async def view(
    uow: UnitOfWork,
    principal: Principal,
    *,
    consultation_id: int,
    ballot_secret: bytes | None = None,
    now: datetime | None = None,
) -> ConsultationView:
    """What the reader may see: the entitled, its workers and (for a major matter) the party
    reviewer; nobody else."""
    now = now or utcnow()
    async with uow:
        c = await _load(uow, consultation_id)
        shown = await _view(uow, principal, c, now, ballot_secret)
        _check_may_see(shown)
        return shown


async def listing(
    uow: UnitOfWork, principal: Principal, *, now: datetime | None = None
) -> list[ConsultationView]:
    now = now or utcnow()
    async with uow:
        covered = await uow.places.communities_covered(principal, CONSULTATION_ROLES)
        home = principal.home.community_id if principal.home else None
        rows = await uow.consultations.for_person(principal.person_id, home, covered, LIST_LIMIT)
        return [await _view(uow, principal, c, now, None) for c in rows]


async def area_open(
    uow: UnitOfWork,
    principal: Principal,
    *,
    community_id: int | None = None,
    now: datetime | None = None,
) -> list[ConsultationView]:
    """The consultations of the communities the principal reads (or of one of them) that
    are still in discussion or voting, newest first."""
    now = now or utcnow()
    async with uow:
        covered = await area_of(uow, principal, AREA_READ_ROLES, community_id)
        rows = await uow.consultations.for_person(principal.person_id, None, covered, LIST_LIMIT)
        shown = [await _view(uow, principal, c, now, None) for c in rows]
        return [v for v in shown if v.phase in (Phase.DISCUSSION, Phase.VOTING)]


async def area_view(
    uow: UnitOfWork, principal: Principal, *, consultation_id: int, now: datetime | None = None
) -> ConsultationView:
    """One consultation, with its options, when all its communities are read by the
    principal."""
    now = now or utcnow()
    async with uow:
        c = await _load(uow, consultation_id)
        if not await _covers_all(uow, principal, c, AREA_READ_ROLES):
            raise PermissionDenied()
        return await _view(uow, principal, c, now, None)


# ------------------------------------------------------------------ opening


async def open_consultation(
    uow: UnitOfWork,
    principal: Principal,
    spec: NewConsultation,
    *,
    texts: tuple[str, str],
    reminder: tuple[str, str] | None,
    now: datetime | None = None,
) -> ConsultationView:
    """Open it and queue its two notices: `texts` (zh, en) now to everyone entitled, and, with a
    vote, `reminder` before voting closes to those who have not voted by then."""
    now = now or utcnow()
    title = clean(spec.title, MAX_TITLE, "title")
    background = clean(spec.background, MAX_BACKGROUND, "background")
    plan = schedule(now, spec.discussion_days, spec.voting_days if spec.options else 0)
    _check_dates(spec, now)
    async with uow:
        communities = await _opened_in(uow, principal, spec)
        c = Consultation(
            community_id=communities[0],
            created_by=principal.person_id,
            title=title,
            background=background,
            photo_file_id=spec.photo_file_id,
            anonymous=spec.anonymous,
            major=spec.major,
            need_id=spec.need_id,
            opened_at=now,
            discussion_ends_at=plan.discussion_ends_at,
            voting_ends_at=plan.voting_ends_at,
            meeting_at=spec.meeting_at,
            meeting_place=" ".join((spec.meeting_place or "").split())[:200] or None,
        )
        await _store(uow, principal, c, communities, spec.options)
        shown = await _view(uow, principal, c, now, None)
        _webhook_event(uow, "consultation.opened", c, communities, now)
        await _announce_opening(uow, principal, shown, texts, reminder, plan.reminder_at, now)
        await uow.commit()
    return shown


def _check_dates(spec: NewConsultation, now: datetime) -> None:
    """A vote lasts a day at least; a meeting is in the future."""
    if spec.options and spec.voting_days < 1:
        raise InvalidInput("days", "voting")
    if spec.meeting_at is not None and spec.meeting_at <= now:
        raise InvalidInput("meeting", "past")


async def _announce_opening(
    uow: UnitOfWork,
    principal: Principal,
    shown: ConsultationView,
    texts: tuple[str, str],
    reminder: tuple[str, str] | None,
    reminder_at: datetime,
    now: datetime,
) -> None:
    """`texts` now to everyone entitled; with a vote, `reminder` at `reminder_at` to those
    who have not voted by then."""
    await _notify(uow, principal, shown, AudienceKind.CONSULTATION, texts, now)
    if reminder is not None and shown.options:
        await _notify(uow, principal, shown, AudienceKind.NOT_VOTED, reminder, now, reminder_at)


async def _opened_in(uow: UnitOfWork, principal: Principal, spec: NewConsultation) -> list[int]:
    """Its communities, all covered by the principal (and its need's, if opened from one)."""
    covered = set(await uow.places.communities_covered(principal, CONSULTATION_ROLES))
    communities = sorted(set(spec.community_ids))
    if not communities or not set(communities) <= covered:
        raise PermissionDenied()
    if spec.need_id is not None:
        await _check_need(uow, spec.need_id, communities)
    return communities


async def _store(
    uow: UnitOfWork,
    principal: Principal,
    c: Consultation,
    communities: Sequence[int],
    options: Sequence[str],
) -> None:
    """The consultation with its communities and options, audited."""
    uow.consultations.add(c)
    await uow.consultations.flush()
    for community_id in communities:
        uow.consultations.add(
            ConsultationCommunity(consultation_id=c.id, community_id=community_id)
        )
    for position, text in enumerate(options):
        uow.consultations.add(
            ConsultationOption(consultation_id=c.id, position=position, text=text)
        )
    details = {"communities": list(communities), "options": len(options)}
    _audit(uow, principal, "consultation.open", c.id, details=details)
    await uow.consultations.flush()


def _webhook_event(
    uow: UnitOfWork,
    event_type: str,
    c: Consultation,
    communities: Sequence[int],
    now: datetime,
    **extra: str,
) -> None:
    """The apps of the communities hear of it with the same transaction (its public facts)."""
    shown = {
        "id": c.id,
        "title": c.title,
        "voting_ends_at": c.voting_ends_at.isoformat(),
        "need_id": c.need_id,
        **extra,
    }
    webhooks.record(
        uow,
        event_type,
        {"consultation": shown, "community_ids": sorted(communities)},
        community_id=c.community_id,
        at=now,
    )


async def _check_need(uow: UnitOfWork, need_id: int, communities: Sequence[int]) -> None:
    need = await uow.needs.get(need_id)
    if need is None or need.community_id not in communities:
        raise NotFound("need", need_id)


async def _notify(
    uow: UnitOfWork,
    principal: Principal,
    shown: ConsultationView,
    kind: AudienceKind,
    texts: tuple[str, str],
    now: datetime,
    at: datetime | None = None,
) -> None:
    """Queue a notice in the caller's transaction: it exists exactly when what it announces
    does."""
    audience = Audience(kind, shown.community_ids, consultation_id=shown.id)
    draft = broadcasts.Draft(
        audience=audience,
        text_zh=clean_text(texts[0]),
        text_en=clean_text(texts[1]),
        button=ButtonKind.JOIN,
        consultation_id=shown.id,
        scheduled_at=at,
    )
    await broadcasts.add_checked(uow, principal, draft, now=now)


# ------------------------------------------------------------------ seats and the meeting


def invite_token(cipher: PersonalDataCipher, consultation_id: int, actor: Actor) -> str:
    """The secret part of an invitation link for a seat of `actor`."""
    return code_from_digest(cipher.site_code_digest(f"seat:{consultation_id}:{actor.value}"), 8)


def meeting_code(cipher: PersonalDataCipher, consultation_id: int) -> str:
    """The code shown at the meeting; typing it confirms attendance."""
    return code_from_digest(cipher.site_code_digest(f"meeting:{consultation_id}"))


async def take_seat(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    principal: Principal,
    *,
    consultation_id: int,
    actor: Actor,
    token: str,
) -> ConsultationView:
    """Opening an invitation link: a seat for the actor it names (once per person)."""
    if actor is Actor.RESIDENT or token != invite_token(cipher, consultation_id, actor):
        raise PermissionDenied()
    async with uow:
        c = await _load(uow, consultation_id)
        if c.closed_at is not None:
            raise Conflict("consultation_closed")
        await _seat(uow, principal, c, actor)
        shown = await _view(uow, principal, c, utcnow(), None)
        await uow.commit()
        return shown


async def _seat(uow: UnitOfWork, principal: Principal, c: Consultation, actor: Actor) -> None:
    """A seat for the person, unless they have one already."""
    if await uow.consultations.seat(c.id, principal.person_id) is None:
        uow.consultations.add(
            ConsultationSeat(consultation_id=c.id, person_id=principal.person_id, actor=actor)
        )
        _audit(uow, principal, "consultation.seat", c.id, details={"actor": actor.value})
        await uow.consultations.flush()


async def attend(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    principal: Principal,
    *,
    consultation_id: int,
    code: str,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    async with uow:
        c = await _load(uow, consultation_id)
        if c.meeting_at is None or await _actor(uow, principal, c) is None:
            raise PermissionDenied()
        if code.strip().upper() != meeting_code(cipher, c.id):
            raise InvalidInput("code", "wrong")
        participant = await uow.consultations.took_part(c.id, principal.person_id)
        participant.attended_at = participant.attended_at or now
        await uow.commit()


# ------------------------------------------------------------------ opinions


async def add_opinion(
    uow: UnitOfWork,
    principal: Principal,
    *,
    consultation_id: int,
    text: str,
    now: datetime | None = None,
) -> OpinionView:
    now = now or utcnow()
    text = clean(text, MAX_OPINION, "opinion")
    async with uow:
        c = await _load(uow, consultation_id)
        actor = await _actor(uow, principal, c)
        if actor is None:
            raise PermissionDenied()
        await _check_open(uow, c, now)
        opinion = ConsultationOpinion(
            consultation_id=c.id, person_id=principal.person_id, actor=actor, text=text
        )
        uow.consultations.add(opinion)
        await uow.consultations.took_part(c.id, principal.person_id)
        await uow.consultations.flush()
        _audit_opinion(uow, principal, "consultation.opinion", opinion.id)
        await uow.commit()
        return OpinionView(opinion.id, "", actor, text, None, 0, now)


async def opinions(
    uow: UnitOfWork, principal: Principal, *, consultation_id: int, page: int = 0
) -> Page[OpinionView]:
    async with uow:
        c = await _load(uow, consultation_id)
        entitled = await _actor(uow, principal, c) is not None
        if not (entitled or await _manages(uow, principal, c) or await _decides(uow, principal, c)):
            raise PermissionDenied()
        rows, total = await uow.consultations.opinions(c.id, page * PER_PAGE, PER_PAGE)
        items = tuple(_opinion_view(o, name, supporters) for o, name, supporters in rows)
        return Page(items, page, PER_PAGE, total)


def _opinion_view(o: ConsultationOpinion, author: str, supporters: int) -> OpinionView:
    """A hidden opinion shows its reason, not its text."""
    return OpinionView(
        id=o.id,
        author=author,
        actor=o.actor,
        text=None if o.hidden_at else o.text,
        hidden_reason=o.hidden_reason,
        supporters=supporters,
        created_at=o.created_at,
    )


async def support(uow: UnitOfWork, principal: Principal, *, opinion_id: int) -> bool:
    """Support someone else's opinion (once); False when already supported."""
    async with uow:
        opinion = await uow.consultations.opinion(opinion_id)
        if opinion is None or opinion.hidden_at is not None:
            raise NotFound("opinion", opinion_id)
        c = await _load(uow, opinion.consultation_id)
        if await _actor(uow, principal, c) is None or opinion.person_id == principal.person_id:
            raise PermissionDenied()
        await _check_open(uow, c, utcnow())
        added = await uow.consultations.support(opinion.id, principal.person_id)
        await uow.commit()
        return added


async def hide(
    uow: UnitOfWork, principal: Principal, *, opinion_id: int, reason: str
) -> OpinionView:
    """A worker hides an opinion with a reason (audited); it stays on record."""
    reason = clean(reason, 300, "reason")
    async with uow:
        opinion = await uow.consultations.opinion(opinion_id)
        if opinion is None:
            raise NotFound("opinion", opinion_id)
        c = await _load(uow, opinion.consultation_id)
        if not await _manages(uow, principal, c):
            raise PermissionDenied()
        if opinion.hidden_at is None:
            opinion.hidden_at, opinion.hidden_by = utcnow(), principal.person_id
            opinion.hidden_reason = reason
            _audit_opinion(uow, principal, "consultation.hide_opinion", opinion.id, note=reason)
        await uow.commit()
        return OpinionView(opinion.id, "", opinion.actor, None, reason, 0, opinion.created_at)


# ------------------------------------------------------------------ voting


async def vote(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    principal: Principal,
    *,
    consultation_id: int,
    option_id: int,
    now: datetime | None = None,
) -> None:
    """Vote, or change one's vote, while voting is open."""
    await _ballot(uow, cipher, principal, principal.person_id, consultation_id, option_id, now)


async def record_paper_vote(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    principal: Principal,
    *,
    consultation_id: int,
    person_id: int,
    option_id: int,
    now: datetime | None = None,
) -> None:
    """A worker records a vote given on paper (at the meeting, or at the community office) for
    an entitled person who has not voted: counted as a paper vote, audited with the person but
    never with the choice. It cannot replace a ballot the person (or a worker) already cast."""
    async with uow:
        c = await _managed(uow, principal, consultation_id)
        key = voter_key(cipher.ballot_secret, c.id, person_id, c.anonymous)
        if await uow.consultations.ballot(c.id, key) is not None:
            raise Conflict("already_voted")
    await _ballot(uow, cipher, principal, person_id, consultation_id, option_id, now)


async def _ballot(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    principal: Principal,
    voter_id: int,
    consultation_id: int,
    option_id: int,
    now: datetime | None,
) -> None:
    now = now or utcnow()
    assisted = voter_id != principal.person_id
    async with uow:
        c = await _load(uow, consultation_id)
        voter = principal if not assisted else await _principal_of(uow, voter_id)
        actor = await _actor(uow, voter, c)
        if actor is None:
            raise PermissionDenied()
        if await _phase(uow, c, now) is not Phase.VOTING:
            raise Conflict("voting_closed")
        if option_id not in {o.id for o in await uow.consultations.options(c.id)}:
            raise InvalidInput("option", str(option_id))
        key = voter_key(cipher.ballot_secret, c.id, voter_id, c.anonymous)
        await _cast(uow, c, key, voter_id, option_id, actor, assisted, now)
        participant = await uow.consultations.took_part(c.id, voter_id)
        participant.voted = True
        _audit_ballot(uow, principal, c, voter_id, assisted)
        if assisted and not c.anonymous:
            await _log_on_behalf(uow, principal, c, voter_id)
        await uow.commit()


async def _cast(
    uow: UnitOfWork,
    c: Consultation,
    key: str,
    voter_id: int,
    option_id: int,
    actor: Actor,
    assisted: bool,
    now: datetime,
) -> None:
    """Cast the ballot, or change the one the voter cast before (a worker's paper vote never
    replaces one)."""
    ballot = ConsultationVote(
        consultation_id=c.id,
        voter_key=key,
        person_id=None if c.anonymous else voter_id,
        option_id=option_id,
        actor=actor,
        # An anonymous ballot carries nothing that could be matched: no paper mark (the
        # consultation counts those), and the opening time instead of its own.
        assisted=assisted and not c.anonymous,
        updated_at=c.opened_at if c.anonymous else now,
    )
    if not await uow.consultations.cast(ballot):
        if assisted:
            raise Conflict("already_voted")
        # Voted before (or a second tap arrived at the same moment): change that ballot.
        existing = await uow.consultations.ballot(c.id, key)
        assert existing is not None
        existing.option_id, existing.updated_at = option_id, ballot.updated_at
    elif assisted:
        await uow.consultations.count_paper_vote(c.id)


async def _log_on_behalf(
    uow: UnitOfWork, principal: Principal, c: Consultation, voter_id: int
) -> None:
    """An action on the person's behalf (never its choice); an anonymous ballot leaves no
    trace with a time that could be matched to it, so it is never logged."""
    await access_log.record(
        uow,
        actor_id=principal.person_id,
        subject_id=voter_id,
        kind=Access.ON_BEHALF,
        reason="paper vote recorded by a worker",
        details={"consultation": c.id},
    )


def _audit_ballot(
    uow: UnitOfWork, principal: Principal, c: Consultation, voter_id: int, assisted: bool
) -> None:
    """A paper vote names the worker and the person (never the choice); an anonymous online
    vote names nobody — that a person voted is in the participants, without a time."""
    actor_id: int | None = principal.person_id
    details: dict[str, object] | None = {"for": voter_id}
    if not assisted:
        actor_id, details = (None if c.anonymous else voter_id), None
    uow.audit.record(
        actor_id=actor_id,
        action="consultation.paper_vote" if assisted else "consultation.vote",
        entity="consultation",
        entity_id=c.id,
        details=details,
    )


async def _principal_of(uow: UnitOfWork, person_id: int) -> Principal:
    found = await people.principal_of(uow, person_id)
    if found is None:
        raise NotFound("person", person_id)
    return found


# ------------------------------------------------------------------ closing and deciding


async def _entitled(uow: UnitOfWork, c: Consultation) -> Counter[Actor]:
    seats = await uow.consultations.seats(c.id)
    seated = {s.person_id for s in seats}
    residents = await uow.consultations.residents(await uow.consultations.communities_of(c.id))
    counts: Counter[Actor] = Counter(s.actor for s in seats)
    counts[Actor.RESIDENT] += sum(1 for p in residents if p not in seated)
    return counts


async def close(
    uow: UnitOfWork, principal: Principal, *, consultation_id: int, now: datetime | None = None
) -> Results:
    """After voting (or the discussion) has ended, the worker closes it: results are final."""
    now = now or utcnow()
    async with uow:
        c = await _managed(uow, principal, consultation_id, lock=True)
        if await _phase(uow, c, now) is not Phase.COUNTING:
            raise Conflict("consultation_not_over")
        c.closed_at, c.closed_by = now, principal.person_id
        c.entitled_at_close = {a.value: n for a, n in (await _entitled(uow, c)).items()}
        _audit(uow, principal, "consultation.close", c.id)
        await uow.consultations.flush()
        found = await _results(uow, principal, c, now)
        await uow.commit()
        return found


async def results(
    uow: UnitOfWork, principal: Principal, *, consultation_id: int, now: datetime | None = None
) -> Results:
    """Counts are shown once the consultation is closed (not while people still vote)."""
    now = now or utcnow()
    async with uow:
        c = await _load(uow, consultation_id)
        shown = await _view(uow, principal, c, now, None)
        _check_may_see(shown)
        if shown.phase not in (Phase.CLOSED, Phase.DECIDED):
            raise Conflict("consultation_not_closed")
        return await _results(uow, principal, c, now)


async def _results(
    uow: UnitOfWork, principal: Principal, c: Consultation, now: datetime
) -> Results:
    rows = await uow.consultations.ballots(c.id)
    options = [o.id for o in await uow.consultations.options(c.id)]
    entitled = (
        Counter({Actor(a): n for a, n in c.entitled_at_close.items()})
        if c.entitled_at_close is not None
        else await _entitled(uow, c)
    )
    counted = tally(
        options, (Ballot(option, actor) for option, actor, _ in rows), entitled, c.paper_votes
    )
    named = () if c.anonymous else tuple(await uow.consultations.named_ballots(c.id))
    return Results(
        consultation=await _view(uow, principal, c, now, None),
        tally=counted,
        attended=await uow.consultations.attended(c.id),
        named=named,
    )


async def decide(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    consultation_id: int,
    decision: str,
    texts: tuple[str, str],
    decided_on: date | None = None,
    minutes: str | None = None,
    now: datetime | None = None,
) -> ConsultationView:
    """Record the decision of a closed consultation — a major matter only by the party
    reviewer, with the date and minutes of its meeting — and push the outcome (`texts`) to
    everyone who took part; a linked need gets it as a public note."""
    now = now or utcnow()
    decision = clean(decision, MAX_OPINION, "decision")
    async with uow:
        c = await _load(uow, consultation_id, lock=True)
        if not await _decides(uow, principal, c):
            raise PermissionDenied()
        _record_decision(uow, principal, c, decision, decided_on, minutes, now)
        await uow.consultations.flush()
        shown = await _view(uow, principal, c, now, None)
        communities = await uow.consultations.communities_of(c.id)
        _webhook_event(uow, "consultation.decided", c, communities, now, decision=decision)
        await _notify(uow, principal, shown, AudienceKind.PARTICIPANTS, texts, now)
        told = []
        if shown.need_id is not None:
            told = await needs.note_consultation_outcome(
                uow, need_id=shown.need_id, text=decision, actor_id=principal.person_id, now=now
            )
        await uow.commit()
    await notifier.send(told)
    return shown


def _record_decision(
    uow: UnitOfWork,
    principal: Principal,
    c: Consultation,
    decision: str,
    decided_on: date | None,
    minutes: str | None,
    now: datetime,
) -> None:
    """Once, after closing; a major matter with the date and minutes of its meeting."""
    if c.closed_at is None or c.decided_at is not None:
        raise Conflict("consultation_not_closed" if c.closed_at is None else "decided")
    if c.major and (decided_on is None or not (minutes or "").strip()):
        raise InvalidInput("decision", "date and minutes")
    c.decision, c.decided_by, c.decided_at = decision, principal.person_id, now
    c.decided_on = decided_on
    c.minutes = (minutes or "").strip()[:MAX_BACKGROUND] or None
    _audit(uow, principal, "consultation.decide", c.id, note=decision)
