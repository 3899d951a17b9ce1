"""personal-information rights: consents, the access log, erasure marks

Revision ID: 0013_privacy
Revises: 0012
Create Date: 2026-12-07 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0013_privacy"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "privacy_consents",
        sa.Column("id", ID, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "volunteer",
                "id_number",
                "guardian",
                name="consent_purpose",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("given_at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", ID, nullable=True),
        sa.Column("guardian", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_privacy_consents_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["people.id"], name=op.f("fk_privacy_consents_recorded_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_consents")),
    )
    with op.batch_alter_table("privacy_consents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_privacy_consents_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "access_log",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("subject_id", ID, nullable=True),
        sa.Column("district_id", ID, nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "id_unmasked",
                "export",
                "on_behalf",
                name="access_kind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["people.id"], name=op.f("fk_access_log_actor_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["people.id"], name=op.f("fk_access_log_subject_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["district_id"], ["districts.id"], name=op.f("fk_access_log_district_id_districts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_log_subject_id"), ["subject_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_access_log_district_id"), ["district_id"], unique=False
        )

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("erased_at", storage.types.UtcDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("guardian_required", sa.Boolean(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.drop_column("guardian_required")

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("erased_at")

    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_log_district_id"))
        batch_op.drop_index(batch_op.f("ix_access_log_subject_id"))
        batch_op.drop_index(batch_op.f("ix_access_log_at"))
    op.drop_table("access_log")

    with op.batch_alter_table("privacy_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_consents_person_id"))
    op.drop_table("privacy_consents")
