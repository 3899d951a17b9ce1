"""Route tables: synchronous filters run inline, not in a worker thread; each router has a
gate that skips it for what none of its handlers could take."""

from __future__ import annotations

import re
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Dispatcher, F, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BotCommand, CallbackQuery, Chat, Message, TelegramObject, User

from handlers.common.routing import GatedDispatcher, RouteTable


def message(text: str) -> Message:
    return Message(
        message_id=1,
        date=datetime.now(UTC),
        chat=Chat(id=7, type="private"),
        from_user=User(id=7, is_bot=False, first_name="A"),
        text=text,
    )


async def test_sync_filters_run_in_the_event_loops_thread_and_still_filter() -> None:
    threads: list[int] = []
    answered: list[str] = []

    def is_hello(event: Message) -> bool:
        threads.append(threading.get_ident())
        return event.text == "hello"

    table = RouteTable("test")
    table.filter("message", F.chat.type == "private")

    @table.message(is_hello, F.text.len() > 1)
    async def hello(event: Message) -> None:
        answered.append(str(event.text))

    dispatcher = Dispatcher()
    dispatcher.include_router(table.build())
    for text in ("hello", "bye"):
        await dispatcher.propagate_event("message", message(text))
    assert answered == ["hello"]
    assert threads == [threading.get_ident()] * 2


# ---------------------------------------------------------------- the gates


class Form(StatesGroup):
    first = State()
    second = State()


class Other(StatesGroup):
    only = State()


class Pick(CallbackData, prefix="pick"):
    id: int


def tap(data: str) -> CallbackQuery:
    return CallbackQuery(
        id="1", from_user=User(id=7, is_bot=False, first_name="A"), chat_instance="7", data=data
    )


FILTERS: list[tuple[Any, ...]] = [
    (Form.first,),
    (StateFilter(Form),),
    (StateFilter(Form.second, None),),
    (StateFilter(Other, "*"),),
    (Command("need"),),
    (Command("need", prefix="/!"), Form.first),
    (Command("start"), StateFilter(None)),
    (Pick.filter(),),
    (Pick.filter(F.id > 3), Other.only),
    (Command("need", "mine"),),
    (Command("Need", ignore_case=True),),
    (Command("mine"), Command("need", "mine")),
    (CommandStart(),),
    (CommandStart(deep_link=True), StateFilter(None)),
    (Command(re.compile(r"ne+d")),),
    (Command(BotCommand(command="mine", description="mine")),),
]
STATES = [None, Form.first.state, Form.second.state, Other.only.state, "elsewhere:x"]
EVENTS: list[Message | CallbackQuery] = [
    message("/need"),
    message("  /need@bot now"),
    message("!need"),
    message("need"),
    message("/start x"),
    message("/start"),
    message("/mine"),
    message("/Mine@bot"),
    message("/NEED"),
    message("/needs"),
    message("/neeed x"),
    message("/mine@otherbot"),
    message("我想问一下"),
    message(""),
    tap("pick:4"),
    tap("pick:1"),
    tap("pickx:4"),
    tap("other:4"),
]


async def answered(router: Router, event: Message | CallbackQuery, raw_state: str | None) -> bool:
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    kind = "message" if isinstance(event, Message) else "callback_query"
    result = await dispatcher.propagate_event(kind, event, raw_state=raw_state, bot=_Bot())
    return result is not UNHANDLED


def _case_id(filters: tuple[Any, ...]) -> str:
    """A stable id (a magic filter's repr carries its address, which differs per process)."""
    return re.sub(r" at 0x[0-9a-f]+", "", "+".join(map(str, filters)))


@pytest.mark.parametrize("filters", FILTERS, ids=_case_id)
async def test_a_gated_router_answers_exactly_what_aiograms_own_router_answers(
    filters: tuple[Any, ...],
) -> None:
    """The gate reads only necessary conditions off the filters: for every state and event,
    the router made by the route table (gated) and a plain aiogram router with the same
    handler answer the same."""

    async def handler(event: object) -> str:
        return "answered"

    plain_routers: list[Router] = []
    table = RouteTable("gated")
    table.message(*filters)(handler)
    table.callback_query(*filters)(handler)
    matched = 0
    for raw_state in STATES:
        for event in EVENTS:
            plain = Router()
            plain.message.register(handler, *filters)
            plain.callback_query.register(handler, *filters)
            plain_routers.append(plain)
            expected = await answered(plain, event, raw_state)
            table_router = table.build()
            assert await answered(table_router, event, raw_state) is expected, (raw_state, event)
            matched += expected
    assert matched > 0  # each case matches something, or it would test nothing


async def test_a_gated_router_skips_what_no_handler_takes_and_answers_the_rest() -> None:
    answered: list[str] = []
    table = RouteTable("gated")

    @table.message(Command("need"))
    async def need(event: Message) -> None:
        answered.append("need")

    @table.message(Form.first)
    async def first(event: Message) -> None:
        answered.append("first")

    router = table.build()
    assert "message" in router.gates
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    for text in ("/need", "hello"):
        await dispatcher.propagate_event("message", message(text), raw_state=None, bot=_Bot())
    await dispatcher.propagate_event(
        "message", message("hello"), raw_state=Form.first.state, bot=_Bot()
    )
    assert answered == ["need", "first"]


async def test_a_router_taking_any_text_has_no_gate_and_one_with_middleware_is_not_skipped() -> (
    None
):
    open_table = RouteTable("open")

    @open_table.message()
    async def anything(event: Message) -> None:
        return None

    assert "message" not in open_table.build().gates

    seen: list[str] = []
    table = RouteTable("watched")

    @table.message(Command("need"))
    async def need(event: Message) -> None:
        seen.append("need")

    router = table.build()

    async def watch(
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        seen.append("middleware")
        return await handler(event, data)

    router.message.outer_middleware(watch)
    dispatcher = GatedDispatcher()
    dispatcher.include_router(router)
    await dispatcher.propagate_event("message", message("hello"), raw_state=None, bot=_Bot())
    assert seen == ["middleware"]  # its own middleware still sees what the gate rejects


def one_router_each(cases: list[tuple[Any, ...]]) -> list[Router]:
    """A gated router per case, its one handler (message and callback) answering "router n"."""
    routers = []
    for n, filters in enumerate(cases):
        table = RouteTable(f"t{n}")

        async def handler(event: object, n: int = n) -> str:
            return f"router {n}"

        table.message(*filters)(handler)
        table.callback_query(*filters)(handler)
        routers.append(table.build())
    return routers


def catch_all() -> Router:
    table = RouteTable("catch-all")

    @table.message()
    async def anything(event: Message) -> str:
        return "catch-all"

    return table.build()


async def test_the_gated_dispatcher_gives_every_event_to_the_router_aiograms_would() -> None:
    """Routers of every kind in one order — gated ones, one that takes any text, one with its
    own middleware, one with sub-routers — and each event and state: the router that answers
    under the GatedDispatcher is the one that answers under aiogram's own, the first time and
    when it answers from the routers it kept for that shape of event."""

    def tables() -> list[Router]:
        routers = one_router_each(FILTERS)
        watched = RouteTable("watched")

        @watched.message(Command("zzz"))
        async def zzz(event: Message) -> str:
            return "watched"

        watched_router = watched.build()

        async def passing(handler: Any, event: TelegramObject, data: dict[str, Any]) -> Any:
            return await handler(event, data)

        watched_router.message.outer_middleware(passing)
        parent = Router(name="parent")
        child = RouteTable("child")

        @child.message(Command("help"))
        async def help_(event: Message) -> str:
            return "child"

        parent.include_router(child.build())
        return [watched_router, parent, *routers, catch_all()]

    plain, gated = Dispatcher(), GatedDispatcher()
    plain.include_routers(*tables())
    gated.include_routers(*tables())
    answers = set()
    for raw_state in STATES:
        # Twice over: the second time the Dispatcher answers from what it kept per shape.
        for event in [*EVENTS, message("/help"), message("/zzz"), message("hello")] * 2:
            kind = "message" if isinstance(event, Message) else "callback_query"
            expected = await plain.propagate_event(kind, event, raw_state=raw_state, bot=_Bot())
            got = await gated.propagate_event(kind, event, raw_state=raw_state, bot=_Bot())
            assert got == expected, (raw_state, event)
            answers.add(expected)
    assert {"watched", "child"} <= answers and len(answers) > 4


class _Bot:
    """Command filters ask the bot for its username only for a mention."""

    async def me(self) -> User:
        return User(id=1, is_bot=True, first_name="bot", username="bot")


async def test_within_a_router_the_handler_that_answers_is_the_one_aiograms_would() -> None:
    """Every case above as handlers of one router, in order and in reverse: whatever the
    gated observer passes over without running its filters, the first handler to answer is
    aiogram's."""
    answers = set()
    for cases in (list(enumerate(FILTERS)), list(enumerate(FILTERS))[::-1]):
        answers |= await _answers_alike(cases)
    assert len(answers) > 8  # most handlers answer something somewhere


async def _answers_alike(cases: list[tuple[int, tuple[Any, ...]]]) -> set[Any]:
    def router_of(kind: type[Router]) -> Router:
        table = RouteTable("all")
        plain = Router(name="all")
        for n, filters in cases:

            async def handler(event: object, n: int = n) -> str:
                return f"handler {n}"

            for observer in ("message", "callback_query"):
                if kind is Router:
                    plain.observers[observer].register(handler, *filters)
                else:
                    getattr(table, observer)(*filters)(handler)
        return plain if kind is Router else table.build()

    plain, gated = Dispatcher(), GatedDispatcher()
    plain.include_router(router_of(Router))
    gated.include_router(router_of(GatedDispatcher))
    answers = set()
    for raw_state in STATES:
        for event in EVENTS:
            kind = "message" if isinstance(event, Message) else "callback_query"
            expected = await plain.propagate_event(kind, event, raw_state=raw_state, bot=_Bot())
            got = await gated.propagate_event(kind, event, raw_state=raw_state, bot=_Bot())
            assert got == expected, (raw_state, event)
            answers.add(expected)
    return answers


class Mark(CallbackData, prefix="mark", sep="|"):
    id: int


async def test_the_gated_dispatcher_never_answers_one_command_or_button_with_anothers_routers() -> (
    None
):
    """Routers that each take one command or one kind of button, then a catch-all: in any
    order of arrival, each event reaches its own router, never the routers kept for another
    command, prefix or button (two callback separators among them)."""
    cases: list[tuple[Any, ...]] = [
        (Command("need"),),
        (Command("start"),),
        (Command("mine", ignore_case=True),),
        (Command("need", prefix="!"),),
        (Pick.filter(),),
        (Mark.filter(),),
    ]

    def routers() -> list[Router]:
        return [*one_router_each(cases), catch_all()]

    events: list[Message | CallbackQuery] = [
        message("/need"),
        message("/start"),
        message("/MINE"),
        message("!need"),
        message("!start"),
        message("hello"),
        tap("pick:4"),
        tap("mark|1"),
        tap("pick|4"),
    ]
    answers = set()
    for order in (events, events[::-1]):
        plain, gated = Dispatcher(), GatedDispatcher()
        plain.include_routers(*routers())
        gated.include_routers(*routers())
        for event in order * 2:
            kind = "message" if isinstance(event, Message) else "callback_query"
            expected = await plain.propagate_event(kind, event, raw_state=None, bot=_Bot())
            got = await gated.propagate_event(kind, event, raw_state=None, bot=_Bot())
            assert got == expected, event
            answers.add(expected)
    assert {f"router {n}" for n in range(len(cases))} <= answers
