"""report deliveries: when the last attempt was made (the channels' per-minute budget counts it)

Revision ID: c1a0000000d4
Revises: b7e1a0c2d305
Create Date: 2026-12-04 18:50:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yuqing.db.base

revision: str = 'c1a0000000d4'
down_revision: str | Sequence[str] | None = 'b7e1a0c2d305'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('report_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_attempt_at', yuqing.db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('report_deliveries', schema=None) as batch_op:
        batch_op.drop_column('last_attempt_at')
