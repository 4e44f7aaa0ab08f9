"""payplan store: the booking lifecycle's steps, and which binding of a plan is current.

``payplan_steps`` keeps each step of :class:`payplan.bookings.Bookings`
(a booking, an amendment, a cancellation, a refund, a payment asked for
now), reserved under its key before the step acts, with what it decided:
a rerun after a crash carries out the same decision. ``saved`` on
``payplan_bindings`` orders a plan's bindings by when they were saved: the
last one is where the plan lives now (``Store.current_binding``). Existing
bindings get 0: a plan with bindings at two providers from before this
revision has its current one picked by provider name until one is saved again.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('payplan_bindings', sa.Column('saved', sa.Integer(), nullable=False, server_default='0'))
    op.create_table(
        'payplan_steps',
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('plan_id', sa.String(length=200), nullable=False),
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('document', sa.Text(), nullable=False),
        sa.Column('result', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_payplan_steps')),
    )
    op.create_index(op.f('ix_payplan_steps_plan_id'), 'payplan_steps', ['plan_id'])
    op.create_index(op.f('ix_payplan_steps_status'), 'payplan_steps', ['status'])


def downgrade() -> None:
    op.drop_index(op.f('ix_payplan_steps_status'), table_name='payplan_steps')
    op.drop_index(op.f('ix_payplan_steps_plan_id'), table_name='payplan_steps')
    op.drop_table('payplan_steps')
    with op.batch_alter_table('payplan_bindings') as batch:
        batch.drop_column('saved')
