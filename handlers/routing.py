"""Handlers register on a RouteTable; each Dispatcher builds its own fresh Routers from it.

aiogram attaches a Router to one parent for life, so module-level Routers would allow only
one Dispatcher per process (tests build many, and a second channel bot may need its own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router

Handler = Callable[..., Any]


class RouteTable:
    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: list[tuple[str, tuple[Any, ...], dict[str, Any], Handler]] = []

    def _add(self, observer: str, filters: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        def register(handler: Handler) -> Handler:
            self._entries.append((observer, filters, kwargs, handler))
            return handler

        return register

    def message(self, *filters: Any, **kwargs: Any) -> Any:
        return self._add("message", filters, kwargs)

    def callback_query(self, *filters: Any, **kwargs: Any) -> Any:
        return self._add("callback_query", filters, kwargs)

    def my_chat_member(self, *filters: Any, **kwargs: Any) -> Any:
        return self._add("my_chat_member", filters, kwargs)

    def errors(self, *filters: Any, **kwargs: Any) -> Any:
        return self._add("error", filters, kwargs)

    def build(self) -> Router:
        router = Router(name=self.name)
        for observer, filters, kwargs, handler in self._entries:
            router.observers[observer].register(handler, *filters, **kwargs)
        return router
