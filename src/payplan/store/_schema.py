"""Every table payplan keeps, on payplan's own :class:`~sqlalchemy.MetaData`.

Names start with ``payplan_`` so they sit beside a site's own tables; the
Alembic version table is ``payplan_alembic_version``, apart from the
site's. Money is an integer count of minor units beside its ISO 4217
currency, never a float or a two-decimal column; dates are dates.

Every JSON document of a plan (its versions, amendment records and ledger
entries) has a ``checksum`` beside it: the SHA-256 of the row's identity
and the document as written (``payplan.store._codec.checksum``), checked on
read. Rows written before migration 0006 were backfilled; a NULL checksum
(a row written by an older payplan) is read unchecked. Inbox events,
provider bindings and lifecycle steps (migration 0007) carry one over the
columns that say what they hold (``payplan.store._codec.row_checksum``):
an event's JSON and its raw body's digest; a binding's version, ids,
approval URL, status and order; a step's name, status, document and
result.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "VERSION_TABLE",
    "agreements",
    "amendments",
    "bindings",
    "entries",
    "metadata",
    "operations",
    "plan_versions",
    "plans",
    "reminders",
    "run_claims",
    "steps",
    "webhook_events",
]

VERSION_TABLE = "payplan_alembic_version"

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: An auto-incrementing 64-bit key (SQLite needs INTEGER for its rowid alias).
_SERIAL = BigInteger().with_variant(Integer(), "sqlite")
_PLAN_ID = 200

plans = Table(
    "payplan_plans",
    metadata,
    Column("plan_id", String(_PLAN_ID), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("client", String(200), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("shard", Integer, nullable=False),
    Column("document", Text, nullable=False),
    Column("checksum", String(64), nullable=True),
)
Index("ix_payplan_plans_active_shard", plans.c.active, plans.c.shard, plans.c.plan_id)

plan_versions = Table(
    "payplan_plan_versions",
    metadata,
    Column("plan_id", String(_PLAN_ID), ForeignKey(plans.c.plan_id), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", Text, nullable=False),
    Column("checksum", String(64), nullable=True),
)

amendments = Table(
    "payplan_amendments",
    metadata,
    Column("plan_id", String(_PLAN_ID), ForeignKey(plans.c.plan_id), primary_key=True),
    Column("to_version", Integer, primary_key=True),
    Column("from_version", Integer, nullable=False),
    Column("by", String(200), nullable=False),
    Column("on", Date, nullable=False),
    Column("consent", Boolean, nullable=False),
    Column("paid_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("document", Text, nullable=False),
    Column("checksum", String(64), nullable=True),
)

entries = Table(
    "payplan_entries",
    metadata,
    Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    Column("plan_id", String(_PLAN_ID), ForeignKey(plans.c.plan_id), nullable=False),
    Column("entry_id", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("on", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=False),
    Column("document", Text, nullable=False),
    Column("checksum", String(64), nullable=True),
    # On the last row of each write: the ledger's running totals up to this row (migration 0008; see
    # _codec.ledger_summary), covered by the row's checksum. NULL on the other rows.
    Column("summary", Text, nullable=True),
    UniqueConstraint("plan_id", "entry_id", name="uq_payplan_entries_plan_entry"),
)

bindings = Table(
    "payplan_bindings",
    metadata,
    Column("plan_id", String(_PLAN_ID), ForeignKey(plans.c.plan_id), primary_key=True),
    Column("provider", String(64), primary_key=True),
    Column("plan_version", Integer, nullable=False),
    Column("ids", Text, nullable=False),
    Column("approval_url", Text, nullable=True),
    Column("status", String(64), nullable=True),
    # The order bindings were saved in, across the plan's providers: the last one is the current one.
    Column("saved", Integer, nullable=False, server_default="0"),
    Column("checksum", String(64), nullable=True),
)

webhook_events = Table(
    "payplan_webhook_events",
    metadata,
    Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    Column("provider", String(64), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("plan_id", String(_PLAN_ID), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("kind", String(32), nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("event", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("checksum", String(64), nullable=True),
    UniqueConstraint("provider", "event_id", name="uq_payplan_webhook_events_provider_event"),
)
# A plan's entries after a seq (the ledger cache's question), from the index alone.
Index("ix_payplan_entries_plan_seq", entries.c.plan_id, entries.c.seq)
Index("ix_payplan_webhook_events_plan_status", webhook_events.c.plan_id, webhook_events.c.status)
Index("ix_payplan_webhook_events_status", webhook_events.c.status)

operations = Table(
    "payplan_operations",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("provider", String(64), nullable=False),
    Column("plan_id", String(_PLAN_ID), nullable=False, index=True),
    Column("action", String(32), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("installment", Integer, nullable=True),
    Column("attempt", Integer, nullable=False),
    Column("amount_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("reference", String(255), nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

reminders = Table(
    "payplan_reminders",
    metadata,
    Column("plan_id", String(_PLAN_ID), ForeignKey(plans.c.plan_id), primary_key=True),
    Column("reminder_id", String(255), primary_key=True),
    Column("on", Date, nullable=False),
    Column("status", String(16), nullable=False),
)

Index("ix_payplan_reminders_status", reminders.c.status)

run_claims = Table(
    "payplan_run_claims",
    metadata,
    Column("as_of", Date, primary_key=True),
    Column("plan_id", String(_PLAN_ID), ForeignKey(plans.c.plan_id), primary_key=True),
    Column("worker", String(255), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)

agreements = Table(
    "payplan_agreements",
    metadata,
    Column("plan_id", String(_PLAN_ID), ForeignKey(plans.c.plan_id), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("signed_by", String(200), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("text", Text, nullable=False),
    # The evidence pack frozen at signing (payplan.guardrails.EvidencePack JSON) and its digest (0005).
    Column("evidence", Text, nullable=True),
    Column("evidence_sha256", String(64), nullable=True),
)

steps = Table(
    "payplan_steps",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("plan_id", String(_PLAN_ID), nullable=False, index=True),
    Column("name", String(32), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("document", Text, nullable=False),
    Column("result", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("checksum", String(64), nullable=True),
)
