"""Frozen results that services return (never ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from math import ceil
from typing import Generic, TypeVar

from bot.domain.enums import Channel, CommunityKind, Role, ScopeLevel
from bot.domain.kpis import Counts, Indicator, Month
from bot.domain.principal import Principal

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 0

    @property
    def has_next(self) -> bool:
        return self.page + 1 < self.pages


@dataclass(frozen=True, slots=True)
class Named:
    """Anything with a Chinese name and an optional English one."""

    id: int
    name: str
    name_en: str | None

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


@dataclass(frozen=True, slots=True)
class CommunityView:
    id: int
    name: str
    name_en: str | None
    code: str
    kind: CommunityKind
    street: Named
    district: Named
    duty_phone: str | None = None

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


@dataclass(frozen=True, slots=True)
class GrantView:
    id: int
    role: Role
    level: ScopeLevel
    scope: Named
    organisation: Named | None
    certified: bool


@dataclass(frozen=True, slots=True)
class AccountView:
    channel: Channel
    chat_id: str


@dataclass(frozen=True, slots=True)
class ProfileView:
    person_id: int
    display_name: str
    locale: str | None
    community: CommunityView | None
    grants: tuple[GrantView, ...]
    accounts: tuple[AccountView, ...]


@dataclass(frozen=True, slots=True)
class Identity:
    principal: Principal
    # False until the person has chosen a language and a community.
    language_chosen: bool
    onboarded: bool


@dataclass(frozen=True, slots=True)
class Unit:
    level: ScopeLevel
    id: int
    name: Named


@dataclass(frozen=True, slots=True)
class UnitFigures:
    unit: Unit
    counts: Counts
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True, slots=True)
class Report:
    unit: UnitFigures
    children: tuple[UnitFigures, ...]  # streets of a district, communities of a street
    communities: tuple[UnitFigures, ...]  # every community inside
    months: tuple[Month, ...]  # oldest first
    year: int
    computed_at: datetime
