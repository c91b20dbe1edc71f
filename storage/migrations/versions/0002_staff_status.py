"""users.disabled_at and the staff_audit table (coach users disable/enable, /remove)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', storage.types.UTCDateTime(timezone=True),
                                      nullable=True))
    op.create_table(
        'staff_audit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=24), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'],
                                name=op.f('fk_staff_audit_actor_id_users')),
        sa.ForeignKeyConstraint(['target_id'], ['users.id'],
                                name=op.f('fk_staff_audit_target_id_users')),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'],
                                name=op.f('fk_staff_audit_team_id_teams')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_audit')),
    )
    with op.batch_alter_table('staff_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_audit_target_id'), ['target_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staff_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_audit_target_id'))
    op.drop_table('staff_audit')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
