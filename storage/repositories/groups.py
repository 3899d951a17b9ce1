"""Repository of community groups (楼栋群): the group chats linked to a community."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import Channel
from storage.models import CommunityGroup


class GroupsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        """Send the pending changes, so that the next read in this transaction sees them."""
        await self.session.flush()

    def add(self, group: CommunityGroup) -> None:
        self.session.add(group)

    async def by_chat(
        self, channel: Channel, chat_id: str, *, lock: bool = False
    ) -> CommunityGroup | None:
        """The row of a chat, linked or not (one row per chat, kept after an unlink)."""
        query = select(CommunityGroup).where(
            CommunityGroup.channel == channel, CommunityGroup.chat_id == chat_id
        )
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def linked(
        self, community_ids: Sequence[int], locale: str | None = None
    ) -> list[CommunityGroup]:
        """The groups linked now to any of these communities (of this language, if given)."""
        query = select(CommunityGroup).where(
            CommunityGroup.unlinked_at.is_(None),
            CommunityGroup.community_id.in_(list(community_ids)),
        )
        if locale is not None:
            query = query.where(CommunityGroup.locale == locale)
        return list((await self.session.scalars(query.order_by(CommunityGroup.id))).all())

    async def count_linked(self, community_ids: Sequence[int], locale: str | None = None) -> int:
        query = select(func.count(CommunityGroup.id)).where(
            CommunityGroup.unlinked_at.is_(None),
            CommunityGroup.community_id.in_(list(community_ids)),
        )
        if locale is not None:
            query = query.where(CommunityGroup.locale == locale)
        return int((await self.session.scalar(query)) or 0)
