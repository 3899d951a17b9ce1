"""Competitions and micro-grants: calls, proposals, the panel, its scores and the awards

Revision ID: 0023_competitions
Revises: 0022_social_work
Create Date: 2026-12-07 12:08:52.523740
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0023_competitions"
down_revision: str | None = "0022_social_work"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "competitions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "district", "street", "community", name="scope_level", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("scope_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("theme", sa.Text(), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=False),
        sa.Column("fund_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("eligible_types", sa.JSON(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("proposals_due_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("review_due_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("pass_mark", sa.Integer(), nullable=False),
        sa.Column("vote_weight", sa.Integer(), nullable=False),
        sa.Column(
            "consultation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "reviewing",
                "closed",
                "published",
                name="call_state",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("published_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_competitions_consultation_id_consultations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["people.id"], name=op.f("fk_competitions_created_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["funds.id"], name=op.f("fk_competitions_fund_id_funds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competitions")),
    )
    with op.batch_alter_table("competitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_competitions_fund_id"), ["fund_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_competitions_scope_id"), ["scope_id"], unique=False)

    op.create_table(
        "competition_proposals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "competition_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("budget_lines", sa.JSON(), nullable=False),
        sa.Column("need_ids", sa.JSON(), nullable=False),
        sa.Column("expected_results", sa.Text(), nullable=False),
        sa.Column("requested_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "submitted_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("submitted_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revised_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("option_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_competition_proposals_competition_id_competitions"),
        ),
        sa.ForeignKeyConstraint(
            ["option_id"],
            ["consultation_options.id"],
            name=op.f("fk_competition_proposals_option_id_consultation_options"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_competition_proposals_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_competition_proposals_project_id_projects"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"],
            ["people.id"],
            name=op.f("fk_competition_proposals_submitted_by_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competition_proposals")),
        sa.UniqueConstraint(
            "competition_id", "project_id", name=op.f("uq_competition_proposals_competition_id")
        ),
    )
    with op.batch_alter_table("competition_proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_competition_proposals_competition_id"), ["competition_id"], unique=False
        )

    op.create_table(
        "competition_reviewers",
        sa.Column(
            "competition_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("organisation_ids", sa.JSON(), nullable=False),
        sa.Column("named_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["competition_id"],
            ["competitions.id"],
            name=op.f("fk_competition_reviewers_competition_id_competitions"),
        ),
        sa.ForeignKeyConstraint(
            ["named_by"], ["people.id"], name=op.f("fk_competition_reviewers_named_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_competition_reviewers_person_id_people")
        ),
        sa.PrimaryKeyConstraint(
            "competition_id", "person_id", name=op.f("pk_competition_reviewers")
        ),
    )
    op.create_table(
        "competition_awards",
        sa.Column(
            "proposal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score_centi", sa.Integer(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "awarded",
                "below_pass_mark",
                "budget_exhausted",
                "not_scored",
                name="award_reason",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "allocation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["fund_allocations.id"],
            name=op.f("fk_competition_awards_allocation_id_fund_allocations"),
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["competition_proposals.id"],
            name=op.f("fk_competition_awards_proposal_id_competition_proposals"),
        ),
        sa.PrimaryKeyConstraint("proposal_id", name=op.f("pk_competition_awards")),
    )
    op.create_table(
        "competition_scores",
        sa.Column(
            "proposal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "reviewer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("scored_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["competition_proposals.id"],
            name=op.f("fk_competition_scores_proposal_id_competition_proposals"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["people.id"], name=op.f("fk_competition_scores_reviewer_id_people")
        ),
        sa.PrimaryKeyConstraint("proposal_id", "reviewer_id", name=op.f("pk_competition_scores")),
    )


def downgrade() -> None:
    op.drop_table("competition_scores")
    op.drop_table("competition_awards")
    op.drop_table("competition_reviewers")
    with op.batch_alter_table("competition_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_competition_proposals_competition_id"))

    op.drop_table("competition_proposals")
    with op.batch_alter_table("competitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_competitions_scope_id"))
        batch_op.drop_index(batch_op.f("ix_competitions_fund_id"))

    op.drop_table("competitions")
