"""Shifts: workers post when and where volunteers are needed; verified volunteers sign up,
go on a wait list when it is full (and move up automatically), and cancel before a deadline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.attendance import valid_coordinates
from bot.domain.broadcasts import Topic
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.policy import AREA_READ_ROLES, TRIAGE_ROLES
from bot.domain.principal import Principal
from bot.domain.projects import ProjectState
from bot.domain.social_work import ShiftKind
from bot.domain.volunteers import SignupStatus, Skill, slot_of
from bot.services import volunteers, webhooks
from bot.services.places import area_of, community_row, place_of
from bot.services.ports import Notice, Notifier
from bot.services.views import Named, Page
from storage.models import Shift, ShiftSignup, Volunteer
from storage.types import utcnow
from storage.uow import UnitOfWork

PER_PAGE = 5
PROJECT_SHIFT_STATES = (ProjectState.APPROVED, ProjectState.PUBLISHED, ProjectState.RUNNING)
MAX_CAPACITY = 500
HOUR, DAY = timedelta(hours=1), timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class ShiftView:
    id: int
    title: str
    place: str
    community: Named
    starts_at: datetime
    ends_at: datetime
    capacity: int
    confirmed: int
    waitlisted: int
    skills: tuple[Skill, ...]
    cancel_deadline: datetime
    cancel_hours: int
    latitude: float | None
    longitude: float | None
    # For the viewer: their sign-up, and whether the shift fits their skills and free time.
    my_status: SignupStatus | None = None
    fits: bool = True
    # False once the cancel deadline has passed: a confirmed place is then cancelled only by
    # telling the organiser.
    can_cancel: bool = True


async def _view(
    uow: UnitOfWork,
    shift: Shift,
    viewer: Volunteer | None = None,
    tz: ZoneInfo | None = None,
    now: datetime | None = None,
) -> ShiftView:
    signups = await uow.shifts.signups(shift.id)
    deadline = shift.starts_at - timedelta(hours=shift.cancel_hours)
    community = await uow.places.community(shift.community_id)
    assert community is not None
    mine = next((s for s in signups if viewer and s.person_id == viewer.person_id), None)
    return ShiftView(
        id=shift.id,
        title=shift.title,
        place=shift.place,
        community=Named(community.id, community.name, community.name_en),
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        capacity=shift.capacity,
        confirmed=sum(s.status is SignupStatus.CONFIRMED for s in signups),
        waitlisted=sum(s.status is SignupStatus.WAITLISTED for s in signups),
        skills=tuple(Skill(s) for s in shift.skills if s in Skill._value2member_map_),
        cancel_deadline=deadline,
        cancel_hours=shift.cancel_hours,
        latitude=shift.latitude,
        longitude=shift.longitude,
        my_status=mine.status if mine and mine.status is not SignupStatus.CANCELLED else None,
        fits=_fits(shift, viewer, tz) if viewer else True,
        can_cancel=(now or utcnow()) <= deadline,
    )


async def describe(
    uow: UnitOfWork, shift: Shift, viewer: Volunteer | None = None, now: datetime | None = None
) -> ShiftView:
    """A shift (or training session) as people see it, inside an entered unit of work."""
    return await _view(uow, shift, viewer, now=now)


def _fits(shift: Shift, volunteer: Volunteer, tz: ZoneInfo | None) -> bool:
    local = shift.starts_at.astimezone(tz) if tz else shift.starts_at
    skills_ok = not shift.skills or bool(set(shift.skills) & set(volunteer.skills))
    time_ok = not volunteer.availability or slot_of(local.weekday(), local.hour) in set(
        volunteer.availability
    )
    return skills_ok and time_ok


async def create_shift(
    uow: UnitOfWork,
    principal: Principal,
    *,
    community_id: int,
    title: str,
    place: str,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    skills: Sequence[Skill] = (),
    latitude: float | None = None,
    longitude: float | None = None,
    project_id: int | None = None,
    kind: ShiftKind = ShiftKind.SERVICE,
    now: datetime | None = None,
) -> ShiftView:
    """Post a shift (or training session): a worker of the community, or the project's owners."""
    title, place = _title_and_place(title, place)
    _check_shift(starts_at, ends_at, capacity, latitude, longitude, now or utcnow())
    async with uow:
        await _check_may_post(uow, principal, community_id, project_id)
        shift = await uow.shifts.add(
            Shift(
                community_id=community_id,
                created_by=principal.person_id,
                title=title,
                place=place,
                latitude=latitude,
                longitude=longitude,
                starts_at=starts_at,
                ends_at=ends_at,
                capacity=capacity,
                skills=[s.value for s in skills],
                project_id=project_id,
                kind=kind,
            )
        )
        _audit(uow, principal, f"{kind.value}.create", shift)
        view = await _view(uow, shift)
        await uow.commit()
        return view


def _audit(uow: UnitOfWork, principal: Principal, action: str, shift: Shift) -> None:
    uow.audit.record(
        actor_id=principal.person_id, action=action, entity="shift", entity_id=shift.id
    )


def _title_and_place(title: str, place: str) -> tuple[str, str]:
    title, place = " ".join(title.split())[:200], " ".join(place.split())[:200]
    if not title or not place:
        raise InvalidInput("shift", "title and place")
    return title, place


def _check_shift(
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    latitude: float | None,
    longitude: float | None,
    now: datetime,
) -> None:
    """Starts later, lasts at most a day, room for 1 to MAX_CAPACITY, a location on the map."""
    if starts_at <= now or ends_at <= starts_at or ends_at - starts_at > timedelta(hours=24):
        raise InvalidInput("time", "hours")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise InvalidInput("capacity", "range")
    _check_location(latitude, longitude)


def _check_location(latitude: float | None, longitude: float | None) -> None:
    """No location, or both coordinates and on the map."""
    located = latitude is not None and longitude is not None
    if (latitude is None) != (longitude is None) or (
        located and not valid_coordinates(latitude or 0.0, longitude or 0.0)
    ):
        raise InvalidInput("location", "range")


async def _check_may_post(
    uow: UnitOfWork, principal: Principal, community_id: int, project_id: int | None
) -> None:
    """A project's owner posts its shifts; a worker of the community any other."""
    community = await community_row(uow, community_id)
    if project_id is not None:
        await _check_project_shift(uow, principal, project_id, community_id)
    elif not principal.can_act_in(place_of(community), *TRIAGE_ROLES):
        raise PermissionDenied()


async def announce(
    uow: UnitOfWork, notifier: Notifier, *, shift_id: int, tz: ZoneInfo | None = None
) -> int:
    """Tell the verified volunteers of the shift's community whom it fits (skills and usual
    free time) that it is open, except those who switched the topic "shifts" off in /settings
    and the person who posted it. Returns how many were told."""
    async with uow:
        shift = await uow.shifts.get(shift_id)
        if shift is None or shift.cancelled_at is not None or shift.kind is ShiftKind.TRAINING:
            return 0
        community = await uow.places.community(shift.community_id)
        assert community is not None
        opted_out = await uow.broadcasts.opted_out(Topic.SHIFTS)
        told = [
            v.person_id
            for v in await uow.volunteers.verified_serving(shift.community_id)
            if v.person_id not in opted_out
            and v.person_id != shift.created_by
            and _fits(shift, v, tz)
        ]
        params: dict[str, str | int] = {
            "title": shift.title,
            "place": shift.place,
            "start": shift.starts_at.isoformat(),
            "community": community.name,
            "community_en": community.name_en or "",
        }
    await notifier.send(
        [Notice(person, "shift.new", params, actions=(("shift", shift_id),)) for person in told]
    )
    return len(told)


async def _check_project_shift(
    uow: UnitOfWork, principal: Principal, project_id: int, community_id: int
) -> None:
    project = await uow.projects.get(project_id)
    if project is None:
        raise NotFound("project", project_id)
    owner = project.created_by == principal.person_id or principal.is_superadmin
    owner = owner or any(
        g.organisation_id == project.organisation_id and project.organisation_id is not None
        for g in principal.grants
    )
    if not owner:
        raise PermissionDenied()
    if project.state not in PROJECT_SHIFT_STATES:
        raise Conflict("project_not_recruiting")
    if community_id not in await uow.projects.communities_of(project.id):
        raise PermissionDenied()


async def open_shifts(
    uow: UnitOfWork,
    principal: Principal,
    *,
    page: int = 0,
    tz: ZoneInfo | None = None,
    now: datetime | None = None,
) -> Page[ShiftView]:
    """Upcoming shifts in the communities the volunteer serves, soonest first."""
    now = now or utcnow()
    async with uow:
        volunteer = await volunteers.verified(uow, principal)
        communities = await uow.volunteers.communities_of(volunteer.id)
        rows, total = await uow.shifts.upcoming_in(communities, now, page * PER_PAGE, PER_PAGE)
        items = tuple([await _view(uow, s, volunteer, tz, now) for s in rows])
        return Page(items, max(0, page), PER_PAGE, total)


async def area_shifts(
    uow: UnitOfWork,
    principal: Principal,
    *,
    community_id: int | None = None,
    project_id: int | None = None,
    page: int = 0,
    per_page: int = PER_PAGE,
    now: datetime | None = None,
) -> Page[ShiftView]:
    """Upcoming shifts of the communities the principal reads (of one project if asked),
    soonest first."""
    now = now or utcnow()
    page = max(0, page)
    async with uow:
        communities = await area_of(uow, principal, AREA_READ_ROLES, community_id)
        rows, total = await uow.shifts.upcoming_in(
            communities, now, page * per_page, per_page, project_id=project_id
        )
        items = tuple([await _view(uow, s, now=now) for s in rows])
        return Page(items, page, per_page, total)


async def sign_up(
    uow: UnitOfWork, principal: Principal, *, shift_id: int, now: datetime | None = None
) -> ShiftView:
    """Confirmed while there is room, else on the wait list. The shift row is locked, so two
    volunteers taking the last place at once cannot both get it."""
    now = now or utcnow()
    async with uow:
        volunteer = await volunteers.verified(uow, principal)
        # Read before the shift is locked: every sign-up for it waits while it is.
        communities = await uow.volunteers.communities_of(volunteer.id)
        shift = await uow.shifts.get(shift_id, lock=True)
        if shift is None or shift.cancelled_at is not None or shift.kind is not ShiftKind.SERVICE:
            raise NotFound("shift", shift_id)
        if shift.community_id not in communities:
            raise PermissionDenied()
        await take_place(uow, shift, principal.person_id, now)
        await uow.commit()
    async with uow:  # what the volunteer sees, read once the lock is let go
        return await _view(uow, shift, volunteer, now=now)


async def take_place(uow: UnitOfWork, shift: Shift, person_id: int, now: datetime) -> SignupStatus:
    """Confirmed while there is room, else on the wait list (the caller locked the shift and
    checked who may come). Shared by shifts and training sessions."""
    if shift.starts_at <= now:
        raise Conflict("shift_started")
    signups = await uow.shifts.signups(shift.id)
    existing = next((s for s in signups if s.person_id == person_id), None)
    if existing is not None and existing.status is not SignupStatus.CANCELLED:
        raise Conflict("already_signed_up")
    status = _next_status(shift, signups)
    if existing is None:
        uow.shifts.add_signup(
            ShiftSignup(shift_id=shift.id, person_id=person_id, status=status, created_at=now)
        )
    else:  # signing up again after cancelling: to the back of the queue
        existing.status, existing.created_at, existing.cancelled_at = status, now, None
    uow.audit.record(
        actor_id=person_id, action=f"shift.{status.value}", entity="shift", entity_id=shift.id
    )
    return status


def _next_status(shift: Shift, signups: Sequence[ShiftSignup]) -> SignupStatus:
    """Confirmed while there is room, else on the wait list."""
    confirmed = sum(s.status is SignupStatus.CONFIRMED for s in signups)
    return SignupStatus.CONFIRMED if confirmed < shift.capacity else SignupStatus.WAITLISTED


async def cancel(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    shift_id: int,
    now: datetime | None = None,
) -> ShiftView:
    """Cancel before the deadline; the first on the wait list moves up and is told."""
    now = now or utcnow()
    promoted: ShiftSignup | None = None
    async with uow:
        shift, signup = await _my_signup(uow, principal, shift_id)
        if signup.status is SignupStatus.CONFIRMED:
            promoted = await _free_place(uow, shift, now)
        signup.status, signup.cancelled_at = SignupStatus.CANCELLED, now
        _audit(uow, principal, "shift.cancel", shift)
        await uow.shifts.flush()
        view = await _view(uow, shift)
        await uow.commit()
    if promoted is not None:
        params: dict[str, str | int] = {"title": view.title, "start": view.starts_at.isoformat()}
        await notifier.send([Notice(promoted.person_id, "shift.promoted", params)])
    return view


async def _my_signup(
    uow: UnitOfWork, principal: Principal, shift_id: int
) -> tuple[Shift, ShiftSignup]:
    """The shift (locked) and the person's place on it (confirmed or waiting)."""
    shift = await uow.shifts.get(shift_id, lock=True)
    if shift is None:
        raise NotFound("shift", shift_id)
    signup = await uow.shifts.signup(shift.id, principal.person_id)
    if signup is None or signup.status is SignupStatus.CANCELLED:
        raise NotFound("signup", shift_id)
    return shift, signup


async def _free_place(uow: UnitOfWork, shift: Shift, now: datetime) -> ShiftSignup | None:
    """A confirmed place given up before the deadline: the first waiting moves up (returned)."""
    if now > shift.starts_at - timedelta(hours=shift.cancel_hours):
        raise Conflict("cancel_deadline_passed")
    signups = await uow.shifts.signups(shift.id)
    promoted = next((s for s in signups if s.status is SignupStatus.WAITLISTED), None)
    if promoted is not None:
        promoted.status = SignupStatus.CONFIRMED
    return promoted


async def my_shifts(
    uow: UnitOfWork, principal: Principal, *, now: datetime | None = None
) -> tuple[ShiftView, ...]:
    now = now or utcnow()
    async with uow:
        volunteer = await uow.volunteers.of_person(principal.person_id)
        rows = await uow.shifts.of_person(principal.person_id, now)
        return tuple([await _view(uow, shift, volunteer, now=now) for _, shift in rows])


async def send_reminders(
    uow: UnitOfWork, notifier: Notifier, *, now: datetime | None = None
) -> int:
    """The day before and an hour before, once each (the marks are stored). A sign-up made
    within the last hour gets only the one reminder."""
    now = now or utcnow()
    async with uow:
        notices = await _hour_reminders(uow, now)
        await uow.shifts.flush()
        notices += await _day_reminders(uow, now)
        await uow.commit()
    await notifier.send(notices)
    return len(notices)


async def _hour_reminders(uow: UnitOfWork, now: datetime) -> list[Notice]:
    """The hour before (which stands for the day before too, when that was missed)."""
    notices = []
    for signup, shift in await uow.shifts.due_reminders(now, HOUR, "reminded_hour_at"):
        signup.reminded_hour_at = now
        signup.reminded_day_at = signup.reminded_day_at or now
        notices.append(_reminder(uow, signup, shift, now))
    return notices


async def _day_reminders(uow: UnitOfWork, now: datetime) -> list[Notice]:
    notices = []
    for signup, shift in await uow.shifts.due_reminders(now, DAY, "reminded_day_at"):
        signup.reminded_day_at = now
        notices.append(_reminder(uow, signup, shift, now))
    return notices


def _reminder(uow: UnitOfWork, signup: ShiftSignup, shift: Shift, now: datetime) -> Notice:
    """The volunteer's reminder; an app acting for them hears it too (same transaction)."""
    params = {"title": shift.title, "place": shift.place, "start": shift.starts_at.isoformat()}
    shown = {"id": shift.id, **params, "community_id": shift.community_id}
    webhooks.record(
        uow,
        "shift.reminder",
        {"shift": shown},
        community_id=shift.community_id,
        person_id=signup.person_id,
        at=now,
    )
    return Notice(signup.person_id, "shift.reminder", params)


async def project_shifts(
    uow: UnitOfWork, principal: Principal, *, project_id: int, now: datetime | None = None
) -> tuple[ShiftView, ...]:
    """A project's upcoming shifts, marked for the viewer (their sign-up, whether it fits)."""
    now = now or utcnow()
    async with uow:
        volunteer = await uow.volunteers.of_person(principal.person_id)
        rows = await uow.projects.shifts_of(project_id)
        return tuple([await _view(uow, s, volunteer) for s in rows if s.ends_at > now])
