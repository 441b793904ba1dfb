"""incidents: a column for every field of the incident message (fear_share, post_ids, source_ids, notes,
plan_ids), so a stored incident reads back whole

Revision ID: c1a0000000a1
Revises: c1a0000000d4
Create Date: 2026-12-04 19:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy import Text  # noqa: F401  (alembic renders JSONB(astext_type=Text()))
from sqlalchemy.dialects import postgresql

revision: str = 'c1a0000000a1'
down_revision: str | Sequence[str] | None = 'c1a0000000d4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LISTS = ('post_ids', 'source_ids', 'notes', 'plan_ids')


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fear_share', sa.Float(), nullable=False, server_default='0'))
        for name in _LISTS:
            batch_op.add_column(
                sa.Column(
                    name,
                    sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'),
                    nullable=False,
                    server_default=sa.text("'[]'"),
                )
            )


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        for name in reversed(_LISTS):
            batch_op.drop_column(name)
        batch_op.drop_column('fear_share')
