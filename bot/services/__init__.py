"""Platform-neutral use cases. Each takes a unit of work (not yet entered) and primitives."""

from storage.uow import UnitOfWork

__all__ = ["UnitOfWork"]
