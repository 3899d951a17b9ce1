"""The WeCom group robot sender (企业微信群机器人): workers' alerts as markdown messages.

Alerts are queued by the services (bot/services/alerts.py) with the change that raised them;
this loop claims them (SKIP LOCKED on PostgreSQL, a lease elsewhere), renders them in the
workers' language and posts them. Each robot gets at most WECOM_PER_MINUTE a minute (WeCom
allows 20); errcode 45009 (over the limit) puts the alert back for a minute; network and
server errors back off; other errors are recorded on the alert and logged — with the key's
last four characters only, never the URL.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import aiohttp
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.domain.needs import NeedCategory
from bot.services import UnitOfWork, alerts
from bot.services.crypto import PersonalDataCipher
from handlers.common.texts import CATEGORY_NAMES, local_time

log = logging.getLogger(__name__)

RATE_LIMITED = 45009  # "api freq out of limit": 20 messages a minute per robot
IDLE_SECONDS = 1.0
# A claim outlives the batch it is in (BATCH posts of at most 15 s each), so no other process
# takes an alert this one is still posting.
BATCH = 5
LEASE = timedelta(seconds=180)
MAX_MARKDOWN = 4096  # bytes of UTF-8 WeCom takes in a markdown message

ALERT_TEXTS = {
    "need.urgent": __(
        "**Urgent request** {reference}\n"
        "> Category: {category}\n"
        "> Community: {community}\n"
        "Please open it in the bot's request queue."
    ),
    "need.escalated": __(
        "**Overdue request** {reference}\n"
        "> Community: {community}\n"
        "> Was due by: {due}\n"
        "Nobody has finished it in time: please see to it."
    ),
    "emergency.started": __(
        "**Emergency mode is on** in {place}\n> {description}\nNew requests there are urgent."
    ),
    "broadcast.failed": __(
        "**A broadcast did not reach everyone**: “{title}”\n"
        "> Delivered: {sent}, failed: {failed}\n"
        "See its report in the bot."
    ),
}


def _clean(text: str) -> str:
    """A parameter inside markdown: no markup of its own, one line, not too long."""
    text = " ".join(str(text).split())
    for mark in ("*", "`", "[", "]", "<", ">", "#"):
        text = text.replace(mark, " ")
    return text[:200]


def render(message: str, params: Mapping[str, str | int], locale: str, settings: Settings) -> str:
    """The alert's markdown in the current gettext locale (`locale` picks the *_en names)."""
    values: dict[str, str] = {}
    for key, value in params.items():
        if key.endswith("_en"):
            continue
        if locale == "en" and params.get(f"{key}_en"):
            value = params[f"{key}_en"]
        if key == "category":
            values[key] = str(CATEGORY_NAMES[NeedCategory(str(value))])
        elif key == "due":
            values[key] = local_time(datetime.fromisoformat(str(value)), settings.tz)
        else:
            values[key] = _clean(str(value))
    text = str(ALERT_TEXTS[message]).format(**values)
    return text.encode()[:MAX_MARKDOWN].decode(errors="ignore")


class WecomAlertSender:
    def __init__(
        self,
        make_uow: Callable[[], UnitOfWork],
        i18n: I18n,
        cipher: PersonalDataCipher,
        settings: Settings,
        *,
        idle_seconds: float = IDLE_SECONDS,
        rate_limit_seconds: float = 60.0,
    ) -> None:
        self.make_uow = make_uow
        self.i18n = i18n
        self.cipher = cipher
        self.settings = settings
        self.owner = uuid.uuid4().hex
        self.stopping = asyncio.Event()
        self.idle_seconds = idle_seconds
        self.rate_limit_seconds = rate_limit_seconds
        self.per_minute = settings.wecom_per_minute
        self._sent: dict[int, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._held: dict[int, float] = {}  # robot -> when a 45009's hold ends (monotonic)

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=15)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while not self.stopping.is_set():
                try:
                    if not await self.send_batch(http):
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self.stopping.wait(), self.idle_seconds)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("wecom: the alert sender failed; trying again")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stopping.wait(), 1.0)

    def _room(self, robot_id: int) -> float:
        """0 when the robot may take a message now, else the seconds until it may."""
        sent, now = self._sent[robot_id], time.monotonic()
        held = self._held.get(robot_id, 0.0) - now
        if held > 0:
            return held
        while sent and now - sent[0] >= 60.0:
            sent.popleft()
        return 0.0 if len(sent) < self.per_minute else 60.0 - (now - sent[0])

    async def send_batch(self, http: aiohttp.ClientSession) -> int:
        """Claim the due alerts and post them; the number claimed (0: nothing to do)."""
        now = datetime.now(UTC)
        jobs = await alerts.claim(
            self.make_uow(), self.cipher, owner=self.owner, now=now, lease=LEASE, limit=BATCH
        )
        for job in jobs:
            wait = self._room(job.robot_id)
            if wait:
                await alerts.retry_later(
                    self.make_uow(),
                    job.id,
                    at=now + timedelta(seconds=wait),
                    error="",
                    count=False,
                )
                continue
            await self._send(http, job)
        return len(jobs)

    async def _send(self, http: aiohttp.ClientSession, job: alerts.AlertJob) -> None:
        locale = self.settings.default_locale
        with self.i18n.context(), self.i18n.use_locale(locale):
            text = render(job.message, job.params, locale, self.settings)
        robot = alerts.mask(job.key_tail)
        body = {"msgtype": "markdown", "markdown": {"content": text}}
        self._sent[job.robot_id].append(time.monotonic())
        now = datetime.now(UTC)
        try:
            async with http.post(job.url, json=body) as response:
                if response.status >= 500:
                    raise aiohttp.ClientResponseError(
                        response.request_info, (), status=response.status
                    )
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            backoff = timedelta(seconds=min(5 * 2**job.attempts, 600))
            reason = type(error).__name__
            state = await alerts.retry_later(
                self.make_uow(), job.id, at=now + backoff, error=reason
            )
            log.warning("wecom: alert %s to robot %s: %s (%s)", job.id, robot, reason, state)
            return
        code = int(answer.get("errcode", -1)) if isinstance(answer, dict) else -1
        if code == 0:
            await alerts.delivered(self.make_uow(), job.id, now=now)
            return
        message = str(answer.get("errmsg", "")) if isinstance(answer, dict) else ""
        # errmsg may quote the request: keep only its head, never the URL.
        refusal = f"errcode {code}: {message.split(',')[0][:80]}"
        if code == RATE_LIMITED:
            # Another process (or a person) used the robot up: hold it for a minute.
            self._held[job.robot_id] = time.monotonic() + self.rate_limit_seconds
            await alerts.retry_later(
                self.make_uow(),
                job.id,
                at=now + timedelta(seconds=self.rate_limit_seconds),
                error=refusal,
                count=False,
            )
            log.info("wecom: robot %s is over its limit; alert %s later", robot, job.id)
            return
        await alerts.failed(self.make_uow(), job.id, error=refusal)
        log.warning("wecom: alert %s to robot %s refused: %s", job.id, robot, refusal)
