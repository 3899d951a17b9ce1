"""Government purchase of services: purchases, milestones, payments and evaluations

Revision ID: 0024_purchases
Revises: 0023_competitions
Create Date: 2026-12-07 12:08:52.523740
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0024_purchases"
down_revision: str | None = "0023_competitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_purchases",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "district", "street", "community", name="scope_level", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("scope_id", sa.BigInteger(), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column(
            "provider_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "general_budget",
                "welfare_lottery",
                "social_assistance",
                "other",
                name="funding_source",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["people.id"], name=op.f("fk_service_purchases_created_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_service_purchases_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["organisations.id"],
            name=op.f("fk_service_purchases_provider_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_purchases")),
    )
    with op.batch_alter_table("service_purchases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_purchases_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_purchases_scope_id"), ["scope_id"], unique=False
        )

    op.create_table(
        "purchase_evaluations",
        sa.Column(
            "purchase_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("score_centi", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "evaluated_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["evaluated_by"],
            ["people.id"],
            name=op.f("fk_purchase_evaluations_evaluated_by_people"),
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["service_purchases.id"],
            name=op.f("fk_purchase_evaluations_purchase_id_service_purchases"),
        ),
        sa.PrimaryKeyConstraint("purchase_id", name=op.f("pk_purchase_evaluations")),
    )
    op.create_table(
        "purchase_milestones",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "purchase_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("deliverable", sa.String(length=200), nullable=False),
        sa.Column("share", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "reported",
                "accepted",
                "paid",
                name="milestone_state",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column(
            "reported_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("reported_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "accepted_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("accepted_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["accepted_by"], ["people.id"], name=op.f("fk_purchase_milestones_accepted_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["service_purchases.id"],
            name=op.f("fk_purchase_milestones_purchase_id_service_purchases"),
        ),
        sa.ForeignKeyConstraint(
            ["reported_by"], ["people.id"], name=op.f("fk_purchase_milestones_reported_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_milestones")),
    )
    with op.batch_alter_table("purchase_milestones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_milestones_purchase_id"), ["purchase_id"], unique=False
        )

    op.create_table(
        "purchase_payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "purchase_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "milestone_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column(
            "recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["purchase_milestones.id"],
            name=op.f("fk_purchase_payments_milestone_id_purchase_milestones"),
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["service_purchases.id"],
            name=op.f("fk_purchase_payments_purchase_id_service_purchases"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["people.id"], name=op.f("fk_purchase_payments_recorded_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_payments")),
        sa.UniqueConstraint("milestone_id", name=op.f("uq_purchase_payments_milestone_id")),
    )
    with op.batch_alter_table("purchase_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_payments_purchase_id"), ["purchase_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("purchase_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_payments_purchase_id"))

    op.drop_table("purchase_payments")
    with op.batch_alter_table("purchase_milestones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_milestones_purchase_id"))

    op.drop_table("purchase_milestones")
    op.drop_table("purchase_evaluations")
    with op.batch_alter_table("service_purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_purchases_scope_id"))
        batch_op.drop_index(batch_op.f("ix_service_purchases_provider_id"))

    op.drop_table("service_purchases")
