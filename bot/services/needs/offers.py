"""A volunteer takes a need that matching offered them (the first to accept takes it)."""

from __future__ import annotations

from datetime import datetime

from bot.domain.enums import Role
from bot.domain.errors import Conflict, NotFound
from bot.domain.matching import OfferKind, OfferStatus
from bot.domain.needs import (
    NeedState,
)
from bot.domain.principal import Place, Principal
from bot.domain.volunteers import VolunteerStatus
from bot.services import match_profiles
from bot.services.needs.common import (
    NeedBrief,
    _brief,
    _clock,
    _load,
    _move,
    _tell,
)
from bot.services.ports import Notice, Notifier
from storage.models import Need, NeedOffer
from storage.uow import UnitOfWork


async def _volunteer_on_street(uow: UnitOfWork, person_id: int, place: Place) -> bool:
    """A verified volunteer serving a community of the need's street (the matching scope)."""
    volunteer = await uow.volunteers.of_person(person_id)
    if volunteer is None or volunteer.status is not VolunteerStatus.VERIFIED:
        return False
    for community_id in await uow.volunteers.communities_of(volunteer.id):
        community = await uow.places.community(community_id)
        if community is not None and community.street_id == place.street_id:
            return True
    return False


async def take_offer(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    need_id: int,
    now: datetime | None = None,
) -> NeedBrief:
    """A volunteer accepts a need offered to them; the first to accept takes it (the need row
    is locked), the others are told it is taken, the workers are told who took it."""
    now = _clock(now)
    async with uow:
        need, community, place = await _load(uow, need_id)
        offer = await _open_offer(uow, need, principal.person_id)
        if need.state is NeedState.NEW:
            _move(uow, need, None, NeedState.ACCEPTED, now, "accepted")
        _move(uow, need, principal, NeedState.ASSIGNED, now, "assigned")
        need.assignee_person_id = principal.person_id
        for other in await uow.matching.offers(need.id):
            other.status = OfferStatus.ACCEPTED if other is offer else OfferStatus.LOST
            other.decided_at = now
        notices = await _tell(uow, need) + await _tell_workers(uow, need, place, principal)
        brief = await _brief(uow, need, community)
        await uow.matching.flush()
        await match_profiles.refresh(uow, (principal.person_id,))
        await uow.commit()
    await notifier.send(notices)
    return brief


async def _open_offer(uow: UnitOfWork, need: Need, person_id: int) -> NeedOffer:
    """The person's automatic offer of the need, while nobody has taken the need."""
    offer = await uow.matching.offer(need.id, person_id)
    if offer is None or offer.kind is not OfferKind.AUTO:
        raise NotFound("offer", need.id)
    taken = need.assignee_person_id is not None or need.assignee_organisation_id is not None
    if taken or need.state not in UNASSIGNED or offer.status is not OfferStatus.OFFERED:
        raise Conflict("offer_taken")
    return offer


async def _tell_workers(
    uow: UnitOfWork, need: Need, place: Place, principal: Principal
) -> list[Notice]:
    """The community's workers hear which volunteer took the need."""
    volunteer = await uow.volunteers.of_person(principal.person_id)
    params = {"reference": need.reference, "name": volunteer.real_name if volunteer else ""}
    workers = await uow.grants.people_covering(place, (Role.COMMUNITY_WORKER,))
    return [Notice(p, "need.taken_by_volunteer", params, (("open", need.id),)) for p in workers]


UNASSIGNED = frozenset({NeedState.NEW, NeedState.ACCEPTED, NeedState.REOPENED})
