"""The webhook sender: events to the API apps' endpoints, signed per Standard Webhooks.

Each round fans the recorded events out to deliveries (bot/services/webhooks.py), claims the
due ones (SKIP LOCKED on PostgreSQL, a lease elsewhere; one at a time per subscription, so
events arrive in order) and POSTs them with `webhook-id`, `webhook-timestamp` and
`webhook-signature`. A 2xx answer delivers; anything else is tried again with exponential
backoff and jitter until API_WEBHOOK_MAX_ATTEMPTS, then the delivery is marked failed. Logs
name the delivery and the status, never the secret, the URL's query or the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiohttp

from bot.config import Settings
from bot.services import UnitOfWork, webhooks
from bot.services.crypto import PersonalDataCipher

log = logging.getLogger(__name__)

BATCH = 10
IDLE_SECONDS = 1.0


class WebhookSender:
    def __init__(
        self,
        make_uow: Callable[[], UnitOfWork],
        cipher: PersonalDataCipher,
        settings: Settings,
        *,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.make_uow = make_uow
        self.cipher = cipher
        self.settings = settings
        self.owner = uuid.uuid4().hex
        self.stopping = asyncio.Event()
        self.idle_seconds = idle_seconds
        self.timeout = settings.api_webhook_timeout_seconds
        # A claim outlives the batch it is in, so no other process posts what this one is.
        self.lease = timedelta(seconds=max(60.0, 2 * BATCH * self.timeout))

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while not self.stopping.is_set():
                try:
                    if not await self.send_round(http):
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self.stopping.wait(), self.idle_seconds)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("webhooks: the sender failed; trying again")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stopping.wait(), 1.0)

    async def send_round(self, http: aiohttp.ClientSession) -> int:
        """Fan out, claim and post once; the number of events and deliveries handled."""
        events = await webhooks.fan_out(self.make_uow())
        jobs = await webhooks.claim(
            self.make_uow(),
            self.cipher,
            owner=self.owner,
            now=datetime.now(UTC),
            lease=self.lease,
            limit=BATCH,
        )
        for job in jobs:
            await self._post(http, job)
        return events + len(jobs)

    async def _post(self, http: aiohttp.ClientSession, job: webhooks.Job) -> None:
        headers = webhooks.headers(job.secret, job.message_id, int(time.time()), job.body)
        status: int | None = None
        error = ""
        try:
            async with http.post(job.url, data=job.body.encode(), headers=headers) as response:
                status = response.status
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
        except (aiohttp.ClientError, TimeoutError) as failure:
            error = type(failure).__name__
        state = await webhooks.finish(
            self.make_uow(),
            job,
            owner=self.owner,
            now=datetime.now(UTC),
            status=status,
            error=error,
            max_attempts=self.settings.api_webhook_max_attempts,
            base_seconds=self.settings.api_webhook_backoff_seconds,
        )
        if state != "delivered":
            log.warning(
                "webhooks: delivery %s try %s: %s (%s)", job.id, job.attempts + 1, error, state
            )
