"""clients.first_purchase and clients.vulnerable; interactions.extra_steps_at (issue 13)

Clients who need more care at a sale (elderly, first purchase of a risk product,
vulnerable) must have the extra steps done before the sale is saved; the time they
were confirmed is kept on the interaction.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_purchase', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('vulnerable', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extra_steps_at', storage.types.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_column('extra_steps_at')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('vulnerable')
        batch_op.drop_column('first_purchase')
