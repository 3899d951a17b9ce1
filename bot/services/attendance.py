"""Check-in and check-out by location or rotating site code, the service records they produce,
the organiser's confirmation (or adjustment), forgotten check-outs, and correction requests.

Only a confirmed record counts: confirming credits the time bank and points (services.timebank).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.attendance import (
    AWAITING_ORGANISER,
    CHECK_OUT_GRACE,
    MIN_STAY,
    CheckMethod,
    CodeCheck,
    CorrectionStatus,
    RecordStatus,
    Window,
    classify_code,
    code_from_digest,
    code_window,
    distance_m,
    valid_coordinates,
    window_ends,
)
from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.policy import TRIAGE_ROLES
from bot.domain.principal import Principal
from bot.domain.social_work import ShiftKind
from bot.domain.timebank import MAX_CREDIT_MINUTES, hours_text
from bot.domain.volunteers import SignupStatus
from bot.services import match_profiles, timebank, volunteers
from bot.services.crypto import PersonalDataCipher
from bot.services.places import acts_in
from bot.services.ports import Notice, Notifier
from bot.services.views import Named, Page
from storage.models import RecordCorrection, ServiceRecord, Shift, TrainingAttendance
from storage.types import utcnow
from storage.uow import UnitOfWork

PER_PAGE = 5
MAX_REASON = 500


class TooFar(Conflict):
    """The location shared is outside the shift's radius; says how far, so people can tell."""

    def __init__(self, distance: float, radius: int) -> None:
        super().__init__("too_far")
        self.distance_m = distance
        self.radius_m = radius


@dataclass(frozen=True, slots=True)
class RecordView:
    id: int
    shift_id: int
    content: str
    place: str
    community: Named
    status: RecordStatus
    checked_in_at: datetime
    checked_out_at: datetime | None
    minutes: int
    shift_minutes: int
    volunteer_name: str
    volunteer_number: str
    adjustment_reason: str | None
    correction_pending: bool


@dataclass(frozen=True, slots=True)
class Checked:
    """What a check-in or check-out did."""

    record: RecordView
    checked_out: bool
    training: bool = False  # a training session: its hours count at once, as training


@dataclass(frozen=True, slots=True)
class SiteCode:
    shift_id: int
    title: str
    code: str
    valid_until: datetime  # the code is accepted until then (it rotates before)
    payload: str  # the /start payload of the QR deep link


@dataclass(frozen=True, slots=True)
class CorrectionView:
    id: int
    record: RecordView
    minutes: int
    reason: str


async def _view(uow: UnitOfWork, record: ServiceRecord) -> RecordView:
    community = await uow.places.community(record.community_id)
    volunteer = await uow.volunteers.get(record.volunteer_id)
    shift = await uow.shifts.get(record.shift_id)
    assert community is not None and volunteer is not None and shift is not None
    pending = await uow.records.pending_correction(record.id)
    return RecordView(
        id=record.id,
        shift_id=record.shift_id,
        content=record.content,
        place=record.place,
        community=Named(community.id, community.name, community.name_en),
        status=record.status,
        checked_in_at=record.checked_in_at,
        checked_out_at=record.checked_out_at,
        minutes=record.minutes,
        shift_minutes=_window(shift).length_minutes,
        volunteer_name=volunteer.real_name,
        volunteer_number=volunteer.number or "",
        adjustment_reason=record.adjustment_reason,
        correction_pending=pending is not None,
    )


def _window(shift: Shift) -> Window:
    return Window(shift.starts_at, shift.ends_at)


def site_code(cipher: PersonalDataCipher, shift_id: int, window: int) -> str:
    return code_from_digest(cipher.site_code_digest(f"site:{shift_id}:{window}"))


async def _can_organise(uow: UnitOfWork, principal: Principal, community_id: int) -> bool:
    return await acts_in(uow, principal, community_id, TRIAGE_ROLES)


# ---------------------------------------------------------------- volunteers: in and out


async def current_shift(
    uow: UnitOfWork, principal: Principal, *, now: datetime | None = None
) -> tuple[int, str, bool]:
    """The shift the person can check in or out of now: (shift id, title, checked in?)."""
    now = now or utcnow()
    async with uow:
        for signup, shift in await uow.shifts.of_person(principal.person_id, now - CHECK_OUT_GRACE):
            if signup.status is not SignupStatus.CONFIRMED or shift.cancelled_at is not None:
                continue
            checked_in = await _checked_in_now(uow, principal, shift, now)
            if checked_in is not None:
                return shift.id, shift.title, checked_in
        raise Conflict("no_shift_now")


async def _checked_in_now(
    uow: UnitOfWork, principal: Principal, shift: Shift, now: datetime
) -> bool | None:
    """Whether the person is checked in to the shift (False: may check in now); None when
    neither check-in nor check-out is open to them now."""
    window = _window(shift)
    if not (window.check_in_opens <= now < window.check_out_closes):
        return None
    record = await _record_of(uow, shift, principal.person_id)
    if record is None and window.check_in_open(now):
        return False
    if record is not None and record.status is RecordStatus.CHECKED_IN:
        return True
    return None


async def check_by_location(
    uow: UnitOfWork,
    principal: Principal,
    *,
    shift_id: int,
    latitude: float,
    longitude: float,
    check_out: bool,
    now: datetime | None = None,
) -> Checked:
    now = now or utcnow()
    if not valid_coordinates(latitude, longitude):
        raise InvalidInput("location", "range")
    async with uow:
        shift, volunteer_id = await _signed_up_shift(uow, principal, shift_id)
        _check_near(shift, latitude, longitude)
        method = CheckMethod.LOCATION
        return await _in_or_out(uow, principal, shift, volunteer_id, method, now, check_out)


def _check_near(shift: Shift, latitude: float, longitude: float) -> None:
    """Within the shift's radius of its location."""
    if shift.latitude is None or shift.longitude is None:
        raise Conflict("no_location_for_shift")
    distance = distance_m(latitude, longitude, shift.latitude, shift.longitude)
    if distance > shift.radius_m:
        raise TooFar(distance, shift.radius_m)


async def _in_or_out(
    uow: UnitOfWork,
    principal: Principal,
    shift: Shift,
    volunteer_id: int | None,
    method: CheckMethod,
    now: datetime,
    check_out: bool,
) -> Checked:
    if check_out:
        return await _check_out(uow, principal, shift, method, now)
    return await _check_in(uow, principal, shift, volunteer_id, method, now)


async def check_by_code(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    principal: Principal,
    *,
    shift_id: int,
    code: str,
    check_out: bool | None,
    now: datetime | None = None,
) -> Checked:
    """`check_out=None` (a scanned QR): in if not yet checked in, otherwise out."""
    now = now or utcnow()
    _check_site_code(cipher, shift_id, code, now)
    async with uow:
        shift, volunteer_id = await _signed_up_shift(uow, principal, shift_id)
        if check_out is None:
            check_out = await _time_to_leave(uow, principal, shift, now)
        method = CheckMethod.SITE_CODE
        return await _in_or_out(uow, principal, shift, volunteer_id, method, now, check_out)


def _check_site_code(cipher: PersonalDataCipher, shift_id: int, code: str, now: datetime) -> None:
    """The shift's code of now, or of a recent window (see classify_code)."""
    current = code_window(now)
    codes = {w: site_code(cipher, shift_id, w) for w in range(current - 12, current + 1)}
    verdict = classify_code(code, codes, current)
    if verdict is CodeCheck.EXPIRED:
        raise Conflict("site_code_expired")
    if verdict is CodeCheck.WRONG:
        raise InvalidInput("site_code", "wrong")


async def _time_to_leave(
    uow: UnitOfWork, principal: Principal, shift: Shift, now: datetime
) -> bool:
    """A scanned QR checks out someone in long enough (or already out: told so), else in."""
    record = await _record_of(uow, shift, principal.person_id)
    in_long_enough = record is not None and now - record.checked_in_at >= MIN_STAY
    return record is not None and (record.status is not RecordStatus.CHECKED_IN or in_long_enough)


async def _signed_up_shift(
    uow: UnitOfWork, principal: Principal, shift_id: int
) -> tuple[Shift, int | None]:
    """The shift and the volunteer's id (a training session needs no volunteer)."""
    shift = await uow.shifts.get(shift_id, lock=True)
    if shift is None or shift.cancelled_at is not None:
        raise NotFound("shift", shift_id)
    volunteer_id = None
    if shift.kind is not ShiftKind.TRAINING:
        volunteer_id = (await volunteers.verified(uow, principal)).id
    signup = await uow.shifts.signup(shift.id, principal.person_id)
    if signup is None or signup.status is not SignupStatus.CONFIRMED:
        raise Conflict("not_signed_up")
    return shift, volunteer_id


async def _record_of(
    uow: UnitOfWork, shift: Shift, person_id: int
) -> ServiceRecord | TrainingAttendance | None:
    """The person's record of a shift: a service record, or a training attendance."""
    if shift.kind is ShiftKind.TRAINING:
        return await uow.social_work.attendance(shift.id, person_id)
    return await uow.records.of_shift(shift.id, person_id)


async def _check_in(
    uow: UnitOfWork,
    principal: Principal,
    shift: Shift,
    volunteer_id: int | None,
    method: CheckMethod,
    now: datetime,
) -> Checked:
    await _check_may_check_in(uow, principal, shift, now)
    if volunteer_id is None:
        return await _training_in(uow, principal, shift, method, now)
    record = await uow.records.add(
        ServiceRecord(
            shift_id=shift.id,
            person_id=principal.person_id,
            volunteer_id=volunteer_id,
            community_id=shift.community_id,
            content=shift.title,
            place=shift.place,
            status=RecordStatus.CHECKED_IN,
            checked_in_at=now,
            check_in_method=method,
        )
    )
    uow.audit.record(
        actor_id=principal.person_id,
        action=f"record.check_in.{method.value}",
        entity="service_record",
        entity_id=record.id,
    )
    view = await _view(uow, record)
    await uow.commit()
    return Checked(view, checked_out=False)


async def _check_may_check_in(
    uow: UnitOfWork, principal: Principal, shift: Shift, now: datetime
) -> None:
    """Once per shift, and only while check-in is open."""
    existing = await _record_of(uow, shift, principal.person_id)
    if existing is not None:
        if existing.status is RecordStatus.CHECKED_IN:
            raise Conflict("already_checked_in")
        raise Conflict("already_checked_out")
    window = _window(shift)
    if now < window.check_in_opens:
        raise Conflict("too_early")
    if not window.check_in_open(now):
        raise Conflict("shift_over")


async def _check_out(
    uow: UnitOfWork, principal: Principal, shift: Shift, method: CheckMethod, now: datetime
) -> Checked:
    if shift.kind is ShiftKind.TRAINING:
        return await _training_out(uow, principal, shift, method, now)
    record = await _checked_in_record(uow, principal, shift, now)
    window = _window(shift)
    record.checked_out_at, record.check_out_method = now, method
    record.minutes = window.served_minutes(record.checked_in_at, now)
    record.status = RecordStatus.CHECKED_OUT
    uow.audit.record(
        actor_id=principal.person_id,
        action=f"record.check_out.{method.value}",
        entity="service_record",
        entity_id=record.id,
        details={"minutes": record.minutes},
    )
    await uow.records.flush()
    view = await _view(uow, record)
    await uow.commit()
    return Checked(view, checked_out=True)


async def _checked_in_record(
    uow: UnitOfWork, principal: Principal, shift: Shift, now: datetime
) -> ServiceRecord:
    """The person's record of the shift, checked in, while check-out is open."""
    record = await uow.records.of_shift(shift.id, principal.person_id)
    if record is None:
        raise Conflict("not_checked_in")
    if record.status is not RecordStatus.CHECKED_IN:
        raise Conflict("already_checked_out")
    if not _window(shift).check_out_open(now):
        raise Conflict("check_out_closed")
    return record


async def _training_in(
    uow: UnitOfWork, principal: Principal, shift: Shift, method: CheckMethod, now: datetime
) -> Checked:
    attended = await uow.social_work.add(
        TrainingAttendance(
            shift_id=shift.id,
            person_id=principal.person_id,
            community_id=shift.community_id,
            checked_in_at=now,
            check_in_method=method,
        )
    )
    uow.audit.record(
        actor_id=principal.person_id,
        action=f"training.check_in.{method.value}",
        entity="shift",
        entity_id=shift.id,
    )
    view = await _training_view(uow, shift, attended)
    await uow.commit()
    return Checked(view, checked_out=False, training=True)


async def _training_out(
    uow: UnitOfWork, principal: Principal, shift: Shift, method: CheckMethod, now: datetime
) -> Checked:
    """Training minutes count at check-out (no organiser's confirmation, no time-bank credit)."""
    attended = await uow.social_work.attendance(shift.id, principal.person_id)
    if attended is None:
        raise Conflict("not_checked_in")
    if attended.checked_out_at is not None:
        raise Conflict("already_checked_out")
    window = _window(shift)
    if not window.check_out_open(now):
        raise Conflict("check_out_closed")
    attended.checked_out_at, attended.check_out_method = now, method
    attended.minutes = window.served_minutes(attended.checked_in_at, now)
    uow.audit.record(
        actor_id=principal.person_id,
        action=f"training.check_out.{method.value}",
        entity="shift",
        entity_id=shift.id,
        details={"minutes": attended.minutes},
    )
    await uow.social_work.flush()
    view = await _training_view(uow, shift, attended)
    await uow.commit()
    return Checked(view, checked_out=True, training=True)


async def _training_view(uow: UnitOfWork, shift: Shift, attended: TrainingAttendance) -> RecordView:
    community = await uow.places.community(shift.community_id)
    person = await uow.people.get(attended.person_id)
    assert community is not None and person is not None
    return RecordView(
        id=attended.id,
        shift_id=shift.id,
        content=shift.title,
        place=shift.place,
        community=Named(community.id, community.name, community.name_en),
        status=attended.status,
        checked_in_at=attended.checked_in_at,
        checked_out_at=attended.checked_out_at,
        minutes=attended.minutes,
        shift_minutes=_window(shift).length_minutes,
        volunteer_name=person.display_name or "",
        volunteer_number="",
        adjustment_reason=None,
        correction_pending=False,
    )


# ---------------------------------------------------------------- organisers


async def running_shifts(
    uow: UnitOfWork, principal: Principal, *, now: datetime | None = None
) -> list[tuple[int, str, datetime]]:
    """Shifts the organiser can show a site code for: from a day before the start to the end."""
    now = now or utcnow()
    async with uow:
        communities = await uow.places.communities_covered(principal, TRIAGE_ROLES)
        rows = await uow.shifts.around(communities, now)
        return [(s.id, s.title, s.starts_at) for s in rows]


async def site_code_for(
    uow: UnitOfWork,
    cipher: PersonalDataCipher,
    principal: Principal,
    *,
    shift_id: int,
    now: datetime | None = None,
) -> SiteCode:
    now = now or utcnow()
    async with uow:
        shift = await uow.shifts.get(shift_id)
        if shift is None or shift.cancelled_at is not None:
            raise NotFound("shift", shift_id)
        if not await _can_organise(uow, principal, shift.community_id):
            raise PermissionDenied()
        if now >= _window(shift).check_out_closes:
            raise Conflict("shift_over")
        title = shift.title
    window = code_window(now)
    code = site_code(cipher, shift_id, window)
    # Accepted during this window and the next one (see classify_code).
    valid_until = datetime.fromtimestamp(window_ends(window + 1), tz=now.tzinfo)
    return SiteCode(shift_id, title, code, valid_until, f"ci_{shift_id}_{code}")


async def close_forgotten(
    uow: UnitOfWork, notifier: Notifier, *, now: datetime | None = None
) -> int:
    """Still checked in after the grace: closed at the shift's end, flagged for the organiser."""
    now = now or utcnow()
    notices: list[Notice] = []
    organisers: dict[int, tuple[Shift, int]] = {}
    async with uow:
        rows = await uow.records.forgotten(now)
        for record, shift in rows:
            _auto_close(uow, record, shift)
            notices.append(Notice(record.person_id, "record.unconfirmed", {"title": shift.title}))
            _, count = organisers.get(shift.id, (shift, 0))
            organisers[shift.id] = (shift, count + 1)
        await uow.commit()
    for shift, count in organisers.values():
        notices.append(
            Notice(shift.created_by, "records.forgotten", {"title": shift.title, "count": count})
        )
    await notifier.send(notices)
    return len(rows)


def _auto_close(uow: UnitOfWork, record: ServiceRecord, shift: Shift) -> None:
    """Checked out at the shift's end, for the organiser to confirm or adjust."""
    window = _window(shift)
    record.checked_out_at, record.check_out_method = shift.ends_at, CheckMethod.AUTO_CLOSED
    record.minutes = window.served_minutes(record.checked_in_at, shift.ends_at)
    record.status = RecordStatus.UNCONFIRMED
    uow.audit.record(
        actor_id=None, action="record.auto_closed", entity="service_record", entity_id=record.id
    )


async def awaiting(uow: UnitOfWork, principal: Principal, *, page: int = 0) -> Page[RecordView]:
    """Records waiting for the organiser's confirmation in the worker's communities."""
    async with uow:
        communities = await uow.places.communities_covered(principal, TRIAGE_ROLES)
        rows, total = await uow.records.awaiting_in(communities, page * PER_PAGE, PER_PAGE)
        items = tuple([await _view(uow, r) for r in rows])
        return Page(items, max(0, page), PER_PAGE, total)


async def confirm(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    record_id: int,
    minutes: int | None = None,
    reason: str = "",
    points_per_hour: int,
    now: datetime | None = None,
) -> RecordView:
    """Confirm as recorded, or with other minutes and a reason (an adjustment, audited)."""
    now = now or utcnow()
    reason = " ".join(reason.split())[:MAX_REASON]
    async with uow:
        record = await _awaiting_record(uow, principal, record_id)
        recorded = record.minutes
        if minutes is not None:
            await _adjust(uow, record, minutes, reason)
        record.status, record.confirmed_at, record.confirmed_by = (
            RecordStatus.CONFIRMED,
            now,
            principal.person_id,
        )
        await timebank.credit_record(uow, record, now, principal.person_id, points_per_hour)
        uow.audit.record(
            actor_id=principal.person_id,
            action="record.adjust" if minutes is not None else "record.confirm",
            entity="service_record",
            entity_id=record.id,
            details={"recorded": recorded, "minutes": record.minutes, "reason": reason},
        )
        view = await _saved_view(uow, record)
    params: dict[str, str | int] = {"title": view.content, "hours": hours_text(view.minutes)}
    await notifier.send([Notice(record.person_id, "record.confirmed", params)])
    return view


async def _awaiting_record(uow: UnitOfWork, principal: Principal, record_id: int) -> ServiceRecord:
    """The record (locked), if it waits for this organiser's confirmation."""
    record = await uow.records.get(record_id, lock=True)
    if record is None:
        raise NotFound("record", record_id)
    if not await _can_organise(uow, principal, record.community_id):
        raise PermissionDenied()
    if record.status not in AWAITING_ORGANISER:
        raise Conflict("record_not_awaiting")
    return record


async def _adjust(uow: UnitOfWork, record: ServiceRecord, minutes: int, reason: str) -> None:
    """Other minutes than recorded: at most the shift's length, and always with a reason."""
    shift = await uow.shifts.get(record.shift_id)
    assert shift is not None
    if not 0 <= minutes <= _window(shift).length_minutes:
        raise InvalidInput("minutes", "range")
    if not reason:
        raise InvalidInput("reason", "empty")
    record.minutes, record.adjustment_reason = minutes, reason


async def _saved_view(uow: UnitOfWork, record: ServiceRecord) -> RecordView:
    """The record as changed, its volunteer's match profile refreshed, committed."""
    await uow.records.flush()
    view = await _view(uow, record)
    await match_profiles.refresh(uow, (record.person_id,))
    await uow.commit()
    return view


# ---------------------------------------------------------------- corrections


async def my_records(uow: UnitOfWork, principal: Principal, *, page: int = 0) -> Page[RecordView]:
    async with uow:
        rows, total = await uow.records.of_person(principal.person_id, page * PER_PAGE, PER_PAGE)
        items = tuple([await _view(uow, r) for r in rows])
        return Page(items, max(0, page), PER_PAGE, total)


async def request_correction(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    record_id: int,
    minutes: int,
    reason: str,
) -> RecordView:
    reason = " ".join(reason.split())[:MAX_REASON]
    if not reason:
        raise InvalidInput("reason", "empty")
    if not 0 <= minutes <= MAX_CREDIT_MINUTES:
        raise InvalidInput("minutes", "range")
    async with uow:
        record = await _correctable_record(uow, principal, record_id, minutes)
        correction = await uow.records.add_correction(
            RecordCorrection(
                record_id=record.id,
                requested_by=principal.person_id,
                minutes=minutes,
                reason=reason,
                status=CorrectionStatus.PENDING,
            )
        )
        uow.audit.record(
            actor_id=principal.person_id,
            action="record.correction_requested",
            entity="service_record",
            entity_id=record.id,
            details={"correction": correction.id, "minutes": minutes, "reason": reason},
        )
        view = await _view(uow, record)
        recorder = record.confirmed_by
        await uow.commit()
    if recorder is not None:
        await notifier.send(
            [Notice(recorder, "record.correction_requested", {"title": view.content})]
        )
    return view


async def _correctable_record(
    uow: UnitOfWork, principal: Principal, record_id: int, minutes: int
) -> ServiceRecord:
    """The person's own confirmed record (locked), with no correction pending and other minutes."""
    record = await uow.records.get(record_id, lock=True)
    if record is None or record.person_id != principal.person_id:
        raise NotFound("record", record_id)  # someone else's record does not exist for you
    if record.status is not RecordStatus.CONFIRMED:
        raise Conflict("record_not_confirmed")
    if await uow.records.pending_correction(record.id) is not None:
        raise Conflict("correction_pending")
    if minutes == record.minutes:
        raise Conflict("correction_unchanged")
    return record


async def pending_corrections(uow: UnitOfWork, principal: Principal) -> tuple[CorrectionView, ...]:
    async with uow:
        communities = await uow.places.communities_covered(principal, TRIAGE_ROLES)
        rows = await uow.records.pending_corrections_in(communities)
        return tuple(
            [CorrectionView(c.id, await _view(uow, r), c.minutes, c.reason) for c, r in rows]
        )


async def decide_correction(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    correction_id: int,
    approve: bool,
    note: str = "",
    points_per_hour: int,
    now: datetime | None = None,
) -> RecordView:
    """Approving reverses the record's credit and credits the corrected minutes."""
    now = now or utcnow()
    note = " ".join(note.split())[:MAX_REASON]
    if not approve and not note:
        raise InvalidInput("reason", "empty")
    async with uow:
        correction, record = await _pending_correction(uow, principal, correction_id, approve)
        correction.status = CorrectionStatus.APPROVED if approve else CorrectionStatus.REJECTED
        correction.decided_by, correction.decided_at = principal.person_id, now
        correction.decision_note = note or None
        before = record.minutes
        if approve:
            await _apply_correction(uow, principal, correction, record, now, points_per_hour)
        uow.audit.record(
            actor_id=principal.person_id,
            action="record.correction_approved" if approve else "record.correction_rejected",
            entity="service_record",
            entity_id=record.id,
            details={"correction": correction.id, "before": before, "after": record.minutes},
        )
        view = await _saved_view(uow, record)
    message = "record.correction_approved" if approve else "record.correction_rejected"
    params: dict[str, str | int] = {"title": view.content, "hours": hours_text(view.minutes)}
    params["note"] = note or "-"
    await notifier.send([Notice(record.person_id, message, params)])
    return view


async def _pending_correction(
    uow: UnitOfWork, principal: Principal, correction_id: int, approve: bool
) -> tuple[RecordCorrection, ServiceRecord]:
    """The correction and its record (both locked), if this organiser may still decide it."""
    correction = await uow.records.correction(correction_id, lock=True)
    if correction is None:
        raise NotFound("correction", correction_id)
    record = await uow.records.get(correction.record_id, lock=True)
    assert record is not None
    if not await _can_organise(uow, principal, record.community_id):
        raise PermissionDenied()
    if correction.status is not CorrectionStatus.PENDING:
        raise Conflict("correction_decided")
    if approve and record.status is not RecordStatus.CONFIRMED:
        raise Conflict("record_not_confirmed")
    return correction, record


async def _apply_correction(
    uow: UnitOfWork,
    principal: Principal,
    correction: RecordCorrection,
    record: ServiceRecord,
    now: datetime,
    points_per_hour: int,
) -> None:
    """The record's credit reversed, then the corrected minutes credited."""
    memo = f"correction {correction.id}: {correction.reason}"
    await timebank.reverse_record(uow, record, now, principal.person_id, memo)
    record.minutes = correction.minutes
    record.adjustment_reason = correction.reason
    await timebank.credit_record(uow, record, now, principal.person_id, points_per_hour)
