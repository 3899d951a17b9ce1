"""Handlers register on a RouteTable; each Dispatcher builds its own fresh Routers from it.

aiogram attaches a Router to one parent for life, so module-level Routers would allow only
one Dispatcher per process (tests build many, and a second channel bot may need its own)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from inspect import isclass
from typing import Any

from aiogram import Dispatcher, Router
from aiogram.dispatcher.event.bases import UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import CallbackType, FilterObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, TelegramObject

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

    def build(self) -> GatedRouter:
        router = GatedRouter(name=self.name)
        for observer in ("message", "callback_query"):
            gate = Gate.of(f for o, f, _, _ in self._entries if o == observer)
            if gate is not None:
                router.gates[observer] = gate
                router.observers[observer].filter(gate)
        for observer, filters in self._filters:
            router.observers[observer].filter(*filters)
        for observer, filters, kwargs, handler in self._entries:
            router.observers[observer].register(handler, *filters, **kwargs)
        run_sync_filters_inline(router)
        return router


class GatedRouter(Router):
    """A router that says "not mine" before aiogram wraps the event for it: with no
    middleware of its own on that kind of event and a gate that rejects it, the answer is
    the same as aiogram's (its root filter rejects) at a fraction of the cost — a free text
    passes about thirty routers on its way to the fallback."""

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.gates: dict[str, Gate] = {}
        # Before any handler registers: each handler's needs are read as it does.
        self.message = GatedObserver(router=self, event_name="message")
        self.callback_query = GatedObserver(router=self, event_name="callback_query")
        self.observers["message"] = self.message
        self.observers["callback_query"] = self.callback_query

    def rejects(self, update_type: str, event: TelegramObject, raw_state: str | None) -> bool:
        """True when no handler here could take the event and nothing of this router would
        run for it (no sub-router, no outer middleware on that kind of event)."""
        gate = self.gates.get(update_type)
        if gate is None or self.sub_routers:
            return False
        return not len(self.observers[update_type].outer_middleware) and not gate(event, raw_state)

    async def propagate_event(self, update_type: str, event: TelegramObject, **kwargs: Any) -> Any:
        if self.rejects(update_type, event, kwargs.get("raw_state")):
            return UNHANDLED
        return await super().propagate_event(update_type, event, **kwargs)


class GatedObserver(TelegramEventObserver):
    """aiogram's observer that passes over a handler whose needs the event does not meet
    without running its filters: `/mine` was tried on forty-seven handlers before its own,
    each a chain of filter calls, only for the state or the command to say no."""

    def __init__(self, router: Router, event_name: str) -> None:
        super().__init__(router=router, event_name=event_name)
        self.needs: list[Need] = []

    def register(
        self,
        callback: CallbackType,
        *filters: CallbackType,
        flags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> CallbackType:
        registered = super().register(callback, *filters, flags=flags, **kwargs)
        self.needs.append(need_of(filters))
        return registered

    async def trigger(self, event: TelegramObject, **kwargs: Any) -> Any:
        if len(self.needs) != len(self.handlers):  # handlers added behind register's back
            return await super().trigger(event, **kwargs)
        raw_state = kwargs.get("raw_state")
        for handler, need in zip(self.handlers, self.needs, strict=True):
            if not need.met(event, raw_state):
                continue
            # From here on, aiogram's own loop (TelegramEventObserver.trigger).
            kwargs["handler"] = handler
            result, data = await handler.check(event, **kwargs)
            if result:
                kwargs.update(data)
                try:
                    wrapped_inner = self.outer_middleware.wrap_middlewares(
                        self._resolve_middlewares(), handler.call
                    )
                    return await wrapped_inner(event, kwargs)
                except SkipHandler:
                    continue
        return UNHANDLED


class GatedDispatcher(Dispatcher):
    """aiogram's Dispatcher that asks its gated routers "not yours?" before calling each: a
    free text passes about thirty-five of them on its way to the fallback, and each call
    copied the update's whole context (`**kwargs`) only to be told no.

    The answers are kept per shape of event (its kind, the conversation's state, and what
    the gates read of it: the command, the callback's prefix), so the thirty-five gates are
    asked once per shape, not once per update. Routers and their middlewares are fixed once
    the Dispatcher runs (bot/app.py builds them all before the first update)."""

    KEPT_SHAPES = 4096

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._routers_for: dict[tuple[Any, ...], tuple[Router, ...]] = {}
        # What the gates read (command prefixes, callback separators), for so many routers.
        self._read: tuple[int, str, tuple[str, ...]] | None = None

    async def _propagate_event(
        self,
        observer: TelegramEventObserver | None,
        update_type: str,
        event: TelegramObject,
        **kwargs: Any,
    ) -> Any:
        if observer is None or observer.handlers or observer._handler.filters:
            return await super()._propagate_event(observer, update_type, event, **kwargs)
        # The Dispatcher's own observer has no handler or filter here (aiogram's loop would
        # only find that out): straight to the routers that could take it, in their order.
        for router in self._routers(update_type, event, kwargs.get("raw_state")):
            response = await router.propagate_event(update_type=update_type, event=event, **kwargs)
            if response is not UNHANDLED:
                return response
        return UNHANDLED

    def _routers(
        self, update_type: str, event: TelegramObject, raw_state: str | None
    ) -> tuple[Router, ...]:
        shape = self._shape(event)
        key = (update_type, raw_state, shape)
        routers = self._routers_for.get(key) if shape is not None else None
        if routers is None:
            routers = tuple(
                router
                for router in self.sub_routers
                if not (
                    isinstance(router, GatedRouter)
                    and router.rejects(update_type, event, raw_state)
                )
            )
            if shape is not None:
                if len(self._routers_for) >= self.KEPT_SHAPES:
                    self._routers_for.clear()
                self._routers_for[key] = routers
        return routers

    def _shape(self, event: TelegramObject) -> tuple[Any, ...] | None:
        """All that the gates (`Need.met`) read of the event; None: not a kind they read."""
        if self._read is None or self._read[0] != len(self.sub_routers):
            self._read = self._what_gates_read()
            self._routers_for.clear()
        _, prefixes, separators = self._read
        if isinstance(event, Message):
            text = event.text or event.caption
            words = text.split(maxsplit=1) if text else []
            if not text or not words or words[0][0] not in prefixes:
                return ("message", bool(text), bool(words))  # no command could match
            command = words[0][1:].partition("@")[0].casefold()
            return ("message", words[0][0], command)
        if isinstance(event, CallbackQuery):
            data = event.data or ""
            return ("callback", bool(data), *(data.split(sep, 1)[0] for sep in separators))
        return None

    def _what_gates_read(self) -> tuple[int, str, tuple[str, ...]]:
        needs = [
            need
            for router in self.sub_routers
            if isinstance(router, GatedRouter)
            for gate in router.gates.values()
            for need in (*gate.anywhere, *(n for rests in gate.by_state.values() for n in rests))
        ]
        prefixes = "".join({char for need in needs for char in need.command_prefix or ""})
        separators = sorted({need.callback[1] for need in needs if need.callback})
        return len(self.sub_routers), prefixes, tuple(separators)


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


@dataclass(frozen=True, slots=True)
class Need:
    """What an event must have for one handler to possibly match, read off its filters: its
    FSM state (None: any), the first character of a command (None: any text), the command's
    name, casefolded (None: any), the prefix of its callback data (None: any)."""

    states: frozenset[str | None] | None = None
    command_prefix: str | None = None
    callback: tuple[str, str] | None = None
    commands: frozenset[str] | None = None

    def met(self, event: object, raw_state: str | None) -> bool:
        if self.states is not None and raw_state not in self.states:
            return False
        if self.command_prefix is not None:
            text = (event.text or event.caption) if isinstance(event, Message) else None
            if not text:
                return False
            # As aiogram's Command reads it: "/name@bot args" → "/", "name".
            words = text.split(maxsplit=1)
            if words and words[0][0] not in self.command_prefix:
                return False
            if (
                words
                and self.commands is not None
                and words[0][1:].partition("@")[0].casefold() not in self.commands
            ):
                return False
        if self.callback is not None:
            data = event.data if isinstance(event, CallbackQuery) else None
            prefix, separator = self.callback
            if not data or data.split(separator, 1)[0] != prefix:
                return False
        return True


class Gate:
    """A router-level filter that passes an event only if one of the router's handlers could
    match it: a text nobody's state or command fits skips the router at once instead of
    trying each of its handlers' filters (every free text used to try about 180).

    Only necessary conditions are read (the same checks aiogram's State, StateFilter, Command
    and callback-data filters make), so what matches is unchanged."""

    def __init__(self, needs: tuple[Need, ...]) -> None:
        # By state: the rest of what each handler needs, without repeats (most share one).
        by_state: dict[str | None, set[Need]] = {}
        anywhere: set[Need] = set()
        for need in needs:
            rest = Need(None, need.command_prefix, need.callback, need.commands)
            if need.states is None:
                anywhere.add(rest)
            for state in need.states or ():
                by_state.setdefault(state, set()).add(rest)
        self.by_state = {state: tuple(rests) for state, rests in by_state.items()}
        self.anywhere = tuple(anywhere)

    @classmethod
    def of(cls, handlers: Iterable[tuple[Any, ...]]) -> Gate | None:
        needs = tuple(need_of(filters) for filters in handlers)
        if not needs or any(need == Need() for need in needs):
            return None  # some handler takes anything: nothing to skip
        return cls(needs)

    def __call__(self, event: object, raw_state: str | None = None) -> bool:
        for rest in self.by_state.get(raw_state, ()):
            if rest.met(event, raw_state):
                return True
        return any(rest.met(event, raw_state) for rest in self.anywhere)


def need_of(filters: tuple[Any, ...]) -> Need:
    states: frozenset[str | None] | None = None
    command_prefix: str | None = None
    callback: tuple[str, str] | None = None
    commands: frozenset[str] | None = None
    for item in filters:
        if isinstance(item, State | StateFilter):
            allowed = _states_of(item)
            if allowed is not None:
                states = allowed if states is None else states & allowed
        elif isinstance(item, Command):
            command_prefix = item.prefix
            names = _names_of(item)
            if names is not None:
                commands = names if commands is None else commands & names
        elif isinstance(item, CallbackQueryFilter):
            data = item.callback_data
            callback = (data.__prefix__, data.__separator__)
    return Need(states, command_prefix, callback, commands)


def _names_of(command: Command) -> frozenset[str] | None:
    """The command's names, casefolded (a necessary condition with or without ignore_case);
    None when one of them is a pattern."""
    if not all(isinstance(name, str) for name in command.commands):
        return None
    return frozenset(str(name).casefold() for name in command.commands)


def _states_of(item: State | StateFilter) -> frozenset[str | None] | None:
    """The raw states the filter accepts; None when it accepts any."""
    allowed: set[str | None] = set()
    for state in item.states if isinstance(item, StateFilter) else (item,):
        if state is None or isinstance(state, str):
            if state == "*":
                return None
            allowed.add(state)
        elif isinstance(state, State):
            if state.state == "*":
                return None
            allowed.add(state.state)
        elif isinstance(state, StatesGroup) or (isclass(state) and issubclass(state, StatesGroup)):
            group = state if isclass(state) else type(state)
            allowed.update(group.__all_states_names__)
        else:
            return None
    return frozenset(allowed)
