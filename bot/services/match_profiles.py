"""Keeping `match_profiles` in step: what matching reads about each verified volunteer per
street (masks, served communities, open load, records, rating), so that a street's candidates
are one index range scan instead of joins and aggregates over the whole store.

Services call `refresh` for the people a change touches, inside the same transaction (an
assignment, a closed need, a confirmed or failed record, a rating, a registration or
verification). `rebuild_all` recomputes everything from the source tables: the bot runs it at
start and every hour, so a change made outside the services (a manual SQL fix) is caught up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.services import match_cache
from storage.uow import UnitOfWork


def _profile_rows(candidates: Sequence[Any], order: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """One profile per volunteer and street; the communities they serve there as bits."""
    bit = _community_bits(order)
    grouped: dict[tuple[int, int], dict[str, Any]] = {}
    for row in candidates:
        person, community, street = row[0], row[5], row[6]
        entry = grouped.get((person, street))
        if entry is not None:  # a second community of the same street
            entry["served_mask"] |= 1 << bit[community]
            continue
        grouped[(person, street)] = _profile(row, 1 << bit[community])
    return list(grouped.values())


def _community_bits(order: list[tuple[int, int]]) -> dict[int, int]:
    """Each community's bit in its street's served mask, in the given order."""
    bit: dict[int, int] = {}
    seen: dict[int, int] = {}
    for community, street in order:
        bit[community] = seen.get(street, 0)
        seen[street] = bit[community] + 1
    return bit


def _profile(row: Sequence[Any], served_mask: int) -> dict[str, Any]:
    person, name, grid, skills, availability, _community, street, load, ok, bad, rating = row
    return {
        "street_id": street,
        "person_id": person,
        "name": name,
        "grid_id": grid,
        "skills_mask": skills,
        "availability_mask": availability,
        "served_mask": served_mask,
        "open_load": int(load),
        "confirmed": int(ok),
        "failed": int(bad),
        "rating": float(rating) if rating is not None else None,
    }


async def refresh(uow: UnitOfWork, person_ids: Iterable[int | None]) -> None:
    """Recompute these people's profiles (inside the caller's transaction)."""
    ids = sorted({p for p in person_ids if p is not None})
    if not ids:
        return
    rows = _profile_rows(
        await uow.matching.candidates(None, ids), await uow.matching.community_order()
    )
    # A full rebuild committing meanwhile may have written these rows again: then once more.
    if not await uow.matching.replace_profiles_of(ids, rows):
        await uow.matching.replace_profiles_of(ids, rows)
    match_cache.invalidate()


async def rebuild_all(uow: UnitOfWork) -> int:
    """Recompute every profile from the source tables; returns how many there are."""
    async with uow:
        rows = _profile_rows(
            await uow.matching.candidates(None), await uow.matching.community_order()
        )
        await uow.matching.replace_profiles(None, rows)
        await uow.commit()
    match_cache.invalidate()
    return len(rows)
