"""followups.appointment_id, appointments.place, interactions.amount_period, leaves (issue 12)

A meeting reminder points at its appointment so it can show the meeting's own time
and place; an amount typed per period ("每月1.5w") keeps its period; a leave is
recorded so follow-ups created during it go to the covering colleague.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'leaves',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('advisor_id', sa.Integer(), nullable=False),
        sa.Column('colleague_id', sa.Integer(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(['advisor_id'], ['users.id'],
                                name=op.f('fk_leaves_advisor_id_users')),
        sa.ForeignKeyConstraint(['colleague_id'], ['users.id'],
                                name=op.f('fk_leaves_colleague_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_leaves')),
    )
    with op.batch_alter_table('leaves', schema=None) as batch_op:
        batch_op.create_index('ix_leaves_advisor_end', ['advisor_id', 'ends_on'], unique=False)
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place', sa.String(length=120), nullable=True))
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amount_period', sa.String(length=8), nullable=True))
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('appointment_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_followups_appointment_id_appointments'),
                                    'appointments', ['appointment_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_followups_appointment_id_appointments'),
                                 type_='foreignkey')
        batch_op.drop_column('appointment_id')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_column('amount_period')
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_column('place')
    with op.batch_alter_table('leaves', schema=None) as batch_op:
        batch_op.drop_index('ix_leaves_advisor_end')
    op.drop_table('leaves')
