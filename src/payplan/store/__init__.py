"""Persistence: the :class:`Store` protocol, its back ends and the webhook inbox.

A booking site keeps its plans, their versions and amendment records,
ledger entries, provider bindings, received webhooks, outbound provider
calls, reminders sent and signed agreements in one store::

    from payplan.store import Store, receive_webhook

    store = Store.open("sqlite:///payplan.db", create=True)   # WAL, busy timeout
    store.add_plan(plan)
    response = receive_webhook(store, provider, request.headers, request.body)
    # answer response.status with response.body

Back ends: :class:`MemoryStore` (tests), and :class:`payplan.store.sql.SQLStore`
on SQLAlchemy 2.x Core for SQLite (the default) and PostgreSQL (psycopg 3),
behind the ``payplan[store]`` and ``payplan[postgres]`` extras. This module
imports neither SQLAlchemy nor a driver; ``payplan.store.sql`` does.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from ._memory import MemoryStore
from ._model import (
    InboxEvent,
    InboxStatus,
    IngestResult,
    Operation,
    OperationStatus,
    ReminderRecord,
    ReminderStatus,
    RunClaim,
    SignedAgreement,
    Step,
    StepStatus,
    Store,
    StoredPlan,
)
from ._open import open_store
from ._operations import charge, charge_fee, refund, refund_settlement, reserved_call
from ._webhooks import DEFAULT_MAX_BODY, WebhookOutcome, WebhookResponse, receive_webhook

__all__ = [
    "DEFAULT_MAX_BODY",
    "InboxEvent",
    "InboxStatus",
    "IngestResult",
    "MemoryStore",
    "Operation",
    "OperationStatus",
    "ReminderRecord",
    "ReminderStatus",
    "RunClaim",
    "SignedAgreement",
    "Step",
    "StepStatus",
    "Store",
    "StoredPlan",
    "WebhookOutcome",
    "WebhookResponse",
    "charge",
    "charge_fee",
    "open_store",
    "receive_webhook",
    "refund",
    "refund_settlement",
    "reserved_call",
]
