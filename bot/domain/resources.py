"""The resource list (资源清单): what organisations, donors and workers offer. Pure names."""

from __future__ import annotations

from enum import StrEnum

MAX_QUANTITY = 10**9


class ResourceKind(StrEnum):
    GOODS = "goods"
    MONEY = "money"
    SERVICE = "service"
    VENUE = "venue"
    SKILL = "skill"


class ReservationStatus(StrEnum):
    RESERVED = "reserved"
    RELEASED = "released"
