"""Points rewards: organisations, donors and workers stock a catalogue per community;
volunteers redeem points (stock reserved at once, under a row lock); the provider hands the
item over against the volunteer's code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.domain.points import PointsKind, RedemptionStatus, new_handover_code
from bot.domain.policy import STOCKING_ROLES
from bot.domain.principal import Principal
from bot.services import volunteers
from bot.services.places import require_in
from bot.services.ports import Notice, Notifier
from bot.services.views import Page
from storage.models import PointsEntry, Redemption, Reward
from storage.types import utcnow
from storage.uow import UnitOfWork

PER_PAGE = 5
MAX_POINTS = 100_000
MAX_STOCK = 10_000


@dataclass(frozen=True, slots=True)
class RewardView:
    id: int
    title: str
    provider: str
    points: int
    stock: int


@dataclass(frozen=True, slots=True)
class RedemptionView:
    id: int
    code: str
    title: str
    provider: str
    points: int
    status: RedemptionStatus
    balance: int


def _view(reward: Reward) -> RewardView:
    return RewardView(reward.id, reward.title, reward.provider, reward.points, reward.stock)


async def _may_stock(uow: UnitOfWork, principal: Principal, community_id: int) -> None:
    await require_in(uow, principal, community_id, STOCKING_ROLES)


async def add_reward(
    uow: UnitOfWork,
    principal: Principal,
    *,
    community_id: int,
    title: str,
    provider: str,
    points: int,
    stock: int,
) -> RewardView:
    title, provider = " ".join(title.split())[:200], " ".join(provider.split())[:200]
    if not title or not provider:
        raise InvalidInput("reward", "title and provider")
    if not 1 <= points <= MAX_POINTS or not 1 <= stock <= MAX_STOCK:
        raise InvalidInput("number", "range")
    async with uow:
        await _may_stock(uow, principal, community_id)
        reward = await uow.rewards.add(
            Reward(
                community_id=community_id,
                title=title,
                provider=provider,
                points=points,
                stock=stock,
                created_by=principal.person_id,
            )
        )
        uow.audit.record(
            actor_id=principal.person_id,
            action="reward.add",
            entity="reward",
            entity_id=reward.id,
            details={"points": points, "stock": stock},
        )
        view = _view(reward)
        await uow.commit()
        return view


async def catalogue(
    uow: UnitOfWork, principal: Principal, *, page: int = 0
) -> tuple[Page[RewardView], int]:
    """Rewards in the volunteer's communities, and their points balance."""
    async with uow:
        volunteer = await volunteers.verified(uow, principal)
        communities = await uow.volunteers.communities_of(volunteer.id)
        rows, total = await uow.rewards.available_in(communities, page * PER_PAGE, PER_PAGE)
        balance = await uow.points.balance(principal.person_id)
        return Page(tuple(_view(r) for r in rows), max(0, page), PER_PAGE, total), balance


async def redeem(
    uow: UnitOfWork, principal: Principal, *, reward_id: int, now: datetime | None = None
) -> RedemptionView:
    now = now or utcnow()
    async with uow:
        # The volunteer row is the lock that keeps two redemptions from spending points twice.
        volunteer = await volunteers.verified(uow, principal)
        await uow.volunteers.get(volunteer.id, lock=True)
        reward = await _redeemable(uow, volunteer.id, reward_id)
        balance = await uow.points.balance(principal.person_id)
        if balance < reward.points:
            raise Conflict("not_enough_points")
        reward.stock -= 1
        redemption = await uow.rewards.add_redemption(
            Redemption(
                reward_id=reward.id,
                person_id=principal.person_id,
                points=reward.points,
                code=new_handover_code(),
                status=RedemptionStatus.RESERVED,
                created_at=now,
            )
        )
        _book(uow, redemption, -reward.points, PointsKind.REDEEMED, now)
        uow.audit.record(
            actor_id=principal.person_id,
            action="reward.redeem",
            entity="reward",
            entity_id=reward.id,
            details={"redemption": redemption.id, "points": reward.points},
        )
        view = _redemption_view(redemption, reward, balance - reward.points)
        await uow.commit()
        return view


async def _redeemable(uow: UnitOfWork, volunteer_id: int, reward_id: int) -> Reward:
    """The reward (locked), offered in one of the volunteer's communities and in stock."""
    reward = await uow.rewards.get(reward_id, lock=True)
    if reward is None or not reward.active:
        raise NotFound("reward", reward_id)
    if reward.community_id not in await uow.volunteers.communities_of(volunteer_id):
        raise PermissionDenied()
    if reward.stock <= 0:
        raise Conflict("out_of_stock")
    return reward


def _book(
    uow: UnitOfWork, redemption: Redemption, points: int, kind: PointsKind, now: datetime
) -> None:
    """The points a redemption takes (negative) or gives back, in the person's points ledger."""
    uow.points.add(
        PointsEntry(
            person_id=redemption.person_id,
            points=points,
            kind=kind,
            reference=f"redemption:{redemption.id}",
            created_at=now,
        )
    )


def _redemption_view(redemption: Redemption, reward: Reward, balance: int) -> RedemptionView:
    return RedemptionView(
        redemption.id,
        redemption.code,
        reward.title,
        reward.provider,
        redemption.points,
        redemption.status,
        balance,
    )


async def hand_over(
    uow: UnitOfWork,
    notifier: Notifier,
    principal: Principal,
    *,
    code: str,
    now: datetime | None = None,
) -> RedemptionView:
    """The provider confirms the item went to the volunteer who showed this code."""
    now = now or utcnow()
    code = "".join(code.split()).upper()
    async with uow:
        redemption, reward = await _reserved_by_code(uow, principal, code)
        redemption.status = RedemptionStatus.HANDED_OVER
        redemption.handed_over_at, redemption.handed_over_by = now, principal.person_id
        uow.audit.record(
            actor_id=principal.person_id,
            action="reward.hand_over",
            entity="reward",
            entity_id=reward.id,
            details={"redemption": redemption.id},
        )
        balance = await uow.points.balance(redemption.person_id)
        view = _redemption_view(redemption, reward, balance)
        person_id = redemption.person_id
        await uow.commit()
    await notifier.send([Notice(person_id, "reward.handed_over", {"title": view.title})])
    return view


async def _reserved_by_code(
    uow: UnitOfWork, principal: Principal, code: str
) -> tuple[Redemption, Reward]:
    """The reserved redemption (locked) the code names, if this provider may hand it over."""
    redemption = await uow.rewards.redemption_by_code(code, lock=True)
    if redemption is None:
        raise InvalidInput("handover_code", "unknown")
    reward = await uow.rewards.get(redemption.reward_id)
    assert reward is not None
    if reward.created_by != principal.person_id:
        await _may_stock(uow, principal, reward.community_id)
    if redemption.status is RedemptionStatus.CANCELLED:
        raise Conflict("redemption_cancelled")
    if redemption.status is not RedemptionStatus.RESERVED:
        raise Conflict("already_handed_over")
    return redemption, reward


async def my_redemptions(uow: UnitOfWork, principal: Principal) -> tuple[RedemptionView, ...]:
    async with uow:
        balance = await uow.points.balance(principal.person_id)
        return tuple(
            _redemption_view(r, w, balance)
            for r, w in await uow.rewards.redemptions_of(principal.person_id)
        )


async def cancel_redemption(
    uow: UnitOfWork, principal: Principal, *, redemption_id: int, now: datetime | None = None
) -> RedemptionView:
    """The volunteer changes their mind before the hand-over: stock and points come back."""
    now = now or utcnow()
    async with uow:
        volunteer = await uow.volunteers.of_person(principal.person_id)
        if volunteer is not None:
            await uow.volunteers.get(volunteer.id, lock=True)  # the points lock, as in redeem
        redemption = await uow.rewards.redemption(redemption_id, lock=True)
        if redemption is None or redemption.person_id != principal.person_id:
            raise NotFound("redemption", redemption_id)
        if redemption.status is not RedemptionStatus.RESERVED:
            raise Conflict("already_handed_over")
        reward = await uow.rewards.get(redemption.reward_id, lock=True)
        assert reward is not None
        reward.stock += 1
        redemption.status = RedemptionStatus.CANCELLED
        _book(uow, redemption, redemption.points, PointsKind.REFUNDED, now)
        uow.audit.record(
            actor_id=principal.person_id,
            action="reward.cancel",
            entity="reward",
            entity_id=reward.id,
            details={"redemption": redemption.id, "points": redemption.points},
        )
        await uow.rewards.flush()
        view = _redemption_view(redemption, reward, await uow.points.balance(principal.person_id))
        await uow.commit()
        return view
