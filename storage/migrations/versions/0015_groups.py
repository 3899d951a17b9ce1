"""community groups (楼栋群): linked group chats, and outbox rows for them

Revision ID: 0013_groups
Revises: 0012
Create Date: 2026-12-07 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types


revision: str = "0013_groups"
down_revision: str | None = "0013_webchat_store"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "community_groups",
        sa.Column("id", ID, nullable=False),
        sa.Column(
            "channel",
            sa.Enum("telegram", "web", "wechat", name="channel", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("community_id", ID, nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("linked_by", ID, nullable=False),
        sa.Column("linked_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("unlinked_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_community_groups_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["linked_by"], ["people.id"], name=op.f("fk_community_groups_linked_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_groups")),
        sa.UniqueConstraint("channel", "chat_id", name=op.f("uq_community_groups_channel")),
    )
    with op.batch_alter_table("community_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_community_groups_community_id"), ["community_id"], unique=False
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("person_id", existing_type=ID, nullable=True)
        batch_op.add_column(sa.Column("group_id", ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_group_id"), ["group_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_group_id_community_groups"),
            "community_groups",
            ["group_id"],
            ["id"],
        )
        batch_op.create_unique_constraint(
            "uq_outbox_broadcast_group", ["broadcast_id", "group_id"]
        )


def downgrade() -> None:
    # Group rows have no person: they go with the groups.
    op.execute("DELETE FROM outbox WHERE person_id IS NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("uq_outbox_broadcast_group", type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_group_id_community_groups"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_outbox_group_id"))
        batch_op.drop_column("group_id")
        batch_op.alter_column("person_id", existing_type=ID, nullable=False)

    with op.batch_alter_table("community_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_community_groups_community_id"))

    op.drop_table("community_groups")
