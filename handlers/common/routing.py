"""Handlers register on a RouteTable; each Dispatcher builds its own fresh Routers from it.

aiogram attaches a Router to one parent for life, so module-level Routers would allow only
one Dispatcher per process (tests build many, and a second channel bot may need its own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject

Handler = Callable[..., Any]


class RouteTable:
    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: list[tuple[str, tuple[Any, ...], dict[str, Any], Handler]] = []
        self._filters: list[tuple[str, tuple[Any, ...]]] = []

    def filter(self, observer: str, *filters: Any) -> None:
        """Router-level filters of one observer ("message", "callback_query", …): no handler
        of this table sees an event they reject."""
        self._filters.append((observer, filters))

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
        for observer, filters in self._filters:
            router.observers[observer].filter(*filters)
        for observer, filters, kwargs, handler in self._entries:
            router.observers[observer].register(handler, *filters, **kwargs)
        run_sync_filters_inline(router)
        return router


def run_sync_filters_inline(router: Router) -> None:
    """aiogram runs every synchronous filter (each `F.…` magic filter too) in a worker thread
    (`asyncio.to_thread`): dozens of thread hops per update for checks that take microseconds.
    Ours are pure and quick, so they run inline; async filters are left as they are."""
    for observer in router.observers.values():
        for handler in [observer._handler, *observer.handlers]:
            for filter_object in handler.filters or ():
                _inline(filter_object)
    for child in router.sub_routers:
        run_sync_filters_inline(child)


def _inline(filter_object: FilterObject) -> None:
    if filter_object.awaitable:
        return
    check = filter_object.callback

    async def check_inline(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    # The parameters the filter takes were read from the original at registration.
    filter_object.callback = check_inline
    filter_object.awaitable = True
