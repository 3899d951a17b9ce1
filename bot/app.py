"""The composition root: the only module that wires settings, storage, the Dispatcher,
the channels and the web app together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import Update
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.webchat import WebChat, WebChatHub, WebChatSession
from bot.config import Settings
from bot.domain.enums import Channel
from bot.domain.errors import DomainError, NotFound
from bot.i18n import PersonI18nMiddleware, make_i18n
from bot.middlewares import ChatOrderMiddleware, IdentityMiddleware
from bot.services import (
    attendance,
    certificates,
    dashboards,
    match_profiles,
    needs,
    people,
    shifts,
)
from bot.services.crypto import PersonalDataCipher
from bot.services.ports import Notifier, RecordingNotifier
from bot.web import chat as webchat_routes
from bot.web import dashboard as dashboard_routes
from bot.web import verify as verify_routes
from bot.web.ui import ui_strings
from handlers import (
    admin,
    common,
    emergency_signs,
    errors,
    fallback,
    funds,
    hours,
    link,
    needs_resident,
    needs_worker,
    onboarding,
    organisations,
    projects,
    resources,
    rewards,
    spotchecks,
    surveys,
    volunteer_shifts,
    volunteers,
)
from handlers import attendance as attendance_handlers
from handlers import broadcasts as broadcast_handlers
from handlers import consultations as consultation_handlers
from handlers import emergency as emergency_handlers
from handlers import matching as matching_handlers
from handlers import stats as stats_handlers
from handlers.commands import set_default_commands
from handlers.drafts import DestinyKeyBuilder
from handlers.emergency_header import EmergencyHeaderRequest, EmergencyUpdateMiddleware
from handlers.notices import ChatNotifier
from handlers.questions import QuestionCapture, TurnMiddleware
from handlers.sender import OutboxSender, ProgressReporter
from storage import migrate
from storage.db import make_engine, make_session_factory
from storage.uow import UnitOfWork

log = logging.getLogger("bot")
PROFILE_REBUILD_SECONDS = 3600

WEB_BOT_TOKEN = "1:webchat"
TELEGRAM_WEBHOOK_PATH = "/webhook/telegram"
ready_key = web.AppKey("ready", asyncio.Event)


def make_storage(settings: Settings) -> BaseStorage:
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(
            settings.redis_url, key_builder=DestinyKeyBuilder(with_bot_id=True)
        )
    return MemoryStorage()


def build_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    i18n: I18n,
    storage: BaseStorage,
) -> Dispatcher:
    dispatcher = Dispatcher(storage=storage)
    dispatcher.update.outer_middleware(ChatOrderMiddleware())
    dispatcher.update.outer_middleware(IdentityMiddleware(session_factory, settings))
    dispatcher.update.outer_middleware(EmergencyUpdateMiddleware())
    dispatcher.update.outer_middleware(TurnMiddleware())
    PersonI18nMiddleware(i18n).setup(dispatcher)
    # Order matters: commands that work in any state first, the catch-all last.
    dispatcher.include_routers(
        *(
            table.build()
            for table in (
                errors.router,
                # Sees every free text first, answers emergencies, lets the flow go on.
                emergency_signs.router,
                common.router,
                onboarding.router,
                admin.router,
                link.router,
                needs_resident.router,
                needs_worker.router,
                surveys.router,
                volunteers.router,
                volunteer_shifts.router,
                attendance_handlers.router,
                hours.router,
                rewards.router,
                spotchecks.router,
                organisations.router,
                projects.router,
                resources.router,
                funds.router,
                matching_handlers.router,
                broadcast_handlers.router,
                emergency_handlers.router,
                consultation_handlers.router,
                stats_handlers.router,
                fallback.router,
            )
        )
    )
    return dispatcher


def secret_key(settings: Settings) -> bytes:
    """SECRET_KEY, or one generated once and kept under ./var so cookies survive restarts."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path("var/secret_key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


@dataclass
class Application:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    i18n: I18n
    dispatcher: Dispatcher
    hub: WebChatHub
    web_bot: Bot
    webchat: WebChat
    web_app: web.Application
    telegram_bot: Bot | None = None
    notifier: Notifier = field(default_factory=RecordingNotifier)
    bots: dict[Channel, Bot] = field(default_factory=dict)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def close(self) -> None:
        await self.webchat.drain()
        await self.dispatcher.storage.close()
        if self.telegram_bot is not None:
            await self.telegram_bot.session.close()
        await self.engine.dispose()


def telegram_bot(settings: Settings) -> Bot | None:
    if not settings.bot_token:
        return None
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(
        settings.bot_token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def build(settings: Settings) -> Application:
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    i18n = make_i18n(settings.default_locale)
    dispatcher = build_dispatcher(settings, session_factory, i18n, make_storage(settings))
    hub = WebChatHub()
    web_bot = Bot(
        WEB_BOT_TOKEN,
        session=WebChatSession(hub),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )

    async def feed_web(bot: Bot, update: Update) -> Any:
        return await dispatcher.feed_update(bot, update, channel=Channel.WEB)

    webchat = WebChat(hub, web_bot, feed_web)

    async def web_locale(external_id: str) -> str | None:
        return await people.locale_of_account(
            UnitOfWork(session_factory), channel=Channel.WEB, external_id=external_id
        )

    web_app = web.Application()
    web_app[webchat_routes.hub_key] = hub
    web_app[webchat_routes.chat_key] = webchat
    web_app[webchat_routes.secret_key] = secret_key(settings)
    web_app[webchat_routes.ui_strings_key] = lambda locale: ui_strings(i18n, locale)
    web_app[webchat_routes.locale_lookup_key] = web_locale
    webchat_routes.add_routes(web_app)
    verify_page: verify_routes.VerifyPage = partial(
        _verify_certificate, lambda: UnitOfWork(session_factory), i18n, settings
    )
    web_app[verify_routes.verify_page_key] = verify_page
    verify_routes.add_routes(web_app)
    _dashboard_routes(web_app, session_factory, i18n, settings)
    web_app[ready_key] = asyncio.Event()
    web_app.router.add_get("/healthz", _healthz)
    application = Application(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        i18n=i18n,
        dispatcher=dispatcher,
        hub=hub,
        web_bot=web_bot,
        webchat=webchat,
        web_app=web_app,
        telegram_bot=telegram_bot(settings),
    )
    bots = {Channel.WEB: web_bot}
    if application.telegram_bot is not None:
        bots[Channel.TELEGRAM] = application.telegram_bot
    for bot in bots.values():
        # First: it notes the bot's questions before the header is put above them.
        bot.session.middleware(QuestionCapture())
        bot.session.middleware(EmergencyHeaderRequest())
    application.bots = bots
    application.notifier = ChatNotifier(
        lambda: UnitOfWork(session_factory), i18n, bots, settings.tz, settings.default_locale
    )
    dispatcher["notifier"] = application.notifier
    dispatcher["cipher"] = PersonalDataCipher(web_app[webchat_routes.secret_key])
    if application.telegram_bot is not None and settings.webhook_enabled:
        SimpleRequestHandler(
            dispatcher,
            application.telegram_bot,
            secret_token=settings.webhook_secret,
            channel=Channel.TELEGRAM,
        ).register(web_app, path=TELEGRAM_WEBHOOK_PATH)
    return application


def _dashboard_routes(
    web_app: web.Application,
    session_factory: async_sessionmaker[AsyncSession],
    i18n: I18n,
    settings: Settings,
) -> None:
    def make_uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    async def open_link(token: str) -> dashboards.Session | None:
        try:
            return await dashboards.open_link(make_uow(), token=token)
        except DomainError:
            return None

    web_app[dashboard_routes.secret_key] = web_app[webchat_routes.secret_key]
    web_app[dashboard_routes.open_link_key] = open_link
    render: dashboard_routes.RenderPage = partial(
        stats_handlers.render_page, make_uow, i18n, settings
    )
    web_app[dashboard_routes.render_key] = render
    dashboard_routes.add_routes(web_app)


async def _healthz(request: web.Request) -> web.Response:
    """200 once start-up is complete (channels connected), 503 before."""
    if not request.app[ready_key].is_set():
        return web.json_response({"ok": False, "starting": True}, status=503)
    return web.json_response({"ok": True})


async def run(settings: Settings) -> None:
    """Apply migrations, serve the web chat page, and talk to Telegram when a token is set."""
    await migrate.upgrade(settings.database_url)
    application = build(settings)
    # Open long polls of web chat pages must not hold a shutdown up.
    runner = web.AppRunner(
        application.web_app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.web_host, settings.web_port)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else settings.web_port
    log.info("Web chat page: http://%s:%s/", settings.web_host, port)
    await set_default_commands(application.web_bot, application.i18n)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    polling: asyncio.Task[None] | None = None
    tg = application.telegram_bot
    if tg is None:
        log.info("No BOT_TOKEN set: serving the web chat page only (Telegram is off).")
    else:
        try:
            await set_default_commands(tg, application.i18n)
        except TelegramAPIError as error:
            # Not fatal: the menu is a convenience, and polling retries the connection anyway.
            log.warning("Telegram: could not set the command menu (%s)", error)
        if settings.webhook_enabled:
            url = f"{settings.webhook_base_url}{TELEGRAM_WEBHOOK_PATH}"
            await tg.set_webhook(url, secret_token=settings.webhook_secret)
            log.info("Telegram: webhook at %s (API %s)", url, settings.telegram_api_url)
        else:
            await tg.delete_webhook()
            log.info("Telegram: long polling (API %s)", settings.telegram_api_url)
            polling = asyncio.create_task(
                application.dispatcher.start_polling(
                    tg, handle_signals=False, close_bot_session=False, channel=Channel.TELEGRAM
                )
            )
    application.tasks.append(asyncio.create_task(deadline_loop(application)))
    outbox = outbox_tasks(application)
    outbox_running = [asyncio.create_task(worker.run()) for worker in outbox]
    application.tasks.extend(outbox_running)
    # Start-up garbage is frozen once: full collections then skip it (see ARCHITECTURE.md).
    gc.collect()
    gc.freeze()
    application.web_app[ready_key].set()
    log.info("Ready.")
    await stop.wait()
    log.info("Stopping…")
    # The outbox loops finish the send they are in (its row is recorded) and stop; the rest
    # is cancelled after a few seconds at most.
    for worker in outbox:
        worker.stopping.set()
    await asyncio.wait(outbox_running, timeout=SHUTDOWN_GRACE_SECONDS)
    for task in application.tasks:
        task.cancel()
    await asyncio.gather(*application.tasks, return_exceptions=True)
    if polling is not None:
        with contextlib.suppress(RuntimeError):
            await application.dispatcher.stop_polling()
        await polling
    await runner.cleanup()
    await application.close()


SHUTDOWN_GRACE_SECONDS = 5.0


def outbox_tasks(application: Application) -> list[OutboxSender | ProgressReporter]:
    """The broadcast sender and the authors' progress messages (several processes may run
    them against one PostgreSQL: rows are claimed with SKIP LOCKED)."""

    def make_uow() -> UnitOfWork:
        return UnitOfWork(application.session_factory)

    args = (make_uow, application.i18n, application.bots, application.settings)
    return [OutboxSender(*args), ProgressReporter(*args)]


async def _verify_certificate(
    make_uow: Callable[[], UnitOfWork], i18n: I18n, settings: Settings, code: str, locale: str
) -> tuple[int, str, str]:
    """The /verify/<code> page's content, in the reader's language (a fresh unit of work per
    request: requests run concurrently)."""
    with i18n.context(), i18n.use_locale(locale):
        title = _("Volunteer service certificate check")
        try:
            found = await certificates.verify(make_uow(), code=code, tz=settings.tz)
        except NotFound:
            return 404, hours.not_genuine_text(), title
        return 200, hours.verification_text(found), title


async def deadline_loop(application: Application) -> None:
    """Reminders, escalations and unconfirmed closures. Their marks are in the database, so a
    restart neither repeats nor loses them; several processes may run it (rows are locked)."""
    interval = application.settings.needs_check_seconds
    uow = UnitOfWork(application.session_factory)
    next_rebuild = 0.0
    while True:
        try:
            if time.monotonic() >= next_rebuild:
                # Matching profiles are kept by the services; this catches anything else.
                profiles = await match_profiles.rebuild_all(uow)
                log.info("matching: %s volunteer profiles rebuilt", profiles)
                next_rebuild = time.monotonic() + PROFILE_REBUILD_SECONDS
            await shifts.send_reminders(uow, application.notifier)
            closed = await attendance.close_forgotten(uow, application.notifier)
            if closed:
                log.info("attendance: %s forgotten check-outs closed as unconfirmed", closed)
            run = await needs.run_deadlines(
                uow,
                application.notifier,
                reopen_window=timedelta(days=application.settings.reopen_days),
            )
            if run.reminded or run.escalated or run.closed_unconfirmed:
                log.info(
                    "deadlines: %s reminded, %s escalated, %s closed unconfirmed",
                    run.reminded,
                    run.escalated,
                    run.closed_unconfirmed,
                )
        except Exception:
            log.exception("the deadline check failed; trying again in %s s", interval)
        await asyncio.sleep(interval)
