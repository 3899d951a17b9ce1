"""Route tables: synchronous filters run inline, not in a worker thread."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from aiogram import Dispatcher, F
from aiogram.types import Chat, Message, User

from handlers.common.routing import RouteTable


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
