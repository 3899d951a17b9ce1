"""Training sessions (社会工作教育培训, policy 三.(五)): posted as shifts of kind "training"
(shifts.create_shift), signed up for and checked into with the same machinery (shifts.take_place,
attendance's check-in), their minutes counted as training hours per person; and a person's
progress towards the 社工证 share."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.errors import NotFound, PermissionDenied
from bot.domain.policy import TRIAGE_ROLES
from bot.domain.principal import Principal
from bot.domain.social_work import ShiftKind, certified_needed
from bot.domain.volunteers import SignupStatus
from bot.services import shifts
from bot.services.shifts import ShiftView
from bot.services.social_work import CertificateView, certificate_view
from bot.services.views import Named
from storage.models import Shift
from storage.types import utcnow
from storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Progress:
    """A person's training this year and certificates; their community's share."""

    year: int
    training_minutes: int
    certificates: tuple[CertificateView, ...]
    community: Named | None
    workers: int  # community workers of that community
    certified: int  # of them, with a verified certificate
    needed: int  # more certified workers to reach the target share


async def _communities(uow: UnitOfWork, principal: Principal) -> set[int]:
    """Where a person may train: the communities they work in, and their home."""
    found = set(await uow.places.communities_covered(principal, TRIAGE_ROLES))
    found |= {g.scope_id for g in principal.grants if g.organisation_id is not None}
    if principal.home is not None:
        found.add(principal.home.community_id)
    return found


async def upcoming(
    uow: UnitOfWork, principal: Principal, *, now: datetime | None = None
) -> tuple[ShiftView, ...]:
    now = now or utcnow()
    async with uow:
        rows = await uow.social_work.upcoming_training(
            sorted(await _communities(uow, principal)), now
        )
        return tuple([await _session_view(uow, principal, shift, now) for shift in rows])


async def _session_view(
    uow: UnitOfWork, principal: Principal, shift: Shift, now: datetime
) -> ShiftView:
    """A training session, with the person's place on it (none once cancelled)."""
    view = await shifts.describe(uow, shift, now=now)
    signup = await uow.shifts.signup(shift.id, principal.person_id)
    mine = signup.status if signup else None
    return _with_status(view, None if mine is SignupStatus.CANCELLED else mine)


def _with_status(view: ShiftView, status: SignupStatus | None) -> ShiftView:
    return replace(view, my_status=status, fits=True)


async def sign_up(
    uow: UnitOfWork, principal: Principal, *, shift_id: int, now: datetime | None = None
) -> ShiftView:
    """A place (or the wait list) on a training session of a community the person works or
    lives in; a volunteer's registration is not needed."""
    now = now or utcnow()
    async with uow:
        shift = await uow.shifts.get(shift_id, lock=True)
        if shift is None or shift.cancelled_at is not None or shift.kind is not ShiftKind.TRAINING:
            raise NotFound("training", shift_id)
        if shift.community_id not in await _communities(uow, principal):
            raise PermissionDenied()
        status = await shifts.take_place(uow, shift, principal.person_id, now)
        await uow.shifts.flush()
        view = _with_status(await shifts.describe(uow, shift, now=now), status)
        await uow.commit()
        return view


async def progress(
    uow: UnitOfWork,
    principal: Principal,
    *,
    tz: ZoneInfo,
    target_share: float,
    now: datetime | None = None,
) -> Progress:
    now = now or utcnow()
    year = now.astimezone(tz).year
    async with uow:
        minutes = await uow.social_work.training_minutes(
            principal.person_id, datetime(year, 1, 1, tzinfo=tz)
        )
        rows = await uow.social_work.certificates_of(principal.person_id)
        certificates = tuple([await certificate_view(uow, c) for c in rows])
        if principal.home is None:
            return Progress(year, minutes, certificates, None, 0, 0, 0)
        share = await _share(uow, principal.home.community_id, target_share)
        return Progress(year, minutes, certificates, *share)


async def _share(
    uow: UnitOfWork, community_id: int, target_share: float
) -> tuple[Named, int, int, int]:
    """The community, its workers, those certified, and how many more the share needs."""
    community = await uow.places.community(community_id)
    assert community is not None
    workers, certified = await uow.social_work.worker_certificates(community.id)
    needed = certified_needed(workers, certified, target_share)
    return Named(community.id, community.name, community.name_en), workers, certified, needed
