"""Chat updates already handled, so a replayed one is refused — migration 0013_replays."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UtcDateTime, utcnow


class ProcessedUpdate(Base):
    """A chat platform update already taken in (Telegram redelivers one when the webhook's
    answer is slow): a replay is dropped. Rows older than the keep window are pruned."""

    __tablename__ = "processed_updates"
    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
