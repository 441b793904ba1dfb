"""alert_assists: 会商 — the 协办 departments of an alert

Revision ID: b7e1a0c2d303
Revises: b7e1a0c2d301
Create Date: 2026-12-04 18:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yuqing.db.base

revision: str = 'b7e1a0c2d303'
down_revision: str | Sequence[str] | None = 'b7e1a0c2d301'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alert_assists',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('alert_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('department_id', sa.String(length=60), nullable=False),
    sa.Column('department_name', sa.Text(), nullable=False),
    sa.Column('added_at', yuqing.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('added_by', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('removed_at', yuqing.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_assists_alert_id_alerts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_assists')),
    sa.UniqueConstraint('alert_id', 'department_id', name='uq_alert_assists_alert_department')
    )
    with op.batch_alter_table('alert_assists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_assists_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_assists_department_id'), ['department_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alert_assists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_assists_department_id'))
        batch_op.drop_index(batch_op.f('ix_alert_assists_alert_id'))
    op.drop_table('alert_assists')
