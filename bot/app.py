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
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.types import Update
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.telegram.emergency_header import EmergencyHeaderRequest, EmergencyUpdateMiddleware
from bot.channels.telegram.notifier import ChatNotifier
from bot.channels.telegram.sender import OutboxSender, ProgressReporter
from bot.channels.webchat import FileStore, RedisWakeups, WebChat, WebChatHub, WebChatSession
from bot.channels.webhooks import WebhookSender
from bot.channels.wechat import (
    WECHAT_BOT_TOKEN,
    ChannelState,
    MemoryState,
    RedisState,
    WeChatChannel,
    WeChatSession,
)
from bot.channels.wechat import chat_id_of as wechat_chat_id
from bot.channels.wechat_api import WeChatApi
from bot.channels.wechat_crypto import Envelope
from bot.channels.wecom import WecomAlertSender
from bot.config import Settings
from bot.domain.enums import Channel
from bot.domain.errors import DomainError, NotFound
from bot.i18n import PersonI18nMiddleware, make_i18n
from bot.limits import MemoryRateStore, RateLimiter, RateStore, RedisRateStore
from bot.middlewares import (
    ChatOrderMiddleware,
    CleanTextMiddleware,
    IdentityMiddleware,
    OutageInbox,
    ReplayGuardMiddleware,
)
from bot.replays import RedisSeenUpdates, SeenUpdates
from bot.services import (
    access_log,
    api_clients,
    attendance,
    certificates,
    dashboards,
    match_profiles,
    needs,
    people,
    shifts,
)
from bot.services.crypto import PersonalDataCipher
from bot.services.identity_cache import IdentityCache
from bot.services.ports import Notifier, RecordingNotifier
from bot.state_storage import (
    ExpiringMemoryStorage,
    SharedConversationStorage,
    expire_unbounded_state,
)
from bot.web import chat as webchat_routes
from bot.web import dashboard as dashboard_routes
from bot.web import dashboard_page, guard, wechat_oauth
from bot.web import verify as verify_routes
from bot.web import wechat as wechat_routes
from bot.web.api import app as api_app
from bot.web.api import core as api
from bot.web.ui import ui_strings
from handlers import ROUTERS
from handlers.common.capabilities import PhotoLibrary
from handlers.common.commands import set_default_commands
from handlers.common.drafts import DestinyKeyBuilder
from handlers.common.questions import QuestionCapture, TurnMiddleware
from handlers.common.routing import GatedDispatcher
from handlers.groups import router as groups
from handlers.timebank import router as timebank
from storage import migrate
from storage.changes import PostgresChanges, RedisChanges
from storage.db import is_outage, make_engine, make_session_factory, reachable, statement_cache
from storage.files import PRIVATE_FILE, create_private_file, private_dir, tighten_mode
from storage.locks import SchedulerLock
from storage.repositories.replays import DatabaseSeenUpdates
from storage.repositories.webchat import SqlTranscripts
from storage.uow import UnitOfWork

log = logging.getLogger("bot")
PROFILE_REBUILD_SECONDS = 3600

WEB_BOT_TOKEN = "1:webchat"
TELEGRAM_WEBHOOK_PATH = "/webhook/telegram"
ready_key = web.AppKey("ready", asyncio.Event)


REDIS_CONNECTIONS = 100  # redis-py's own default per pool
REDIS_WAIT_SECONDS = 10.0


def redis_client(url: str) -> Any:
    """A Redis client whose pool waits for a free connection: redis-py's pool raises "Too many
    connections" at once, and a process with a hundred updates in flight (each taking the
    chat's lock) next to its pub/sub subscriptions (web chat wake-ups, identity changes, each
    holding a connection) ran out."""
    from redis.asyncio import BlockingConnectionPool, Redis

    pool = BlockingConnectionPool.from_url(
        url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_WAIT_SECONDS
    )
    return Redis.from_pool(pool)


def make_storage(settings: Settings) -> BaseStorage:
    if settings.redis_url:
        # Every key expires: a form left open (with its ciphertexts) does not stay forever.
        return SharedConversationStorage(
            redis_client(settings.redis_url),
            key_builder=DestinyKeyBuilder(with_bot_id=True),
            state_ttl=settings.fsm_ttl_seconds,
            data_ttl=settings.fsm_ttl_seconds,
        )
    return ExpiringMemoryStorage(settings.fsm_ttl_seconds)


def chat_order(storage: BaseStorage) -> BaseEventIsolation | None:
    """With Redis, one chat's updates in order across processes (the lock is taken before the
    conversation state is read, and reads it); without it, ChatOrderMiddleware keeps them in
    this process."""
    if isinstance(storage, SharedConversationStorage):
        return storage.chat_order()
    return None


def build_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    i18n: I18n,
    storage: BaseStorage,
    *,
    seen: SeenUpdates | None = None,
    inbox: OutageInbox | None = None,
    isolation: BaseEventIsolation | None = None,
    identities: IdentityCache | None = None,
) -> Dispatcher:
    dispatcher = GatedDispatcher(storage=storage, events_isolation=isolation)
    keep = timedelta(hours=settings.update_ids_keep_hours)
    dispatcher.update.outer_middleware(
        ReplayGuardMiddleware(
            seen if seen is not None else DatabaseSeenUpdates(session_factory, keep),
            frozenset({Channel.TELEGRAM}),
        )
    )
    dispatcher.update.outer_middleware(CleanTextMiddleware())
    if isolation is None:
        dispatcher.update.outer_middleware(ChatOrderMiddleware())
    # In front of the person's middlewares: group talk not for the bot is dropped unread, and
    # a command in a group never makes the group that person's chat (handlers/groups/router.py).
    dispatcher.update.outer_middleware(groups.GroupChatGate())
    dispatcher.update.outer_middleware(
        IdentityMiddleware(
            session_factory,
            settings,
            i18n,
            inbox if inbox is not None else OutageInbox(),
            identities,
        )
    )
    dispatcher.update.outer_middleware(EmergencyUpdateMiddleware())
    dispatcher.update.outer_middleware(TurnMiddleware())
    PersonI18nMiddleware(i18n).setup(dispatcher)
    dispatcher["wecom_api_url"] = settings.wecom_api_url
    # Order matters (handlers/__init__.py): errors first, the catch-all last.
    dispatcher.include_routers(*(table.build() for table in ROUTERS))
    return dispatcher


def secret_key(settings: Settings) -> bytes:
    """SECRET_KEY, or one generated once and kept under ./var so cookies survive restarts."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path("var/secret_key")
    # Owner-only from the first byte (never written and chmod-ed after), var/ too.
    private_dir(path.parent, tighten=True)
    if not create_private_file(path, secrets.token_hex(32).encode()):
        tighten_mode(path, PRIVATE_FILE)
    return path.read_text().strip().encode()


def make_cipher(settings: Settings, secret: bytes) -> PersonalDataCipher:
    """The ID-number cipher the settings choose (ID_CIPHER, ID_KEYS; docs/privacy.md)."""
    return PersonalDataCipher(secret, algorithm=settings.id_cipher, keys=settings.id_key_versions)


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
    wechat: WeChatChannel | None = None
    inbox: OutageInbox = field(default_factory=OutageInbox)
    redis: Any = None
    notifier: Notifier = field(default_factory=RecordingNotifier)
    bots: dict[Channel, Bot] = field(default_factory=dict)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    # Set at shutdown: the background loops finish the round they are in and return, so no
    # transaction is cancelled half-way (a cancelled asyncpg close logs a traceback).
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    identities: IdentityCache | None = None
    # With Redis, or else PostgreSQL: this process's identity changes told to the others,
    # theirs heard.
    identity_changes: RedisChanges | PostgresChanges | None = None
    _stop_announcing: Callable[[], None] | None = None

    def start_identity_sync(self) -> None:
        """From now on every commit of this process that changes someone is announced, and
        what the other processes announce drops their entries here (until `stopping`)."""
        if self.identity_changes is None or self.identities is None:
            return
        self._stop_announcing = self.identity_changes.install()
        listen = self.identity_changes.listen(self.identities.changed, self.stopping)
        self.tasks.append(asyncio.create_task(listen))

    async def close(self) -> None:
        if self._stop_announcing is not None:
            self._stop_announcing()
        await self.webchat.drain()
        if self.wechat is not None:
            await self.wechat.drain()
            await self.wechat.bot.session.close()
        await self.dispatcher.storage.close()
        if self.telegram_bot is not None:
            await self.telegram_bot.session.close()
        if self.redis is not None:
            await self.redis.aclose()
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


def _engine_options(settings: Settings) -> dict[str, Any]:
    if not settings.database_url.startswith("postgresql"):
        return {}
    return {
        "connect_args": statement_cache(settings.database_statement_cache_size),
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_pool_overflow,
    }


# Strong references to aiogram's Response[...] models (see keep_response_types).
_response_types: list[type] = []


def keep_response_types() -> None:
    """aiogram reads every Bot API answer with `Response[<the method's result type>]`, and
    pydantic keeps a parametrized model only while something refers to it (a weak cache):
    each time a garbage collection had freed `Response[Message]`, the next answer built it
    again (milliseconds of schema building, a third of a /mine profile). Built once per
    process, kept, and frozen with the rest of start-up."""
    if _response_types:
        return
    from aiogram import methods
    from aiogram.methods.base import Response

    results: dict[str, Any] = {}
    for name in methods.__all__:
        method = getattr(methods, name)
        returning = getattr(method, "__returning__", None)
        # A few classes compute theirs (a property): they are not parametrized here.
        if (
            isinstance(method, type)
            and returning is not None
            and not isinstance(returning, property)
        ):
            results[repr(returning)] = returning
    parametrize: Any = Response  # the result types are values here, not annotations
    _response_types.extend(parametrize[r] for r in results.values())


def identity_changes(settings: Settings, redis: Any) -> RedisChanges | PostgresChanges | None:
    """Where the processes tell each other who changed: Redis when there is one, else
    PostgreSQL's LISTEN/NOTIFY; SQLite has one process and nothing to tell."""
    if redis is not None:
        return RedisChanges(redis)
    if PostgresChanges.serves(settings.database_url):
        return PostgresChanges(settings.database_url)
    return None


def build(settings: Settings) -> Application:
    keep_response_types()
    engine = make_engine(settings.database_url, **_engine_options(settings))
    session_factory = make_session_factory(engine)
    i18n = make_i18n(settings.default_locale)
    redis = None
    seen: SeenUpdates | None = None
    rate_store: RateStore = MemoryRateStore()
    if settings.redis_url:
        redis = redis_client(settings.redis_url)
        seen = RedisSeenUpdates(redis, int(settings.update_ids_keep_hours * 3600))
        rate_store = RedisRateStore(redis)
    inbox = OutageInbox()
    identities = IdentityCache(settings.identity_seconds)
    storage = make_storage(settings)
    dispatcher = build_dispatcher(
        settings,
        session_factory,
        i18n,
        storage,
        seen=seen,
        inbox=inbox,
        isolation=chat_order(storage),
        identities=identities,
    )
    # Transcripts, menus and files of web chats in the database: nothing lost on restart.
    hub = WebChatHub(SqlTranscripts(session_factory))
    if redis is not None:
        hub.wakeups = RedisWakeups(redis)
    web_bot = Bot(
        WEB_BOT_TOKEN,
        session=WebChatSession(hub),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )

    async def feed_web(bot: Bot, update: Update) -> Any:
        return await dispatcher.feed_update(bot, update, channel=Channel.WEB)

    webchat = WebChat(hub, web_bot, feed_web)

    async def web_locale(external_id: str) -> str | None:
        try:
            return await people.locale_of_account(
                UnitOfWork(session_factory), channel=Channel.WEB, external_id=external_id
            )
        except Exception as error:
            # The page still opens while the database is down (in the browser's language):
            # what is typed there is kept and answered when it is back.
            if is_outage(error):
                return None
            raise

    web_app = web.Application()
    limiter = RateLimiter(rate_store)
    guard.install(
        web_app,
        guard.GuardConfig(
            limits={
                name: settings.limit(name)
                for name in (
                    "chat_session",
                    "chat_address",
                    "poll_session",
                    "new_sessions_address",
                    "verify_address",
                    "dashboard_address",
                )
            },
            origins=frozenset({guard.origin_of(settings.site_url)}),
            public_url_set=settings.public_url is not None,
            trust_forwarded_for=settings.trust_forwarded_for,
            is_outage=is_outage,
        ),
        limiter,
        i18n,
    )
    web_app[webchat_routes.hub_key] = hub
    web_app[webchat_routes.chat_key] = webchat
    web_app[webchat_routes.secret_key] = secret_key(settings)
    web_app[webchat_routes.ui_strings_key] = lambda locale: ui_strings(i18n, locale)
    web_app[webchat_routes.locale_lookup_key] = web_locale
    _page_settings(web_app, session_factory, settings)
    webchat_routes.add_routes(web_app)
    verify_page: verify_routes.VerifyPage = partial(
        _verify_certificate, lambda: UnitOfWork(session_factory), i18n, settings
    )
    web_app[verify_routes.verify_page_key] = verify_page
    verify_routes.add_routes(web_app)
    _dashboard_routes(web_app, session_factory, i18n, settings)
    web_app[ready_key] = asyncio.Event()
    web_app[engine_key] = engine
    web_app.router.add_get("/healthz", _healthz)
    web_app.router.add_get("/livez", _livez)
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
        inbox=inbox,
        redis=redis,
        identities=identities,
        identity_changes=identity_changes(settings, redis),
    )
    bots = {Channel.WEB: web_bot}
    if application.telegram_bot is not None:
        bots[Channel.TELEGRAM] = application.telegram_bot
    application.wechat = wechat_channel(
        settings, dispatcher, web_app, i18n, hub.store, session_factory
    )
    if application.wechat is not None:
        bots[Channel.WECHAT] = application.wechat.bot
    for bot in bots.values():
        # First: it notes the bot's questions before the header is put above them.
        bot.session.middleware(QuestionCapture())
        bot.session.middleware(EmergencyHeaderRequest())
    application.bots = bots
    application.notifier = ChatNotifier(
        lambda: UnitOfWork(session_factory), i18n, bots, settings.tz, settings.default_locale
    )
    dispatcher["notifier"] = application.notifier
    dispatcher["photos"] = PhotoLibrary(bots)
    api_app.mount(
        web_app,
        api.ApiConfig(
            uow=lambda: UnitOfWork(session_factory),
            notifier=lambda: application.notifier,
            token_key=api.token_key(web_app[webchat_routes.secret_key]),
            limit=settings.limit("api_client"),
            limiter=limiter,
            i18n=i18n,
            tz=settings.tz,
            is_outage=is_outage,
            targets=settings.targets,
            kpi_cache_seconds=settings.kpi_cache_seconds,
            cipher=make_cipher(settings, web_app[webchat_routes.secret_key]),
            allow_http_localhost=settings.api_webhook_allow_http_localhost,
        ),
    )
    dispatcher["cipher"] = make_cipher(settings, web_app[webchat_routes.secret_key])
    if application.telegram_bot is not None and settings.webhook_enabled:
        SimpleRequestHandler(
            dispatcher,
            application.telegram_bot,
            secret_token=settings.webhook_secret,
            # With several processes (Redis), Telegram gets its answer only once the update is
            # handled: it sends one chat's next update after that (order across processes),
            # and a process that dies mid-update leaves it to be delivered again.
            handle_in_background=not settings.redis_url,
            channel=Channel.TELEGRAM,
        ).register(web_app, path=TELEGRAM_WEBHOOK_PATH)
    return application


def wechat_channel(
    settings: Settings,
    dispatcher: Dispatcher,
    web_app: web.Application,
    i18n: I18n,
    files: FileStore,
    session_factory: async_sessionmaker[AsyncSession],
) -> WeChatChannel | None:
    """The Official Account channel and its callback URL, when it is configured."""
    if not settings.wechat_enabled:
        return None
    assert settings.wechat_token and settings.wechat_app_id and settings.wechat_app_secret
    state: ChannelState = RedisState(settings.redis_url) if settings.redis_url else MemoryState()
    api = WeChatApi(settings.wechat_api_url, settings.wechat_app_id, settings.wechat_app_secret)
    session = WeChatSession(
        api,
        state,
        settings.wechat_templates,
        files=files,
        photo_max_bytes=settings.webchat_photo_max_bytes,
    )
    bot = Bot(
        WECHAT_BOT_TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )

    async def feed(bot: Bot, update: Update) -> Any:
        return await dispatcher.feed_update(bot, update, channel=Channel.WECHAT)

    channel = WeChatChannel(bot, session, feed, state, i18n)
    envelope = (
        Envelope(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id)
        if settings.wechat_aes_key
        else None
    )
    web_app[wechat_routes.endpoint_key] = wechat_routes.WeChatEndpoint(
        settings.wechat_token,
        settings.wechat_app_id,
        envelope,
        channel,
        settings.wechat_reply_budget_seconds,
    )
    wechat_routes.add_routes(web_app)
    _wechat_oauth(settings, web_app, i18n, api, session_factory)
    session.web_link = wechat_oauth.web_link(settings.site_url)
    return channel


def _wechat_oauth(
    settings: Settings,
    web_app: web.Application,
    i18n: I18n,
    api: WeChatApi,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """WeChat OAuth (snsapi_base) for the web pages: opened from WeChat, signed in."""
    assert settings.wechat_app_id

    async def open_web_as(openid: str, web_chat_id: str) -> str | None:
        return await people.open_web_as(
            UnitOfWork(session_factory),
            channel=Channel.WECHAT,
            external_id=str(wechat_chat_id(openid)),
            web_chat_id=web_chat_id,
        )

    web_app[wechat_oauth.oauth_key] = wechat_oauth.WeChatOAuth(
        settings.wechat_app_id,
        settings.wechat_oauth_url.rstrip("/"),
        settings.site_url + wechat_oauth.CALLBACK_PATH,
        api.oauth_openid,
        open_web_as,
        i18n,
    )
    wechat_oauth.add_routes(web_app)


def _page_settings(
    web_app: web.Application,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """The web page's settings kept on the person (large text), and its upload limit."""

    async def read(chat_id: int) -> dict[str, Any]:
        found = await people.page_settings(
            UnitOfWork(session_factory), channel=Channel.WEB, external_id=str(chat_id)
        )
        return {"large_text": found.large_text}

    async def save(chat_id: int, values: dict[str, Any]) -> dict[str, Any]:
        saved = await people.set_large_text(
            UnitOfWork(session_factory),
            channel=Channel.WEB,
            external_id=str(chat_id),
            display_name=WebChat.user(chat_id, "")["first_name"],
            on=bool(values["large_text"]),
        )
        return {"large_text": saved.large_text}

    web_app[webchat_routes.page_settings_key] = read
    web_app[webchat_routes.save_settings_key] = save
    web_app[webchat_routes.photo_max_key] = settings.webchat_photo_max_bytes


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
        dashboard_page.render_page, make_uow, i18n, settings
    )
    web_app[dashboard_routes.render_key] = render
    dashboard_routes.add_routes(web_app)


engine_key = web.AppKey("engine", AsyncEngine)


async def _healthz(request: web.Request) -> web.Response:
    """200 once start-up is complete (channels connected) and the database answers; 503
    before, and while the database is unreachable (a load balancer sends people elsewhere)."""
    if not request.app[ready_key].is_set():
        return web.json_response({"ok": False, "starting": True}, status=503)
    if not await reachable(request.app[engine_key]):
        return web.json_response({"ok": False, "database": False}, status=503)
    return web.json_response({"ok": True, "database": True})


async def _livez(request: web.Request) -> web.Response:
    """The process alone: 200 while it runs (a restart would not bring the database back)."""
    return web.json_response({"ok": True})


async def run(settings: Settings) -> None:
    """Apply migrations, serve the web chat page, and talk to Telegram when a token is set."""
    await migrate.upgrade(settings.database_url)
    application = build(settings)
    # Before the first update: no commit of this process goes unannounced.
    application.start_identity_sync()
    if expired := await expire_unbounded_state(
        application.dispatcher.storage, settings.fsm_ttl_seconds
    ):
        log.info("Conversation state: %s keys without an expiry now expire", expired)
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
    if application.wechat is None:
        log.info("No WECHAT_TOKEN/WECHAT_APP_ID/WECHAT_APP_SECRET set: WeChat is off.")
    else:
        # The account menu's group names are translated: the default language's context.
        with application.i18n.context(), application.i18n.use_locale(settings.default_locale):
            await set_default_commands(application.wechat.bot, application.i18n)
        mode = "safe mode" if settings.wechat_aes_key else "plaintext mode"
        log.info(
            "WeChat: callback URL %s%s (%s, API %s)",
            settings.site_url,
            wechat_routes.PATH,
            mode,
            settings.wechat_api_url,
        )
    polling: asyncio.Task[None] | None = None
    tg = application.telegram_bot
    if tg is None:
        log.info("No BOT_TOKEN set: serving the web chat page only (Telegram is off).")
    else:
        try:
            await set_default_commands(tg, application.i18n)
            await groups.set_group_commands(tg, application.i18n)
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
    application.tasks.append(asyncio.create_task(webchat_retention_loop(application)))
    if application.hub.wakeups is not None:
        wakeups = application.hub.wakeups.listen(application.hub, application.stopping)
        application.tasks.append(asyncio.create_task(wakeups))
    application.tasks.append(asyncio.create_task(outage_recovery(application)))
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
    application.stopping.set()
    for worker in outbox:
        worker.stopping.set()
    await asyncio.wait(application.tasks, timeout=SHUTDOWN_GRACE_SECONDS)
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


def outbox_tasks(
    application: Application,
) -> list[OutboxSender | ProgressReporter | WecomAlertSender | WebhookSender]:
    """The broadcast sender and the authors' progress messages (several processes may run
    them against one PostgreSQL: rows are claimed with SKIP LOCKED)."""

    def make_uow() -> UnitOfWork:
        return UnitOfWork(application.session_factory)

    args = (make_uow, application.i18n, application.bots, application.settings)
    settings = application.settings
    robots = WecomAlertSender(
        make_uow, application.i18n, make_cipher(settings, secret_key(settings)), settings
    )
    hooks = WebhookSender(make_uow, make_cipher(settings, secret_key(settings)), settings)
    sender = OutboxSender(*args, redis=application.redis)
    return [sender, ProgressReporter(*args), robots, hooks]


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
            return 404, timebank.not_genuine_text(), title
        return 200, timebank.verification_text(found), title


WEBCHAT_PRUNE_SECONDS = 3600


async def webchat_retention_loop(application: Application) -> None:
    """Web chat transcripts older than WEBCHAT_RETENTION_DAYS are deleted, hourly (any number
    of processes may run it: each deletes what is old)."""
    store = application.hub.store
    if not isinstance(store, SqlTranscripts):
        return
    keep = timedelta(days=application.settings.webchat_retention_days)
    while not application.stopping.is_set():
        try:
            gone = await store.prune(datetime.now(UTC) - keep)
            if gone:
                log.info("web chat: %s rows past the retention period deleted", gone)
        except Exception:
            log.exception("web chat retention failed")
        await pause(application.stopping, WEBCHAT_PRUNE_SECONDS)


async def pause(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less when the process is stopping."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)


async def deadline_loop(application: Application) -> None:
    """Reminders, escalations, unconfirmed closures and the matching profiles' rebuild, in one
    process at a time (a PostgreSQL advisory lock; taken over when its holder dies). Their
    marks are in the database, so a restart or a takeover neither repeats nor loses them."""
    interval = application.settings.needs_check_seconds
    uow = UnitOfWork(application.session_factory)
    lock = scheduler_lock(application)
    next_rebuild = 0.0
    try:
        while not application.stopping.is_set():
            if await _is_scheduler(lock):
                next_rebuild = await deadline_round(application, uow, next_rebuild)
            else:
                next_rebuild = 0.0  # when it takes over, it rebuilds the profiles first
            await pause(application.stopping, interval)
    finally:
        await lock.release()
        if lock.engine is not application.engine:
            await lock.engine.dispose()


def scheduler_lock(application: Application) -> SchedulerLock:
    """The lock on PostgreSQL itself (SCHEDULER_DATABASE_URL when DATABASE_URL goes through
    PgBouncer in transaction mode, which cannot keep a session's lock)."""
    url = application.settings.scheduler_database_url
    return SchedulerLock(make_engine(url) if url else application.engine)


async def _is_scheduler(lock: SchedulerLock) -> bool:
    try:
        return await lock.held()
    except Exception as error:
        log.warning("scheduler: the lock could not be checked (%s)", type(error).__name__)
        return False


async def deadline_round(application: Application, uow: UnitOfWork, next_rebuild: float) -> float:
    """One round of the scheduler's checks; when the profiles are next rebuilt."""
    interval = application.settings.needs_check_seconds
    try:
        if time.monotonic() >= next_rebuild:
            # Matching profiles are kept by the services; this catches anything else.
            profiles = await match_profiles.rebuild_all(uow)
            log.info("matching: %s volunteer profiles rebuilt", profiles)
            next_rebuild = time.monotonic() + PROFILE_REBUILD_SECONDS
        await shifts.send_reminders(uow, application.notifier)
        pruned = await access_log.prune(
            uow, keep_days=application.settings.access_log_retention_days
        )
        if pruned:
            log.info("access log: %s entries older than the retention pruned", pruned)
        await api_clients.prune_keys(uow)
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
    return next_rebuild


OUTAGE_PROBE_SECONDS = 2.0


async def outage_recovery(application: Application, probe: float = OUTAGE_PROBE_SECONDS) -> None:
    """Messages kept while the database was down are answered once it is back: a message
    nothing of which was handled goes through the Dispatcher again; one that failed half-way
    is not repeated (it might be done twice) — its sender is asked to send it again."""
    inbox = application.inbox
    while True:
        await inbox.changed.wait()
        while not await reachable(application.engine):  # noqa: ASYNC110 - polls the database
            await asyncio.sleep(probe)
        kept = inbox.take_all()
        log.info("the database is back: answering %s kept messages", len(kept))
        for item in kept:
            try:
                await _answer_kept(application, item)
            except Exception:
                log.exception("a kept message could not be answered")


async def _answer_kept(application: Application, item: Any) -> None:
    message = item.update.message
    user = message.from_user if message is not None else None
    locale = (
        await people.locale_of_account(
            UnitOfWork(application.session_factory),
            channel=item.channel,
            external_id=str(user.id),
        )
        if user is not None
        else None
    ) or application.settings.default_locale
    with application.i18n.context(), application.i18n.use_locale(locale):
        if item.replayable:
            note = _("The service is back. Here is the answer to your message:")
        else:
            note = _("The service is back. Please send your last message again.")
    if message is not None:
        await item.bot.send_message(message.chat.id, note)
    if item.replayable:
        await application.dispatcher.feed_update(item.bot, item.update, channel=item.channel)
