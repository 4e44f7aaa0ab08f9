"""payplan store: a plan's entries found by their seq, for the store's ledger cache.

A write (or read) of a plan whose ledger the store already holds asks only
for that plan's entries with a larger ``seq``. The index on
``(plan_id, seq)`` answers that from the index alone, however long the
ledger: without it, PostgreSQL fetched every entry row of the plan to check
its seq.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_payplan_entries_plan_seq', 'payplan_entries', ['plan_id', 'seq'])


def downgrade() -> None:
    op.drop_index('ix_payplan_entries_plan_seq', table_name='payplan_entries')
