"""plan notices: notifications about an incident with no alert

Revision ID: c1a0000000c3
Revises: c1a0000000a1
Create Date: 2026-12-04 18:50:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c1a0000000c3'
down_revision: str | Sequence[str] | None = 'c1a0000000a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incident_id', sa.String(length=64), nullable=True))
        batch_op.alter_column('alert_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                              nullable=True)
        batch_op.create_index(batch_op.f('ix_notifications_incident_id'), ['incident_id'], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM notification_attempts WHERE notification_id IN "
               "(SELECT id FROM notifications WHERE alert_id IS NULL)")
    op.execute("DELETE FROM notifications WHERE alert_id IS NULL")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_incident_id'))
        batch_op.alter_column('alert_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                              nullable=False)
        batch_op.drop_column('incident_id')
