"""payplan store: a summary of the ledger on the last entry row of each write.

``payplan_entries`` gains ``summary``. On the last row each write inserts,
the store puts the running totals of the plan's ledger up to that row (how
many entries, what was paid, refunded, charged as fees, waived...), and
that row's ``checksum`` then covers its document and its summary together
(a row without a summary keeps the checksum of its document alone, as 0006
defined it).

A cold read of a plan whose last entry row carries a summary counting
exactly the rows it read rebuilds the ledger from the totals instead of
replaying every entry; the rows are still read and their checksums checked.
The rows stay append-only: a summary is written with its row, never
updated.

Downgrading gives the rows that carry a summary back the checksum of their
document alone (the formula of 0006, written out again here: a migration
must not change when the code does), then drops the column.

Nothing is backfilled: a summary is derived from the entries by payplan's
own ledger, which a migration must not import. A plan whose last row has
none (every plan until its next write after this ran, and any plan an
older payplan wrote to since) is read by replaying its entries, as before.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payplan_entries') as batch:
        batch.add_column(sa.Column('summary', sa.Text(), nullable=True))


_BATCH = 1000


def _checksum(plan_id: str, entry_id: str, document: str) -> str:
    return hashlib.sha256(f"payplan_entries\x1f{plan_id}\x1f{entry_id}\x1f{document}".encode()).hexdigest()


def downgrade() -> None:
    conn = op.get_bind()
    table = sa.table(
        'payplan_entries', sa.column('seq', sa.BigInteger), sa.column('plan_id', sa.String),
        sa.column('entry_id', sa.String), sa.column('document', sa.Text), sa.column('checksum', sa.String),
        sa.column('summary', sa.Text),
    )
    after = 0
    while True:
        # keyset pages on seq: each page is read then updated, never all rows at once
        rows = conn.execute(
            sa.select(table.c.seq, table.c.plan_id, table.c.entry_id, table.c.document)
            .where(table.c.summary.is_not(None), table.c.checksum.is_not(None), table.c.seq > after)
            .order_by(table.c.seq)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        conn.execute(
            sa.update(table).where(table.c.seq == sa.bindparam('s')).values(checksum=sa.bindparam('c')),
            [{'s': r.seq, 'c': _checksum(r.plan_id, r.entry_id, r.document)} for r in rows],
        )
        after = rows[-1].seq
    with op.batch_alter_table('payplan_entries') as batch:
        batch.drop_column('summary')
