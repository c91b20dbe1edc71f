"""cache_versions; team_scripts.version (issue 17: caches that agree across instances)

Each bot instance keeps a copy of things every instance must agree on (the team
scripts in its search index, the client names its logs mask). A row per cache in
``cache_versions`` is bumped in the same transaction as a change; each instance
compares it every tick (one small query) and reads only what changed since.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    versions = op.create_table(
        'cache_versions',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_cache_versions')),
    )
    op.bulk_insert(versions, [{'name': 'team_scripts', 'version': 0},
                              {'name': 'client_names', 'version': 0}])
    with op.batch_alter_table('team_scripts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.BigInteger(), nullable=False,
                                      server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('team_scripts', schema=None) as batch_op:
        batch_op.drop_column('version')
    op.drop_table('cache_versions')
