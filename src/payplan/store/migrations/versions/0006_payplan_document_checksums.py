"""payplan store: a checksum beside every document of a plan, backfilled.

Plan versions (``payplan_plans``, ``payplan_plan_versions``), amendment
records (``payplan_amendments``) and ledger entries (``payplan_entries``)
each gain a ``checksum`` column: the SHA-256 (hex) of the row's identity and
its JSON document exactly as written, which the store checks on every read,
so a document edited by hand (an amount changed inside an entry's JSON) is
refused as a ``DamagedRowError`` naming the plan and the row.

Existing rows are backfilled here with the same formula as
``payplan.store._codec.checksum`` (written out again: a migration must not
change when the code does). A NULL checksum (a row an older payplan wrote
after this ran) is read unchecked.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_BATCH = 1000

# table -> (its row key column, how the key reads in the checksum)
_TABLES = {
    'payplan_plans': ('version', 'v{}'),
    'payplan_plan_versions': ('version', 'v{}'),
    'payplan_amendments': ('to_version', 'v{}'),
    'payplan_entries': ('entry_id', '{}'),
}


def _checksum(table: str, plan_id: str, row: str, document: str) -> str:
    return hashlib.sha256(f"{table}\x1f{plan_id}\x1f{row}\x1f{document}".encode()).hexdigest()


def upgrade() -> None:
    for name in _TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column('checksum', sa.String(64), nullable=True))
    conn = op.get_bind()
    for name, (key, shape) in _TABLES.items():
        table = sa.table(
            name, sa.column('plan_id', sa.String), sa.column(key), sa.column('document', sa.Text),
            sa.column('checksum', sa.String),
        )
        done: tuple[str, str] = ('', '')
        while True:
            # keyset pages on (plan_id, key): each page is read then updated, never all rows at once
            q = (
                sa.select(table.c.plan_id, table.c[key], table.c.document)
                .where(table.c.checksum.is_(None))
                .order_by(table.c.plan_id, table.c[key])
                .limit(_BATCH)
            )
            rows = conn.execute(q).all()
            if not rows:
                break
            conn.execute(
                sa.update(table)
                .where(table.c.plan_id == sa.bindparam('p'), table.c[key] == sa.bindparam('k'))
                .values(checksum=sa.bindparam('c')),
                [
                    {'p': r.plan_id, 'k': r[1], 'c': _checksum(name, r.plan_id, shape.format(r[1]), r.document)}
                    for r in rows
                ],
            )
            last = (rows[-1].plan_id, str(rows[-1][1]))
            if last == done:  # pragma: no cover - a row whose update matched nothing: never loop forever
                break
            done = last


def downgrade() -> None:
    for name in reversed(list(_TABLES)):
        with op.batch_alter_table(name) as batch:
            batch.drop_column('checksum')
