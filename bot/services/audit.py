"""The audit entry of a person's step on a feature's record, the same in every feature:
`_audit = partial(step, entity="project")` in the feature's module, then
`_audit(uow, principal, "project.published", project.id, details=…)`."""

from __future__ import annotations

from typing import Any

from bot.domain.principal import Principal
from storage.uow import UnitOfWork


def step(
    uow: UnitOfWork,
    principal: Principal,
    action: str,
    entity_id: int,
    *,
    entity: str,
    **rest: Any,
) -> None:
    """`rest`: the entry's details and note."""
    uow.audit.record(
        actor_id=principal.person_id, action=action, entity=entity, entity_id=entity_id, **rest
    )
