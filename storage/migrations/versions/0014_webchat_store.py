"""web chat transcripts, bot messages and files in the database; large text on the person

Revision ID: 0013_webchat_store
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0013_webchat_store"
down_revision: str | None = "0013_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webchat_chats",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_message_id", sa.Integer(), nullable=False),
        sa.Column("commands", sa.JSON(), nullable=True),
        sa.Column("updated_at", When, nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_webchat_chats")),
    )
    op.create_table(
        "webchat_events",
        sa.Column("id", Id, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webchat_events")),
        sa.UniqueConstraint("chat_id", "seq", name=op.f("uq_webchat_events_chat_id")),
        sa.UniqueConstraint("chat_id", "client_id", name="uq_webchat_events_client"),
    )
    op.create_index(
        "ix_webchat_events_message", "webchat_events", ["chat_id", "message_id"], unique=False
    )
    op.create_index(
        op.f("ix_webchat_events_created_at"), "webchat_events", ["created_at"], unique=False
    )
    op.create_table(
        "webchat_messages",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_webchat_messages")),
    )
    op.create_index(
        op.f("ix_webchat_messages_updated_at"), "webchat_messages", ["updated_at"], unique=False
    )
    op.create_table(
        "webchat_files",
        sa.Column("token", sa.String(length=43), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_webchat_files")),
    )
    op.create_index(
        op.f("ix_webchat_files_created_at"), "webchat_files", ["created_at"], unique=False
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("large_text", sa.Boolean(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("large_text")
    op.drop_index(op.f("ix_webchat_files_created_at"), table_name="webchat_files")
    op.drop_table("webchat_files")
    op.drop_index(op.f("ix_webchat_messages_updated_at"), table_name="webchat_messages")
    op.drop_table("webchat_messages")
    op.drop_index(op.f("ix_webchat_events_created_at"), table_name="webchat_events")
    op.drop_index("ix_webchat_events_message", table_name="webchat_events")
    op.drop_table("webchat_events")
    op.drop_table("webchat_chats")
