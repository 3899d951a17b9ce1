"""Typed domain errors. Services raise them; handlers turn each into a translated message."""

from __future__ import annotations


class DomainError(Exception):
    """Base for every error a user can cause and be told about."""


class NotFound(DomainError):
    def __init__(self, what: str, ident: object) -> None:
        super().__init__(f"{what} {ident} not found")
        self.what = what
        self.ident = ident


class PermissionDenied(DomainError):
    """The principal may not do this, in this scope."""


class InvalidInput(DomainError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Conflict(DomainError):
    """The action clashes with the current state (already done, already taken...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
