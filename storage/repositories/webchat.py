"""Web chat transcripts in the database (bot.domain.transcripts.TranscriptStore).

Each chat's events are numbered by its own counter row (`webchat_chats`), taken with an
UPDATE … RETURNING in the event's transaction: concurrent writers of one chat queue on that
row, so the numbers commit in order and a reader never sees seq 7 before seq 6. Per chat the
last MAX_EVENTS_KEPT events and MAX_MESSAGES_KEPT bot messages are kept; `prune` removes what is
older than the retention period. Nothing is cached in the process: any process can serve any
page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.transcripts import (
    MAX_EVENTS_KEPT,
    MAX_MESSAGES_KEPT,
    Published,
    StoredFile,
    redact_event,
)
from storage.models import WebChatChat, WebChatEvent, WebChatFile, WebChatMessage
from storage.types import utcnow

# The per-chat bounds are enforced every PRUNE_EVERY events (so at most that many more).
PRUNE_EVERY = 25


class SqlTranscripts:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def _counters(
        self, session: AsyncSession, chat_id: int, *, new_message: bool
    ) -> tuple[int, int]:
        step = 1 if new_message else 0
        bump = (
            update(WebChatChat)
            .where(WebChatChat.chat_id == chat_id)
            .values(
                last_seq=WebChatChat.last_seq + 1,
                last_message_id=WebChatChat.last_message_id + step,
                updated_at=utcnow(),
            )
            .returning(WebChatChat.last_seq, WebChatChat.last_message_id)
        )
        row = (await session.execute(bump)).first()
        if row is None:
            dialect = session.get_bind().dialect.name
            upsert = pg_insert if dialect == "postgresql" else sqlite_insert
            await session.execute(
                upsert(WebChatChat)
                .values(chat_id=chat_id, last_seq=0, last_message_id=0, updated_at=utcnow())
                .on_conflict_do_nothing(index_elements=["chat_id"])
            )
            row = (await session.execute(bump)).one()
        return int(row[0]), int(row[1])

    async def publish(
        self,
        chat_id: int,
        event: dict[str, Any],
        *,
        new_message: bool = False,
        message: dict[str, Any] | None = None,
        forget_message: int | None = None,
        client_id: str | None = None,
    ) -> Published | None:
        async with self.session_factory() as session:
            seq, last_message_id = await self._counters(session, chat_id, new_message=new_message)
            message_id = last_message_id if new_message else None
            if message_id is not None:
                event["message_id"] = message_id
                if message is not None:
                    message["message_id"] = message_id
            now = utcnow()
            try:
                async with session.begin_nested():
                    await session.execute(
                        insert(WebChatEvent).values(
                            chat_id=chat_id,
                            seq=seq,
                            kind=str(event["type"]),
                            message_id=event.get("message_id"),
                            client_id=client_id,
                            payload=event,
                            created_at=now,
                        )
                    )
            except IntegrityError:
                await session.rollback()  # a retried POST: its first copy is there
                return None
            if message is not None:
                await self._save_message(session, chat_id, message, insert_new=new_message)
            if forget_message is not None:
                await session.execute(
                    delete(WebChatMessage).where(
                        WebChatMessage.chat_id == chat_id,
                        WebChatMessage.message_id == forget_message,
                    )
                )
            if seq % PRUNE_EVERY == 0:
                await self._bound(session, chat_id, seq, last_message_id)
            await session.commit()
        return Published(seq, message_id)

    @staticmethod
    async def _save_message(
        session: AsyncSession, chat_id: int, message: dict[str, Any], *, insert_new: bool
    ) -> None:
        message_id = int(message["message_id"])
        if not insert_new:
            changed = await session.execute(
                update(WebChatMessage)
                .where(WebChatMessage.chat_id == chat_id, WebChatMessage.message_id == message_id)
                .values(data=message, updated_at=utcnow())
            )
            if changed.rowcount:  # type: ignore[attr-defined]
                return
        await session.execute(
            insert(WebChatMessage).values(
                chat_id=chat_id, message_id=message_id, data=message, updated_at=utcnow()
            )
        )

    @staticmethod
    async def _bound(session: AsyncSession, chat_id: int, seq: int, message_id: int) -> None:
        await session.execute(
            delete(WebChatEvent).where(
                WebChatEvent.chat_id == chat_id, WebChatEvent.seq <= seq - MAX_EVENTS_KEPT
            )
        )
        await session.execute(
            delete(WebChatMessage).where(
                WebChatMessage.chat_id == chat_id,
                WebChatMessage.message_id <= message_id - MAX_MESSAGES_KEPT,
            )
        )

    async def since(self, chat_id: int, after: int) -> tuple[list[dict[str, Any]], int]:
        async with self.session_factory() as session:
            rows = await session.execute(
                select(WebChatEvent.seq, WebChatEvent.payload)
                .where(WebChatEvent.chat_id == chat_id, WebChatEvent.seq > after)
                .order_by(WebChatEvent.seq)
                .limit(MAX_EVENTS_KEPT + PRUNE_EVERY)
            )
            events = [{"seq": seq, **payload} for seq, payload in rows.all()]
            last = await session.scalar(
                select(WebChatChat.last_seq).where(WebChatChat.chat_id == chat_id)
            )
        return events, int(last or 0)

    async def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        async with self.session_factory() as session:
            data = await session.scalar(
                select(WebChatMessage.data).where(
                    WebChatMessage.chat_id == chat_id, WebChatMessage.message_id == message_id
                )
            )
        return dict(data) if data is not None else None

    async def redact(self, chat_id: int, message_id: int, html_text: str) -> bool:
        async with self.session_factory() as session:
            rows = (
                await session.execute(
                    select(WebChatEvent.id, WebChatEvent.payload).where(
                        WebChatEvent.chat_id == chat_id, WebChatEvent.message_id == message_id
                    )
                )
            ).all()
            found = False
            for row_id, payload in rows:
                if payload.get("from") != "user":
                    continue
                event = dict(payload)
                url = str(event.get("url", ""))
                redact_event(event, html_text)
                await session.execute(
                    update(WebChatEvent)
                    .where(WebChatEvent.id == row_id)
                    .values(payload=event, kind="message")
                )
                if url.startswith("/chat/api/files/"):  # a photo the person sent goes too
                    await session.execute(
                        delete(WebChatFile).where(WebChatFile.token == url.rsplit("/", 1)[1])
                    )
                found = True
            await session.commit()
        return found

    async def set_commands(self, chat_id: int, commands: list[dict[str, str]]) -> None:
        async with self.session_factory() as session:
            dialect = session.get_bind().dialect.name
            upsert = pg_insert if dialect == "postgresql" else sqlite_insert
            statement = upsert(WebChatChat).values(
                chat_id=chat_id,
                last_seq=0,
                last_message_id=0,
                commands=commands,
                updated_at=utcnow(),
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["chat_id"], set_={"commands": statement.excluded.commands}
                )
            )
            await session.commit()

    async def commands(self, chat_id: int) -> list[dict[str, str]] | None:
        async with self.session_factory() as session:
            found = await session.scalar(
                select(WebChatChat.commands).where(WebChatChat.chat_id == chat_id)
            )
        return list(found) if found is not None else None

    async def put_file(self, token: str, stored: StoredFile) -> None:
        async with self.session_factory() as session:
            await session.execute(
                insert(WebChatFile).values(
                    token=token,
                    chat_id=stored.chat_id,
                    filename=stored.filename[:255],
                    content_type=stored.content_type[:100],
                    content=stored.content,
                    created_at=utcnow(),
                )
            )
            await session.commit()

    async def file(self, token: str) -> StoredFile | None:
        async with self.session_factory() as session:
            row = (
                await session.execute(
                    select(
                        WebChatFile.chat_id,
                        WebChatFile.filename,
                        WebChatFile.content,
                        WebChatFile.content_type,
                    ).where(WebChatFile.token == token)
                )
            ).first()
        if row is None:
            return None
        return StoredFile(int(row[0]), row[1], bytes(row[2]), row[3])

    async def prune(self, before: datetime) -> int:
        """Forget events, bot messages and files older than `before` (the retention setting);
        the chats' counters stay, so their numbers are never reused. Returns the rows gone."""
        gone = 0
        async with self.session_factory() as session:
            for statement in (
                delete(WebChatEvent).where(WebChatEvent.created_at < before),
                delete(WebChatMessage).where(WebChatMessage.updated_at < before),
                delete(WebChatFile).where(WebChatFile.created_at < before),
            ):
                result = await session.execute(statement)
                gone += int(result.rowcount or 0)  # type: ignore[attr-defined]
            await session.commit()
        return gone
