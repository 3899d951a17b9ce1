"""the community's own duty phone, shown with the emergency numbers

Revision ID: 0013_duty_phone
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_duty_phone"
down_revision: str | None = "0013_replays"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duty_phone", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_column("duty_phone")
