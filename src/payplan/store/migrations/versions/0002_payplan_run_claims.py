"""payplan store: the daily run's claims (several workers share one date), and reserved reminders found fast.

``payplan_run_claims`` holds one row per (run date, plan) a worker of the
daily run took: who, when, and when it finished. An index on the reminders'
status lets the run find the messages a crash left reserved but unsent.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payplan_run_claims',
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('plan_id', sa.String(length=200), nullable=False),
    sa.Column('worker', sa.String(length=255), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['payplan_plans.plan_id'], name=op.f('fk_payplan_run_claims_plan_id_payplan_plans')),
    sa.PrimaryKeyConstraint('as_of', 'plan_id', name=op.f('pk_payplan_run_claims'))
    )
    op.create_index('ix_payplan_reminders_status', 'payplan_reminders', ['status'])


def downgrade() -> None:
    op.drop_index('ix_payplan_reminders_status', table_name='payplan_reminders')
    op.drop_table('payplan_run_claims')
