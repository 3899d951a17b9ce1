"""Points rewards: /rewards for volunteers (catalogue, redeem, their codes), /newreward for
workers and organisations, /handover <code> for whoever hands the item over."""

from __future__ import annotations

import html
from collections.abc import Sequence

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.policy import STOCKING_ROLES
from bot.domain.principal import Principal
from bot.services import UnitOfWork, places, rewards
from bot.services.ports import Notifier
from bot.services.rewards import RedemptionView, RewardView
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.steps import whole_number
from handlers.rewards.callbacks import RewardAction, RewardCb
from handlers.rewards.states import RewardForm

router = RouteTable("rewards")


def reward_text(view: RewardView) -> str:
    return _("<b>{title}</b> from {provider}: {points} points ({stock} left)").format(
        title=html.escape(view.title),
        provider=html.escape(view.provider),
        points=view.points,
        stock=view.stock,
    )


@router.message(Command("rewards"))
async def catalogue(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    await _send_page(message, principal, uow, 0)


@router.callback_query(RewardCb.filter(F.action == RewardAction.PAGE))
async def catalogue_page(
    callback: CallbackQuery, callback_data: RewardCb, principal: Principal, uow: UnitOfWork
) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await _send_page(callback.message, principal, uow, callback_data.id)


async def _send_held(
    message: Message, balance: int, held: Sequence[RedemptionView], *, offered: bool
) -> None:
    """The points, and the rewards redeemed but not handed over yet (each can be cancelled)."""
    header = [_("You have {points} points.").format(points=balance)]
    for item in held:
        header.append(
            _("Waiting for you: {title} — show code <b>{code}</b> to {provider}.").format(
                title=html.escape(item.title), code=item.code, provider=html.escape(item.provider)
            )
        )
    if not offered:
        header.append(_("No rewards are offered in your communities yet."))
    cancel_rows = [
        [
            button(
                _("Cancel: {title}").format(title=item.title)[:60],
                RewardCb(action=RewardAction.CANCEL, id=item.id),
            )
        ]
        for item in held
    ]
    await message.answer(
        "\n".join(header),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=cancel_rows) if cancel_rows else None,
    )


async def _send_page(message: Message, principal: Principal, uow: UnitOfWork, page: int) -> None:
    listing, balance = await rewards.catalogue(uow, principal, page=page)
    held = await rewards.my_redemptions(uow, principal)
    await _send_held(message, balance, held, offered=bool(listing.items))
    for view in listing.items:
        keyboard = None
        if view.stock > 0 and view.points <= balance:
            keyboard = InlineKeyboardMarkup(
                inline_keyboard=[
                    [button(_("Redeem"), RewardCb(action=RewardAction.REDEEM, id=view.id))]
                ]
            )
        await message.answer(reward_text(view), reply_markup=keyboard)
    if listing.has_next:
        await message.answer(
            _("More rewards:"),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[button("›", RewardCb(action=RewardAction.PAGE, id=page + 1))]]
            ),
        )


@router.callback_query(RewardCb.filter(F.action == RewardAction.REDEEM))
async def redeem(
    callback: CallbackQuery, callback_data: RewardCb, principal: Principal, uow: UnitOfWork
) -> None:
    done = await rewards.redeem(uow, principal, reward_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _(
                "Reserved: {title}. Show the code <b>{code}</b> to {provider} to receive it. "
                "{points} points left."
            ).format(
                title=html.escape(done.title),
                code=done.code,
                provider=html.escape(done.provider),
                points=done.balance,
            )
        )


@router.callback_query(RewardCb.filter(F.action == RewardAction.CANCEL))
async def cancel(
    callback: CallbackQuery, callback_data: RewardCb, principal: Principal, uow: UnitOfWork
) -> None:
    done = await rewards.cancel_redemption(uow, principal, redemption_id=callback_data.id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("Cancelled: {title}. Your {points} points are back; you have {balance}.").format(
                title=html.escape(done.title), points=done.points, balance=done.balance
            )
        )


@router.message(Command("handover"))
async def hand_over(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    principal: Principal,
    uow: UnitOfWork,
    notifier: Notifier,
) -> None:
    await state.clear()
    code = (command.args or "").strip()
    if not code:
        await message.answer(_("Send /handover and the code the volunteer shows you."))
        return
    done = await rewards.hand_over(uow, notifier, principal, code=code)
    await message.answer(
        _("Handed over: {title} ({points} points). Thank you!").format(
            title=html.escape(done.title), points=done.points
        )
    )


# ---------------------------------------------------------------- /newreward


@router.message(Command("newreward"))
async def new_reward(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    await state.clear()
    communities = await places.covered_communities(uow, principal, STOCKING_ROLES)
    if not communities:
        await message.answer(_("Sorry, you are not allowed to do that here."))
        return
    await state.set_state(RewardForm.community)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(c.label(principal.locale), RewardCb(action=RewardAction.COMMUNITY, id=c.id))]
            for c in communities[:30]
        ]
    )
    await message.answer(_("For volunteers of which community? Or /cancel."), reply_markup=keyboard)


@router.callback_query(RewardForm.community, RewardCb.filter(F.action == RewardAction.COMMUNITY))
async def reward_community(
    callback: CallbackQuery, callback_data: RewardCb, state: FSMContext
) -> None:
    await state.update_data(community=callback_data.id)
    await state.set_state(RewardForm.title)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(_("What is the reward? (e.g. 大米 5 斤, a haircut)"))


@router.message(RewardForm.title, F.text)
async def reward_title(message: Message, state: FSMContext) -> None:
    await state.update_data(title=(message.text or "")[:200])
    await state.set_state(RewardForm.provider)
    await message.answer(_("Who provides it, and where is it handed over?"))


@router.message(RewardForm.provider, F.text)
async def reward_provider(message: Message, state: FSMContext) -> None:
    await state.update_data(provider=(message.text or "")[:200])
    await state.set_state(RewardForm.points)
    await message.answer(_("How many points does it cost?"))


@router.message(RewardForm.points, F.text)
async def reward_points(message: Message, state: FSMContext) -> None:
    points = whole_number(message.text, rewards.MAX_POINTS)
    if points is None:
        await message.answer(
            _("Please send a whole number from 1 to {limit}.").format(limit=rewards.MAX_POINTS)
        )
        return
    await state.update_data(points=points)
    await state.set_state(RewardForm.stock)
    await message.answer(_("How many are in stock?"))


@router.message(RewardForm.stock, F.text)
async def reward_stock(
    message: Message, state: FSMContext, principal: Principal, uow: UnitOfWork
) -> None:
    stock = whole_number(message.text, rewards.MAX_STOCK)
    if stock is None:
        await message.answer(
            _("Please send a whole number from 1 to {limit}.").format(limit=rewards.MAX_STOCK)
        )
        return
    data = await state.get_data()
    view = await rewards.add_reward(
        uow,
        principal,
        community_id=data["community"],
        title=data["title"],
        provider=data["provider"],
        points=data["points"],
        stock=stock,
    )
    await state.clear()
    await message.answer(
        _("The reward is offered; volunteers see it with /rewards.") + "\n" + reward_text(view)
    )
