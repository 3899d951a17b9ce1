"""/stats, /export and /dashboard: the policy's indicators for the unit a worker or admin
covers (community, street or district), as text with two charts, as XLSX and CSV, and as a
web page reached through a one-time link (the page itself: bot/web/dashboard_page.py)."""

from __future__ import annotations

import asyncio
import html
import ipaddress
from urllib.parse import urlsplit

from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.domain.enums import Channel, ScopeLevel
from bot.domain.errors import InvalidInput
from bot.domain.policy import DASHBOARD_ROLES, KPI_VIEW_ROLES
from bot.domain.principal import Principal
from bot.services import UnitOfWork, dashboards, kpis
from bot.services.views import Report
from handlers.common.keyboards import button
from handlers.common.routing import RouteTable
from handlers.common.texts import local_time
from handlers.kpis.callbacks import StatsAction, StatsCb
from handlers.kpis.texts import (
    charts,
    export_csv,
    export_workbook,
    summary_text,
)

router = RouteTable("stats")

COMMANDS = {"stats": StatsAction.SHOW, "export": StatsAction.EXPORT, "dashboard": StatsAction.LINK}
MAX_CHILD_BUTTONS = 20


async def _report(
    uow: UnitOfWork, principal: Principal, settings: Settings, level: ScopeLevel, scope_id: int
) -> Report:
    return await kpis.report(
        uow,
        principal,
        level=level,
        scope_id=scope_id,
        targets=settings.targets,
        tz=settings.tz,
        cache_seconds=settings.kpi_cache_seconds,
    )


@router.message(Command("stats", "export", "dashboard"))
async def stats_command(
    message: Message,
    command: CommandObject,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    channel: Channel | None = None,
) -> None:
    action = COMMANDS[command.command.lower()]
    roles = DASHBOARD_ROLES if action is StatsAction.LINK else KPI_VIEW_ROLES
    found = await kpis.units(uow, principal, roles)
    if not found:
        await message.answer(
            _("The dashboard is for street and district admins.")
            if action is StatsAction.LINK
            else _("Indicators are for community workers and admins.")
        )
        return
    if len(found) == 1:
        await _do(message, principal, uow, settings, action, found[0].level, found[0].id, channel)
        return
    rows = [
        [button(u.name.label(principal.locale), _cb(action, u.level, u.id))] for u in found[:20]
    ]
    await message.answer(
        _("For which area?"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


def _cb(action: StatsAction, level: ScopeLevel, scope_id: int) -> StatsCb:
    return StatsCb(action=action, level=level.value, id=scope_id)


# Every action parses into a StatsAction (an unknown one does not unpack): all are ours.
@router.callback_query(StatsCb.filter())
async def chosen(
    callback: CallbackQuery,
    callback_data: StatsCb,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    channel: Channel | None = None,
) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if callback_data.level not in ScopeLevel._value2member_map_:
        raise InvalidInput("level", callback_data.level)
    level = ScopeLevel(callback_data.level)
    await _do(
        callback.message,
        principal,
        uow,
        settings,
        callback_data.action,
        level,
        callback_data.id,
        channel,
    )


async def _do(
    message: Message,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    action: StatsAction,
    level: ScopeLevel,
    scope_id: int,
    channel: Channel | None = None,
) -> None:
    if action is StatsAction.LINK:
        await _send_link(message, principal, uow, settings, level, scope_id, channel)
        return
    report = await _report(uow, principal, settings, level, scope_id)
    if action is StatsAction.EXPORT:
        await _send_export(message, report, principal.locale, settings)
        return
    await message.answer(summary_text(report, principal.locale, settings.tz))
    targets_png, trend_png = await asyncio.to_thread(charts, report, principal.locale)
    await message.answer_photo(BufferedInputFile(targets_png, "indicators.png"))
    rows = [
        [
            button(
                c.unit.name.label(principal.locale), _cb(StatsAction.SHOW, c.unit.level, c.unit.id)
            )
        ]
        for c in report.children[:MAX_CHILD_BUTTONS]
    ]
    rows.append([button(_("Export XLSX and CSV"), _cb(StatsAction.EXPORT, level, scope_id))])
    await message.answer_photo(
        BufferedInputFile(trend_png, "trend.png"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def _send_export(message: Message, report: Report, locale: str, settings: Settings) -> None:
    name = f"indicators-{report.unit.unit.level.value}-{report.unit.unit.id}"
    book = await asyncio.to_thread(export_workbook, report, locale, settings.tz)
    await message.answer_document(
        BufferedInputFile(book, f"{name}.xlsx"),
        caption=_("Indicators and operations of {unit}, computed at {when}.").format(
            unit=html.escape(report.unit.unit.name.label(locale)),
            when=local_time(report.computed_at, settings.tz),
        ),
    )
    await message.answer_document(BufferedInputFile(export_csv(report, locale), f"{name}.csv"))


async def _send_link(
    message: Message,
    principal: Principal,
    uow: UnitOfWork,
    settings: Settings,
    level: ScopeLevel,
    scope_id: int,
    channel: Channel | None,
) -> None:
    unit = next(
        (
            u
            for u in await kpis.units(uow, principal, DASHBOARD_ROLES)
            if (u.level, u.id) == (level, scope_id)
        ),
        None,
    )
    if unit is None:
        await message.answer(_("The dashboard is for street and district admins."))
        return
    token = await dashboards.create_link(uow, principal, unit=unit)
    link = f"{settings.site_url}/dashboard?t={token}"
    # The address itself, as a link: clickable on the web page and in Telegram, and copyable.
    anchor = f'<a href="{html.escape(link, quote=True)}">{html.escape(link)}</a>'
    keyboard = None
    if channel is Channel.WEB or button_url_allowed(link):
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text=_("📊 Open the dashboard"), url=link)]]
        )
    await message.answer(
        _("Your dashboard link for {unit} (valid 10 minutes, opens once):\n{link}").format(
            unit=html.escape(unit.name.label(principal.locale)), link=anchor
        ),
        reply_markup=keyboard,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


def button_url_allowed(url: str) -> bool:
    """Telegram refuses URL buttons to addresses it cannot reach (localhost, private IPs): the
    link in the text still works there."""
    host = (urlsplit(url).hostname or "").lower()
    if not host or host == "localhost" or host.endswith(".localhost") or "." not in host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True
    return address.is_global
