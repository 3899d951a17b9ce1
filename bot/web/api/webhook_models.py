"""Bodies of the webhook subscription routes (pydantic): validation and the OpenAPI schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from bot.web.api.models import Strict

EventType = Literal[
    "request.status_changed",
    "request.note_added",
    "shift.reminder",
    "broadcast.sent",
    "consultation.opened",
    "consultation.decided",
]


class WebhookIn(Strict):
    url: Annotated[str, Field(min_length=8, max_length=500, description="https://…")]
    events: Annotated[list[EventType], Field(min_length=1, max_length=6)]


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[EventType]
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(
        description="The signing secret (whsec_…), shown this once: keep it to verify "
        "the webhook-signature header."
    )


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: int
    message_id: str = Field(description="The webhook-id header: the same on every retry.")
    event_type: EventType
    state: Literal["queued", "delivered", "failed"]
    attempts: int
    last_status: int | None
    last_error: str
    next_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
