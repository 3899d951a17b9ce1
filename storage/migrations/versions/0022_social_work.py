"""Social work: training sessions (shifts of kind "training") and their attendance, the
social-work qualification certificates, the three-level service places with their staff and the
services they recorded, and each district's baseline year

Revision ID: 0022_social_work
Revises: 0021_webhooks
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types


revision: str = '0022_social_work'
down_revision: str | None = '0021_webhooks'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('district_baselines',
    sa.Column('district_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('set_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('set_at', storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_district_baselines_district_id_districts')),
    sa.ForeignKeyConstraint(['set_by'], ['people.id'], name=op.f('fk_district_baselines_set_by_people')),
    sa.PrimaryKeyConstraint('district_id', name=op.f('pk_district_baselines'))
    )
    op.create_table('social_work_certificates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('level', sa.Enum('assistant', 'social_worker', 'senior', name='cert_level', native_enum=False, length=32), nullable=False),
    sa.Column('exam_year', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('state', sa.Enum('pending', 'verified', 'rejected', name='cert_state', native_enum=False, length=32), nullable=False),
    sa.Column('recorded_at', storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('verified_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('verified_at', storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_social_work_certificates_community_id_communities')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_social_work_certificates_person_id_people')),
    sa.ForeignKeyConstraint(['verified_by'], ['people.id'], name=op.f('fk_social_work_certificates_verified_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_social_work_certificates')),
    sa.UniqueConstraint('person_id', 'level', name=op.f('uq_social_work_certificates_person_id'))
    )
    with op.batch_alter_table('social_work_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_social_work_certificates_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_social_work_certificates_person_id'), ['person_id'], unique=False)

    op.create_table('social_work_places',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('level', sa.Enum('centre', 'station', 'room', name='service_level', native_enum=False, length=32), nullable=False),
    sa.Column('district_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('street_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('opening_hours', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_social_work_places_community_id_communities')),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_social_work_places_created_by_people')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_social_work_places_district_id_districts')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_social_work_places_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_social_work_places'))
    )
    with op.batch_alter_table('social_work_places', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_social_work_places_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_social_work_places_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_social_work_places_street_id'), ['street_id'], unique=False)

    op.create_table('social_work_services',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('place_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('served_at', storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_social_work_services_community_id_communities')),
    sa.ForeignKeyConstraint(['place_id'], ['social_work_places.id'], name=op.f('fk_social_work_services_place_id_social_work_places')),
    sa.ForeignKeyConstraint(['recorded_by'], ['people.id'], name=op.f('fk_social_work_services_recorded_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_social_work_services'))
    )
    with op.batch_alter_table('social_work_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_social_work_services_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_social_work_services_place_id'), ['place_id'], unique=False)

    op.create_table('social_work_staff',
    sa.Column('place_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_social_work_staff_person_id_people')),
    sa.ForeignKeyConstraint(['place_id'], ['social_work_places.id'], name=op.f('fk_social_work_staff_place_id_social_work_places')),
    sa.PrimaryKeyConstraint('place_id', 'person_id', name=op.f('pk_social_work_staff'))
    )
    op.create_table('training_attendance',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('checked_in_at', storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('check_in_method', sa.Enum('location', 'site_code', 'auto_closed', name='check_method', native_enum=False, length=32), nullable=False),
    sa.Column('checked_out_at', storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('check_out_method', sa.Enum('location', 'site_code', 'auto_closed', name='check_method', native_enum=False, length=32), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_training_attendance_community_id_communities')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_training_attendance_person_id_people')),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_training_attendance_shift_id_shifts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_attendance')),
    sa.UniqueConstraint('shift_id', 'person_id', name=op.f('uq_training_attendance_shift_id'))
    )
    with op.batch_alter_table('training_attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_attendance_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_attendance_person_id'), ['person_id'], unique=False)

    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('service', 'training', name='shift_kind', native_enum=False, length=32), server_default='service', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.drop_column('kind')

    with op.batch_alter_table('training_attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_attendance_person_id'))
        batch_op.drop_index(batch_op.f('ix_training_attendance_community_id'))

    op.drop_table('training_attendance')
    op.drop_table('social_work_staff')
    with op.batch_alter_table('social_work_services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_social_work_services_place_id'))
        batch_op.drop_index(batch_op.f('ix_social_work_services_community_id'))

    op.drop_table('social_work_services')
    with op.batch_alter_table('social_work_places', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_social_work_places_street_id'))
        batch_op.drop_index(batch_op.f('ix_social_work_places_district_id'))
        batch_op.drop_index(batch_op.f('ix_social_work_places_community_id'))

    op.drop_table('social_work_places')
    with op.batch_alter_table('social_work_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_social_work_certificates_person_id'))
        batch_op.drop_index(batch_op.f('ix_social_work_certificates_community_id'))

    op.drop_table('social_work_certificates')
    op.drop_table('district_baselines')
