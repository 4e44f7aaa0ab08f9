"""payplan store: a checksum beside every inbox event, provider binding and lifecycle step, backfilled.

Migration 0006 put a checksum beside the plans' documents (versions,
amendment records, ledger entries). The other rows a plan's money depends
on get one here, over the columns that say what each holds, so a hand edit
that changes a value inside their JSON (an event's amount, a binding's
subscription id, a step's settlement) is refused on read as a
``DamagedRowError`` naming the plan and the row:

* ``payplan_webhook_events``: the event's JSON document and the SHA-256 of
  its raw body (row ``<provider>:<event id>``);
* ``payplan_bindings``: the plan version, the ids' JSON, the approval URL,
  the status and the order it was saved in (row: the provider);
* ``payplan_steps``: the step's name, status, document and result (row:
  its key).

Each is the SHA-256 (hex) of ``table, plan id, row`` and those columns as a
compact JSON list, as ``payplan.store._codec.row_checksum`` computes it
(written out again: a migration must not change when the code does). The
inbox's status and attempt count, and the timestamps, change as the store
works and are not covered. A NULL checksum (a row an older payplan wrote
after this ran) is read unchecked.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_BATCH = 1000


def _checksum(table: str, plan_id: str, row: str, *fields: Any) -> str:
    document = json.dumps(list(fields), separators=(",", ":"))
    return hashlib.sha256(f"{table}\x1f{plan_id}\x1f{row}\x1f{document}".encode()).hexdigest()


def _event(r: Any) -> str:
    body = hashlib.sha256(bytes(r.body)).hexdigest()
    return _checksum('payplan_webhook_events', r.plan_id, f"{r.provider}:{r.event_id}", r.event, body)


def _binding(r: Any) -> str:
    return _checksum(
        'payplan_bindings', r.plan_id, r.provider, r.plan_version, r.ids, r.approval_url, r.status, r.saved
    )


def _step(r: Any) -> str:
    return _checksum('payplan_steps', r.plan_id, r.key, r.name, r.status, r.document, r.result)


# table -> (its key columns, the columns the checksum covers, how it is computed)
_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], Callable[[Any], str]]] = {
    'payplan_webhook_events': (('seq',), ('plan_id', 'provider', 'event_id', 'event', 'body'), _event),
    'payplan_bindings': (
        ('plan_id', 'provider'), ('plan_version', 'ids', 'approval_url', 'status', 'saved'), _binding,
    ),
    'payplan_steps': (('key',), ('plan_id', 'name', 'status', 'document', 'result'), _step),
}


def upgrade() -> None:
    for name in _TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column('checksum', sa.String(64), nullable=True))
    conn = op.get_bind()
    for name, (keys, covered, compute) in _TABLES.items():
        columns = dict.fromkeys((*keys, *covered))
        table = sa.table(name, *(sa.column(c) for c in columns), sa.column('checksum', sa.String))
        key_cols = [table.c[k] for k in keys]
        after: tuple[Any, ...] | None = None
        while True:
            # keyset pages on the primary key: each page is read then updated, never all rows at once
            q = sa.select(*(table.c[c] for c in columns)).order_by(*key_cols).limit(_BATCH)
            if after is not None:
                q = q.where(sa.tuple_(*key_cols) > sa.tuple_(*(sa.literal(v) for v in after)))
            rows = conn.execute(q).all()
            if not rows:
                break
            conn.execute(
                sa.update(table)
                .where(*(table.c[k] == sa.bindparam(f'k_{k}') for k in keys))
                .values(checksum=sa.bindparam('c')),
                [{**{f'k_{k}': getattr(r, k) for k in keys}, 'c': compute(r)} for r in rows],
            )
            after = tuple(getattr(rows[-1], k) for k in keys)


def downgrade() -> None:
    for name in reversed(list(_TABLES)):
        with op.batch_alter_table(name) as batch:
            batch.drop_column('checksum')
