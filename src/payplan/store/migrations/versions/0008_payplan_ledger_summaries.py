"""payplan store: a summary of the ledger on the last entry row of each write.

``payplan_entries`` gains ``summary`` and ``summary_checksum``. On the last
row each write inserts, the store puts the running totals of the plan's
ledger up to that row (how many entries, what was paid, refunded, charged
as fees, waived...), with the SHA-256 of the row's identity and that JSON.
A cold read of a plan whose last entry row carries a summary counting
exactly the rows it read rebuilds the ledger from the totals instead of
replaying every entry; the rows are still read and their checksums checked.
The rows stay append-only: a summary is written with its row, never
updated.

Nothing is backfilled: a summary is derived from the entries by payplan's
own ledger, which a migration must not import. A plan whose last row has
none (every plan until its next write after this ran, and any plan an
older payplan wrote to since) is read by replaying its entries, as before.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payplan_entries') as batch:
        batch.add_column(sa.Column('summary', sa.Text(), nullable=True))
        batch.add_column(sa.Column('summary_checksum', sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payplan_entries') as batch:
        batch.drop_column('summary_checksum')
        batch.drop_column('summary')
