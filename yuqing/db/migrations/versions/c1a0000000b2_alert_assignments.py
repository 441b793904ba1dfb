"""alert_assignments: every change of an alert's lead department, back-filled from the audit log

考核 used to read reassignments out of the audit log's JSON details; from here on every move writes a
row. Existing moves are copied from the audit entries ``reassign`` (转派 / 退回值班室 / 会商 lead) and
``reassigned_by_rules``.

Revision ID: c1a0000000b2
Revises: c1a0000000c3
Create Date: 2026-12-04 19:00:00
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import yuqing.db.base

revision: str = 'c1a0000000b2'
down_revision: str | Sequence[str] | None = 'c1a0000000c3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
RULES_ACTION = 'reassigned_by_rules'  # alerting.reassign.RULES_ACTION, frozen here


def upgrade() -> None:
    op.create_table('alert_assignments',
    sa.Column('id', _BigId, nullable=False),
    sa.Column('alert_id', _BigId, nullable=False),
    sa.Column('at', yuqing.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('from_department_id', sa.String(length=60), nullable=True),
    sa.Column('from_department_name', sa.Text(), nullable=True),
    sa.Column('to_department_id', sa.String(length=60), nullable=False),
    sa.Column('to_department_name', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_assignments_alert_id_alerts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_assignments'))
    )
    with op.batch_alter_table('alert_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_assignments_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_assignments_at'), ['at'], unique=False)
        batch_op.create_index(
            batch_op.f('ix_alert_assignments_from_department_id'), ['from_department_id'], unique=False
        )
    _backfill()


def _kind(action: str, reason: str, details: dict[str, Any]) -> str:
    if action == RULES_ACTION:
        return 'rules'
    if details.get('consult'):
        return 'consult'
    return 'return' if reason.startswith('退回值班室') else 'manual'


def _backfill() -> None:
    """One row per existing reassignment audit entry of an alert that still exists, in audit order."""
    audit = sa.table(
        'audit_log', sa.column('id'), sa.column('at', yuqing.db.base.UTCDateTime()), sa.column('actor'),
        sa.column('action'), sa.column('object_type'), sa.column('object_id'), sa.column('reason'),
        sa.column('details', yuqing.db.base.JSONType),
    )
    alerts = sa.table('alerts', sa.column('id'))
    target = sa.table(
        'alert_assignments', sa.column('alert_id'), sa.column('at', yuqing.db.base.UTCDateTime()),
        sa.column('from_department_id'), sa.column('from_department_name'), sa.column('to_department_id'),
        sa.column('to_department_name'), sa.column('kind'), sa.column('actor'), sa.column('reason'),
    )
    bind = op.get_bind()
    existing = {str(i) for i in bind.execute(sa.select(alerts.c.id)).scalars()}
    query = (
        sa.select(audit)
        .where(audit.c.object_type == 'alert', audit.c.action.in_(['reassign', RULES_ACTION]))
        .order_by(audit.c.at, audit.c.id)
    )
    rows = []
    for entry in bind.execute(query):
        if entry.object_id not in existing:
            continue
        details = entry.details or {}
        before, after = details.get('from') or {}, details.get('to') or {}
        reason = entry.reason or ''
        rows.append({
            'alert_id': int(entry.object_id), 'at': entry.at,
            'from_department_id': before.get('department_id'), 'from_department_name': before.get('department_name'),
            'to_department_id': after.get('department_id') or '', 'to_department_name': after.get('department_name'),
            'kind': _kind(entry.action, reason, details), 'actor': entry.actor or '', 'reason': reason,
        })
    if rows:
        op.bulk_insert(target, rows)


def downgrade() -> None:
    with op.batch_alter_table('alert_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_assignments_from_department_id'))
        batch_op.drop_index(batch_op.f('ix_alert_assignments_at'))
        batch_op.drop_index(batch_op.f('ix_alert_assignments_alert_id'))
    op.drop_table('alert_assignments')
