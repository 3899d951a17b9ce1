"""people with names and contacts: a request's visit, contact phone and address, remembered
on the person; display names that were channel ids ("web-85245") are cleared

Revision ID: 0013_contacts
Revises: 0012
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_contacts"
down_revision: str | None = "0013_duty_phone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The labels chat adapters made up from chat ids (bot/domain/contacts.py, frozen here).
CHANNEL_LABEL = re.compile(r"^(?:web-\d{5}|(?:telegram|web|wechat):\S+)$")


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=200), nullable=True))
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("wants_visit", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=200), nullable=True))
    people = sa.table("people", sa.column("id", sa.Integer), sa.column("display_name", sa.String))
    bind = op.get_bind()
    rows = bind.execute(sa.select(people.c.id, people.c.display_name)).all()
    junk = [row.id for row in rows if CHANNEL_LABEL.match((row.display_name or "").strip())]
    for start in range(0, len(junk), 500):
        bind.execute(
            people.update()
            .where(people.c.id.in_(junk[start : start + 500]))
            .values(display_name="")
        )


def downgrade() -> None:
    # The cleared channel labels are not restored: they were never names.
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_column("address")
        batch_op.drop_column("contact_phone")
        batch_op.drop_column("wants_visit")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("address")
        batch_op.drop_column("phone")
