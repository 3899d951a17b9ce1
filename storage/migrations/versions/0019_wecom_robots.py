"""WeCom group robots (企业微信群机器人) of communities and streets, and their alert outbox

Revision ID: 0019_wecom_robots
Revises: 0013_contacts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0019_wecom_robots"
down_revision: str | None = "0013_contacts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "wecom_robots",
        sa.Column("id", ID, nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "district", "street", "community", name="scope_level", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("url_sealed", sa.String(length=600), nullable=False),
        sa.Column("key_tail", sa.String(length=8), nullable=False),
        sa.Column("set_by", ID, nullable=True),
        sa.Column("set_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["set_by"], ["people.id"], name=op.f("fk_wecom_robots_set_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wecom_robots")),
        sa.UniqueConstraint("level", "place_id", name=op.f("uq_wecom_robots_level")),
    )
    op.create_table(
        "wecom_alerts",
        sa.Column("id", ID, nullable=False),
        sa.Column("robot_id", ID, nullable=False),
        sa.Column("message", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=40), nullable=True),
        sa.Column("claimed_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["robot_id"],
            ["wecom_robots.id"],
            name=op.f("fk_wecom_alerts_robot_id_wecom_robots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wecom_alerts")),
    )
    with op.batch_alter_table("wecom_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wecom_alerts_robot_id"), ["robot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_wecom_alerts_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("wecom_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wecom_alerts_state"))
        batch_op.drop_index(batch_op.f("ix_wecom_alerts_robot_id"))
    op.drop_table("wecom_alerts")
    op.drop_table("wecom_robots")
