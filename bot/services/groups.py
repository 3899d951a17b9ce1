"""Community groups (楼栋群): a worker who is an admin of a group chat links it to one of their
communities, so broadcasts to "the community's groups" are posted there. Nothing personal is
ever stored about a group or asked in it; see docs/broadcasts.md ("Group chats")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.enums import Channel, ScopeLevel
from bot.domain.errors import NotFound, PermissionDenied
from bot.domain.policy import GROUP_LINK_ROLES
from bot.domain.principal import Principal
from bot.services.places import name_in
from bot.services.views import Named
from storage.models import CommunityGroup
from storage.types import utcnow
from storage.uow import UnitOfWork

MAX_TITLE = 255


@dataclass(frozen=True, slots=True)
class GroupView:
    id: int
    channel: Channel
    chat_id: str
    title: str
    community: Named
    locale: str
    linked: bool


async def _view(uow: UnitOfWork, group: CommunityGroup) -> GroupView:
    return GroupView(
        id=group.id,
        channel=group.channel,
        chat_id=group.chat_id,
        title=group.title,
        community=await name_in(uow, ScopeLevel.COMMUNITY, group.community_id),
        locale=group.locale,
        linked=group.unlinked_at is None,
    )


@dataclass(frozen=True, slots=True)
class Choice:
    """A community a group can be linked to."""

    id: int
    code: str
    name: str
    name_en: str | None

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


async def linkable_communities(uow: UnitOfWork, principal: Principal) -> list[Choice]:
    """The communities this person may link a group to (empty: not a worker)."""
    async with uow:
        choices = []
        for community_id in await uow.places.communities_covered(principal, GROUP_LINK_ROLES):
            community = await uow.places.community(community_id)
            if community is not None:
                choices.append(
                    Choice(community.id, community.code, community.name, community.name_en)
                )
        return choices


async def link(
    uow: UnitOfWork,
    principal: Principal,
    *,
    channel: Channel,
    chat_id: str,
    title: str,
    community_id: int,
    chat_admin: bool,
    now: datetime | None = None,
) -> GroupView:
    """Link (or move) a group to a community: the person must be an admin of the group (the
    platform's list, asked by the caller) and a worker covering the community."""
    if not chat_admin:
        raise PermissionDenied()
    now = now or utcnow()
    async with uow:
        if community_id not in await uow.places.communities_covered(principal, GROUP_LINK_ROLES):
            raise PermissionDenied()
        group = await _group_of(uow, channel, chat_id)
        group.title = " ".join(title.split())[:MAX_TITLE]
        group.community_id = community_id
        group.locale = principal.locale
        group.linked_by = principal.person_id
        group.linked_at = now
        group.unlinked_at = None
        await uow.groups.flush()
        uow.audit.record(
            actor_id=principal.person_id,
            action="group.link",
            entity="community_group",
            entity_id=group.id,
            details={"community": community_id, "channel": channel.value},
            at=now,
        )
        view = await _view(uow, group)
        await uow.commit()
        return view


async def _group_of(uow: UnitOfWork, channel: Channel, chat_id: str) -> CommunityGroup:
    """The chat's row (locked), kept since an earlier link, else a new one."""
    group = await uow.groups.by_chat(channel, chat_id, lock=True)
    if group is None:
        group = CommunityGroup(channel=channel, chat_id=chat_id)
        uow.groups.add(group)
    return group


async def unlink(
    uow: UnitOfWork,
    principal: Principal,
    *,
    channel: Channel,
    chat_id: str,
    chat_admin: bool,
    now: datetime | None = None,
) -> GroupView:
    """Unlink a group: by an admin of the group (it is their group; removing the bot does the
    same) or by a worker covering its community (it is the community's link)."""
    now = now or utcnow()
    async with uow:
        group = await _linked(uow, channel, chat_id)
        if group is None:
            raise NotFound("community_group", chat_id)
        covered = await uow.places.communities_covered(principal, GROUP_LINK_ROLES)
        if not chat_admin and group.community_id not in covered:
            raise PermissionDenied()
        by = "admin" if chat_admin else "worker"
        _unlink(uow, group, principal.person_id, by, now)
        view = await _view(uow, group)
        await uow.commit()
        return view


async def bot_removed(
    uow: UnitOfWork, *, channel: Channel, chat_id: str, now: datetime | None = None
) -> bool:
    """The bot was removed from the group (or the group deleted): nothing is posted there any
    more. True if a linked group was unlinked."""
    now = now or utcnow()
    async with uow:
        group = await _linked(uow, channel, chat_id)
        if group is None:
            return False
        _unlink(uow, group, None, "bot_removed", now)
        await uow.commit()
        return True


async def _linked(uow: UnitOfWork, channel: Channel, chat_id: str) -> CommunityGroup | None:
    """The chat's row (locked) while it is linked."""
    group = await uow.groups.by_chat(channel, chat_id, lock=True)
    return group if group is not None and group.unlinked_at is None else None


def _unlink(
    uow: UnitOfWork, group: CommunityGroup, actor_id: int | None, by: str, now: datetime
) -> None:
    group.unlinked_at = now
    uow.audit.record(
        actor_id=actor_id,
        action="group.unlink",
        entity="community_group",
        entity_id=group.id,
        details={"community": group.community_id, "by": by},
        at=now,
    )


async def moved(uow: UnitOfWork, *, channel: Channel, old_chat_id: str, new_chat_id: str) -> None:
    """A group became a supergroup and got a new id: its link follows it."""
    async with uow:
        group = await uow.groups.by_chat(channel, old_chat_id, lock=True)
        if group is None or await uow.groups.by_chat(channel, new_chat_id) is not None:
            return
        group.chat_id = new_chat_id
        await uow.commit()


async def of_chat(uow: UnitOfWork, *, channel: Channel, chat_id: str) -> GroupView | None:
    """The group's link, if it is linked now."""
    async with uow:
        group = await uow.groups.by_chat(channel, chat_id)
        if group is None or group.unlinked_at is not None:
            return None
        return await _view(uow, group)
