"""payplan store: the first schema (plans, versions, amendments, entries, bindings, inbox,
operations, reminders, agreements).

Generated with Alembic autogenerate from ``payplan.store._schema`` and reviewed by hand:
money is BIGINT minor units beside a CHAR-sized currency, dates are DATE.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payplan_operations',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('plan_id', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('installment', sa.Integer(), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('reference', sa.String(length=255), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_payplan_operations'))
    )
    op.create_index(op.f('ix_payplan_operations_plan_id'), 'payplan_operations', ['plan_id'])
    op.create_index(op.f('ix_payplan_operations_status'), 'payplan_operations', ['status'])

    op.create_table('payplan_plans',
    sa.Column('plan_id', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('client', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('shard', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('plan_id', name=op.f('pk_payplan_plans'))
    )
    op.create_index('ix_payplan_plans_active_shard', 'payplan_plans', ['active', 'shard', 'plan_id'])

    op.create_table('payplan_webhook_events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('plan_id', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('event', sa.Text(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_payplan_webhook_events')),
    sa.UniqueConstraint('provider', 'event_id', name='uq_payplan_webhook_events_provider_event')
    )
    op.create_index('ix_payplan_webhook_events_plan_status', 'payplan_webhook_events', ['plan_id', 'status'])
    op.create_index('ix_payplan_webhook_events_status', 'payplan_webhook_events', ['status'])

    op.create_table('payplan_agreements',
    sa.Column('plan_id', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('signed_by', sa.String(length=200), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['payplan_plans.plan_id'], name=op.f('fk_payplan_agreements_plan_id_payplan_plans')),
    sa.PrimaryKeyConstraint('plan_id', 'version', name=op.f('pk_payplan_agreements'))
    )
    op.create_table('payplan_amendments',
    sa.Column('plan_id', sa.String(length=200), nullable=False),
    sa.Column('to_version', sa.Integer(), nullable=False),
    sa.Column('from_version', sa.Integer(), nullable=False),
    sa.Column('by', sa.String(length=200), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('consent', sa.Boolean(), nullable=False),
    sa.Column('paid_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['payplan_plans.plan_id'], name=op.f('fk_payplan_amendments_plan_id_payplan_plans')),
    sa.PrimaryKeyConstraint('plan_id', 'to_version', name=op.f('pk_payplan_amendments'))
    )
    op.create_table('payplan_bindings',
    sa.Column('plan_id', sa.String(length=200), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('plan_version', sa.Integer(), nullable=False),
    sa.Column('ids', sa.Text(), nullable=False),
    sa.Column('approval_url', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['payplan_plans.plan_id'], name=op.f('fk_payplan_bindings_plan_id_payplan_plans')),
    sa.PrimaryKeyConstraint('plan_id', 'provider', name=op.f('pk_payplan_bindings'))
    )
    op.create_table('payplan_entries',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('plan_id', sa.String(length=200), nullable=False),
    sa.Column('entry_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['payplan_plans.plan_id'], name=op.f('fk_payplan_entries_plan_id_payplan_plans')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_payplan_entries')),
    sa.UniqueConstraint('plan_id', 'entry_id', name='uq_payplan_entries_plan_entry')
    )
    op.create_table('payplan_plan_versions',
    sa.Column('plan_id', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['payplan_plans.plan_id'], name=op.f('fk_payplan_plan_versions_plan_id_payplan_plans')),
    sa.PrimaryKeyConstraint('plan_id', 'version', name=op.f('pk_payplan_plan_versions'))
    )
    op.create_table('payplan_reminders',
    sa.Column('plan_id', sa.String(length=200), nullable=False),
    sa.Column('reminder_id', sa.String(length=255), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['payplan_plans.plan_id'], name=op.f('fk_payplan_reminders_plan_id_payplan_plans')),
    sa.PrimaryKeyConstraint('plan_id', 'reminder_id', name=op.f('pk_payplan_reminders'))
    )


def downgrade() -> None:
    op.drop_table('payplan_reminders')
    op.drop_table('payplan_plan_versions')
    op.drop_table('payplan_entries')
    op.drop_table('payplan_bindings')
    op.drop_table('payplan_amendments')
    op.drop_table('payplan_agreements')
    op.drop_index('ix_payplan_webhook_events_status', table_name='payplan_webhook_events')
    op.drop_index('ix_payplan_webhook_events_plan_status', table_name='payplan_webhook_events')

    op.drop_table('payplan_webhook_events')
    op.drop_index('ix_payplan_plans_active_shard', table_name='payplan_plans')

    op.drop_table('payplan_plans')
    op.drop_index(op.f('ix_payplan_operations_status'), table_name='payplan_operations')
    op.drop_index(op.f('ix_payplan_operations_plan_id'), table_name='payplan_operations')

    op.drop_table('payplan_operations')
