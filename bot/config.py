"""Settings from the environment (and an optional `.env`), validated once at start-up."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain.broadcasts import GROUP_MESSAGES_PER_MINUTE
from bot.domain.enums import Channel
from bot.domain.errors import InvalidInput
from bot.domain.kpis import Targets
from bot.domain.matching import Weights
from bot.domain.needs import NeedCategory
from bot.domain.privacy import parse_id_keys
from bot.limits import Limit

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/wushe.db"
TOKEN_PATTERN = re.compile(r"^\d+:[\w-]+$")
SUPPORTED_LOCALES = ("zh", "en")
# A cache entry is useful for a minute at most: last_seen_at is written once a minute.
IDENTITY_CACHE_WITH_REDIS = 60.0
IDENTITY_CACHE_ALONE = 1.0


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable."""


class Settings(BaseSettings):
    # An empty variable (`DATABASE_URL=` in a .env or the shell) means "not set": the default.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    bot_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = DEFAULT_DATABASE_URL
    # Behind PgBouncer in transaction mode asyncpg may not keep prepared statements: set 0
    # (statements then get unique names and are not cached); 100 is asyncpg's default.
    database_statement_cache_size: int = Field(default=100, ge=0, le=10000)
    # PostgreSQL connections each process keeps open, and how many more it may open for a burst
    # (closed again as soon as they are back: under a hundred updates in flight, 5 + 10 opened
    # and closed a connection every few dozen reads, each a new handshake and statement cache).
    database_pool_size: int = Field(default=15, ge=1, le=1000)
    database_pool_overflow: int = Field(default=0, ge=0, le=1000)
    # The scheduler's advisory lock needs its own session on PostgreSQL itself: set this when
    # DATABASE_URL goes through PgBouncer in transaction mode (default: DATABASE_URL).
    scheduler_database_url: str | None = None
    redis_url: str | None = None
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    webhook_base_url: str | None = None
    webhook_secret: str | None = None
    default_locale: str = "zh"
    timezone: str = "Asia/Shanghai"
    admin_telegram_ids: str = ""
    secret_key: str | None = None
    log_level: str = "INFO"
    needs_check_seconds: float = Field(default=60.0, gt=0)
    reopen_days: int = Field(default=14, ge=1)
    points_per_hour: int = Field(default=10, ge=0, le=1000)
    # JSON overrides of the matching weights, e.g. {"skill": 50, "scope": "community"}.
    match_weights: dict[str, float | str] = Field(default_factory=dict)
    # How long a street's matching candidates are reused (this process forgets them on its
    # own changes); 0 reads them for every request.
    match_cache_seconds: float = Field(default=30.0, ge=0, le=3600)
    # How long who is behind a chat (person, places, grants) is reused without reading. Every
    # change committed through the ORM is seen at once by this process and by every other
    # (announced on a Redis pub/sub channel, or PostgreSQL's LISTEN/NOTIFY without Redis, the
    # CLI's too); unset: 60 s with Redis or PostgreSQL, 1 s on SQLite (where the CLI is a
    # process the bot cannot hear). 0: always read.
    identity_cache_seconds: float | None = Field(default=None, ge=0, le=60)
    # Need categories offered automatically to the best-matched volunteers ("" turns it off).
    auto_offer_categories: str = "community_affairs"
    public_url: str | None = None
    # The policy's targets (DOMAIN.md) a district may set for itself, as JSON, e.g.
    # {"volunteer_share": 0.25}; see bot/domain/kpis.py Targets for the names.
    kpi_targets: dict[str, float] = Field(default_factory=dict)
    # How long computed indicators are reused (each report shows when it was computed).
    kpi_cache_seconds: float = Field(default=300.0, ge=0, le=86400)
    # Broadcast delivery, messages a second per channel (Telegram allows about 30 over all
    # chats); the web page takes more.
    outbox_rate_telegram: float = Field(default=25.0, gt=0, le=1000)
    outbox_rate_web: float = Field(default=100.0, gt=0, le=10000)
    # Posts a minute into one group chat (Telegram allows about 20).
    outbox_group_per_minute: float = Field(default=GROUP_MESSAGES_PER_MINUTE, gt=0, le=60)
    # After this long a claim of a process that stopped is taken over by another (or by the
    # same after a restart), and a row it left half-sent is reported as uncertain.
    outbox_lease_seconds: float = Field(default=120.0, ge=2, le=3600)
    # How often the author's progress message is refreshed.
    outbox_progress_seconds: float = Field(default=3.0, ge=0.2, le=600)
    outbox_rate_wechat: float = Field(default=20.0, gt=0, le=1000)
    # WeChat Official Account (服务号): on when the token, app id and secret are set.
    wechat_token: str | None = None
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = None
    wechat_aes_key: str | None = Field(default=None, min_length=43, max_length=43)
    wechat_api_url: str = "https://api.weixin.qq.com"
    # WeChat's OAuth authorize page (snsapi_base: web pages opened signed in from WeChat).
    wechat_oauth_url: str = "https://open.weixin.qq.com"
    # WeCom group robots (企业微信群机器人) for workers' alerts: their webhooks' base (a robot
    # URL must be on it) and the pace per robot (WeCom allows 20 messages a minute).
    wecom_api_url: str = "https://qyapi.weixin.qq.com"
    wecom_per_minute: int = Field(default=20, ge=1, le=20)
    # Webhooks out to the API apps (docs/api.md; not Telegram's webhook above): endpoints
    # are https; plain http to localhost only when this is on (tests, a developer's machine).
    api_webhook_allow_http_localhost: bool = False
    api_webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # After this many tries a delivery is marked failed (backoff doubles from the base, with
    # jitter, up to an hour).
    api_webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    api_webhook_backoff_seconds: float = Field(default=5.0, ge=0, le=3600)
    # WeChat drops a callback after 5 s: answer passively within this, else send it later.
    wechat_reply_budget_seconds: float = Field(default=4.0, gt=0, le=4.5)
    # Template messages outside the 48-hour window: notice kind → template id (JSON object),
    # e.g. {"need.state": "tmpl-id"}; a kind without a template waits for the person.
    wechat_templates: dict[str, str] = Field(default_factory=dict)
    # Conversation (FSM) state — an open form — is forgotten this long after its last change.
    fsm_ttl_seconds: int = Field(default=86400, ge=60, le=30 * 86400)
    # The cipher new ID numbers are sealed with (aes, or sm4 for commercial-crypto rules), and
    # extra key versions "2=secret,3=secret" (version 1 is SECRET_KEY; the highest seals).
    id_cipher: str = "aes"
    id_keys: str = ""
    # How long the access log (unmasked ID reads, exports, actions on someone's behalf) is
    # kept: at least six months.
    access_log_retention_days: int = Field(default=183, ge=183, le=3650)
    # Web chat transcripts (and the files in them) older than this are deleted; each chat
    # keeps its last 500 events in any case.
    webchat_retention_days: int = Field(default=90, ge=1, le=3650)
    # The largest photo a person may upload on the web chat page, in bytes.
    webchat_photo_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    # Rate limits, COUNT/SECONDS (0/1 turns one off); see docs/security.md.
    rate_chat_session: str = "20/10"
    rate_chat_address: str = "150/10"
    rate_poll_session: str = "300/60"
    rate_new_sessions_address: str = "20/60"
    rate_verify_address: str = "30/60"
    rate_dashboard_address: str = "30/60"
    rate_api_client: str = "120/60"
    # Behind a reverse proxy, the client address is the last X-Forwarded-For entry.
    trust_forwarded_for: bool = False
    # How long processed Telegram update ids are kept (a redelivery within it is dropped).
    update_ids_keep_hours: float = Field(default=24.0, gt=0, le=24 * 30)

    @field_validator(
        "bot_token",
        "redis_url",
        "scheduler_database_url",
        "webhook_base_url",
        "webhook_secret",
        "secret_key",
        "public_url",
        "wechat_token",
        "wechat_app_id",
        "wechat_app_secret",
        "wechat_aes_key",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator(
        "rate_chat_session",
        "rate_chat_address",
        "rate_poll_session",
        "rate_new_sessions_address",
        "rate_verify_address",
        "rate_dashboard_address",
        "rate_api_client",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        Limit.parse(value)
        return value

    def limit(self, name: str) -> Limit:
        """A rate limit by its setting's name without the prefix, e.g. "chat_session"."""
        return Limit.parse(str(getattr(self, f"rate_{name}")))

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: str | None) -> str | None:
        if value is not None and not TOKEN_PATTERN.match(value):
            raise ValueError("must look like 123456:ABC-DEF (the token @BotFather gave you)")
        return value

    @field_validator("telegram_api_url", "webhook_base_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("database_url", "scheduler_database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://", "postgresql://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        if value.startswith("postgresql://"):
            value = "postgresql+asyncpg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis:// or rediss://")
        return value

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not a known time zone such as Asia/Shanghai") from None
        return value

    @field_validator("admin_telegram_ids")
    @classmethod
    def _admin_ids(cls, value: str) -> str:
        for part in value.replace(" ", "").split(","):
            if part and not part.lstrip("-").isdigit():
                raise ValueError("must be Telegram user ids separated by commas, e.g. 12345,67890")
        return value

    @property
    def admin_ids(self) -> frozenset[int]:
        return frozenset(int(p) for p in self.admin_telegram_ids.replace(" ", "").split(",") if p)

    @property
    def identity_seconds(self) -> float:
        """IDENTITY_CACHE_SECONDS, or its default: long only when every writer is heard."""
        if self.identity_cache_seconds is not None:
            return self.identity_cache_seconds
        heard = self.redis_url or self.database_url.startswith("postgresql")
        return IDENTITY_CACHE_WITH_REDIS if heard else IDENTITY_CACHE_ALONE

    @property
    def webhook_enabled(self) -> bool:
        return self.webhook_base_url is not None

    @field_validator("id_cipher")
    @classmethod
    def _id_cipher(cls, value: str) -> str:
        if value.lower() not in ("aes", "sm4"):
            raise ValueError("must be aes or sm4")
        return value.lower()

    @field_validator("id_keys")
    @classmethod
    def _id_keys(cls, value: str) -> str:
        parse_id_keys(value)
        return value

    @field_validator("kpi_targets")
    @classmethod
    def _targets(cls, value: dict[str, float]) -> dict[str, float]:
        try:
            Targets(**value)  # type: ignore[arg-type]
        except TypeError as error:
            raise ValueError(f"unknown target ({error})") from None
        return value

    @field_validator("match_weights")
    @classmethod
    def _weights(cls, value: dict[str, float | str]) -> dict[str, float | str]:
        try:
            Weights.with_overrides(dict(value))
        except (InvalidInput, ValueError) as error:
            raise ValueError(f"unknown name or bad value ({error})") from None
        return value

    @field_validator("auto_offer_categories")
    @classmethod
    def _categories(cls, value: str) -> str:
        names = [p for p in value.replace(" ", "").split(",") if p]
        unknown = [n for n in names if n not in NeedCategory._value2member_map_]
        if unknown:
            raise ValueError(f"unknown categories {unknown}; use {[c.value for c in NeedCategory]}")
        return value

    @property
    def id_key_versions(self) -> dict[int, bytes]:
        return parse_id_keys(self.id_keys)

    @property
    def targets(self) -> Targets:
        return Targets(**self.kpi_targets)  # type: ignore[arg-type]

    @property
    def weights(self) -> Weights:
        return Weights.with_overrides(dict(self.match_weights))

    @property
    def auto_offer(self) -> frozenset[NeedCategory]:
        return frozenset(
            NeedCategory(p) for p in self.auto_offer_categories.replace(" ", "").split(",") if p
        )

    def outbox_rate(self, channel: Channel) -> float:
        if channel is Channel.TELEGRAM:
            return self.outbox_rate_telegram
        return self.outbox_rate_wechat if channel is Channel.WECHAT else self.outbox_rate_web

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_token and self.wechat_app_id and self.wechat_app_secret)

    @property
    def site_url(self) -> str:
        """Where people reach the web pages (certificate checks, the chat page)."""
        if self.public_url:
            return self.public_url
        host = "localhost" if self.web_host in ("0.0.0.0", "::") else self.web_host
        return f"http://{host}:{self.web_port}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def sqlite_path(self) -> Path | None:
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url.removeprefix(prefix))
        return None


def load_settings(**overrides: object) -> Settings:
    """Load settings; a bad value raises ConfigError with a one-line, variable-naming message."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "settings"
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{variable} {reason}") from None
    if settings.webhook_enabled and not settings.webhook_secret:
        raise ConfigError("WEBHOOK_SECRET must be set when WEBHOOK_BASE_URL is set")
    if settings.webhook_enabled and not settings.bot_token:
        raise ConfigError("BOT_TOKEN must be set when WEBHOOK_BASE_URL is set")
    wechat = (settings.wechat_token, settings.wechat_app_id, settings.wechat_app_secret)
    if any(wechat) and not all(wechat):
        raise ConfigError("WECHAT_TOKEN, WECHAT_APP_ID and WECHAT_APP_SECRET are set together")
    return settings
