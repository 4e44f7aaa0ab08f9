"""The store every part of the Django app uses: the site's store, sending the signals of what it records."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from .._amendments import AmendmentRecord, PlanHistory
from .._ledger import (
    CancellationSettled,
    LateFeeAssessed,
    Ledger,
    LedgerEntry,
    PaymentFailed,
    PaymentReceived,
)
from .._plan import PaymentPlan
from .._status import PlanStatus, plan_status
from ..exceptions import DamagedRowError
from ..providers import ProviderBinding, ProviderEvent
from ..store import (
    InboxEvent,
    InboxStatus,
    IngestResult,
    Operation,
    OperationStatus,
    ReminderRecord,
    RunClaim,
    SignedAgreement,
    Step,
    StepStatus,
    Store,
    StoredPlan,
)

__all__ = ["SignalingStore"]

log = logging.getLogger("payplan.django")

_BY_KIND = {
    PaymentReceived: "payment_received",
    PaymentFailed: "payment_failed",
    LateFeeAssessed: "late_fee_assessed",
    CancellationSettled: "plan_cancelled",
}


class SignalingStore:
    """A :class:`~payplan.store.Store` that sends :mod:`payplan.django.signals` for the entries it records.

    Every method is the wrapped store's. The ones that write ledger entries
    (:meth:`ingest`, :meth:`record_entries`, :meth:`add_plan`,
    :meth:`save_version`, :meth:`retry_pending`) find the entries that call
    recorded once it returned (the store committed it), then send one signal
    per entry. A record of each signal sent, unique on (signal, plan, entry),
    is written in the site's database in the same Django transaction that
    schedules the signal with ``transaction.on_commit``: two workers that both
    believe they recorded an entry send its signal once.

    Args:
        store: The store itself.
        database: The ``DATABASES`` entry for the record of signals sent.

    .. versionadded:: 0.3.0
    """

    def __init__(self, store: Store, *, database: str = "default") -> None:
        self.inner = store
        self.database = database

    def __repr__(self) -> str:
        return f"SignalingStore({self.inner!r})"

    def __getattr__(self, name: str) -> Any:
        # methods a newer Store has and this wrapper does not name yet
        return getattr(self.inner, name)

    # -- the writes that record entries ---------------------------------------------------

    def ingest(self, event: ProviderEvent, body: bytes) -> IngestResult:
        """See :meth:`Store.ingest`; the entries it recorded (``recorded``) send their signals."""
        result = self.inner.ingest(event, body)
        if result.recorded:
            self._announce(self.inner.load(event.plan_id), result.recorded)
        return result

    def record_entries(self, plan_id: str, entries: Iterable[LedgerEntry]) -> StoredPlan:
        """See :meth:`Store.record_entries`; entries already recorded send nothing."""
        entries = tuple(entries)
        before = self.inner.load(plan_id).ledger
        stored = self.inner.record_entries(plan_id, entries)
        self._announce(stored, [e.id for e in entries if e.id not in before])
        return stored

    def add_plan(self, plan: PaymentPlan, *, entries: Iterable[LedgerEntry] = ()) -> StoredPlan:
        """See :meth:`Store.add_plan`."""
        entries = tuple(entries)
        stored = self.inner.add_plan(plan, entries=entries)
        self._announce(stored, [e.id for e in entries])
        return stored

    def save_version(
        self, plan: PaymentPlan, record: AmendmentRecord, *, entries: Iterable[LedgerEntry] = ()
    ) -> StoredPlan:
        """See :meth:`Store.save_version`."""
        entries = tuple(entries)
        before = self.inner.load(plan.id).ledger
        stored = self.inner.save_version(plan, record, entries=entries)
        self._announce(stored, [e.id for e in entries if e.id not in before])
        return stored

    def retry_pending(self) -> tuple[IngestResult, ...]:
        """See :meth:`Store.retry_pending`: each kept event through :meth:`ingest`, so its entries signal."""
        kept = self.inner.inbox(status=InboxStatus.FAILED) + self.inner.inbox(status=InboxStatus.DEFERRED)
        results = [self.ingest(k.event, k.body) for k in kept]
        return tuple(r for r in results if not r.duplicate)

    # -- sending ----------------------------------------------------------------------------

    def _announce(self, stored: StoredPlan, ids: Sequence[str]) -> None:
        if not ids:
            return
        plan, ledger = stored.plan, stored.ledger
        last: LedgerEntry | None = None
        for entry_id in ids:
            entry = ledger.get(entry_id)
            if entry is None:
                continue
            last = entry
            name = _BY_KIND.get(type(entry))
            if name is not None:
                self._send(name, plan, entry, stored, key=entry.id)
        if last is None or ledger.last_on is None:
            return
        if plan_status(plan, ledger, max(ledger.last_on, last.on)).status is PlanStatus.PAID_IN_FULL:
            self._send("plan_paid_in_full", plan, last, stored, key=f"version-{plan.version}")

    def _send(self, name: str, plan: PaymentPlan, entry: LedgerEntry, stored: StoredPlan, *, key: str) -> None:
        from django.db import transaction

        from . import signals
        from .models import SentSignal

        signal = getattr(signals, name)
        with transaction.atomic(using=self.database):
            _, created = SentSignal.objects.using(self.database).get_or_create(
                signal=name, plan_id=plan.id, key=key, defaults={"entry_id": entry.id}
            )
            if created:
                transaction.on_commit(
                    functools.partial(_deliver, signal, name, plan, entry, stored), using=self.database
                )

    # -- everything else is the wrapped store's ------------------------------------------------

    def load(self, plan_id: str) -> StoredPlan:
        """See :meth:`Store.load`."""
        return self.inner.load(plan_id)

    def history(self, plan_id: str) -> PlanHistory:
        """See :meth:`Store.history`."""
        return self.inner.history(plan_id)

    def set_active(self, plan_id: str, active: bool) -> None:
        """See :meth:`Store.set_active`."""
        self.inner.set_active(plan_id, active)

    def deactivate(self, plan_ids: Iterable[str]) -> None:
        """See :meth:`Store.deactivate`."""
        self.inner.deactivate(plan_ids)

    def plan_ids(self) -> tuple[str, ...]:
        """See :meth:`Store.plan_ids`."""
        return self.inner.plan_ids()

    def active_plans(
        self,
        *,
        batch_size: int = 500,
        shard: int = 0,
        shards: int = 1,
        damaged: Callable[[DamagedRowError], None] | None = None,
    ) -> Iterator[Sequence[StoredPlan]]:
        """See :meth:`Store.active_plans`."""
        return self.inner.active_plans(batch_size=batch_size, shard=shard, shards=shards, damaged=damaged)

    def portfolio(self, *, active: bool | None = None) -> tuple[tuple[PaymentPlan, Ledger], ...]:
        """See :meth:`Store.portfolio`."""
        return self.inner.portfolio(active=active)

    def claim_plans(
        self,
        as_of: dt.date,
        worker: str,
        *,
        limit: int = 100,
        lease: dt.timedelta = dt.timedelta(minutes=15),
        after: str = "",
        shard: int = 0,
        shards: int = 1,
        wait: bool = False,
        damaged: Callable[[DamagedRowError], None] | None = None,
    ) -> tuple[StoredPlan, ...]:
        """See :meth:`Store.claim_plans`."""
        return self.inner.claim_plans(
            as_of, worker, limit=limit, lease=lease, after=after, shard=shard, shards=shards, wait=wait,
            damaged=damaged,
        )

    def finish_claims(
        self, as_of: dt.date, worker: str, done: Iterable[str] = (), *, released: Iterable[str] = ()
    ) -> None:
        """See :meth:`Store.finish_claims`."""
        self.inner.finish_claims(as_of, worker, done, released=released)

    def claims(self, as_of: dt.date) -> tuple[RunClaim, ...]:
        """See :meth:`Store.claims`."""
        return self.inner.claims(as_of)

    def save_binding(self, binding: ProviderBinding) -> None:
        """See :meth:`Store.save_binding`."""
        self.inner.save_binding(binding)

    def bindings(self, plan_id: str) -> tuple[ProviderBinding, ...]:
        """See :meth:`Store.bindings`."""
        return self.inner.bindings(plan_id)

    def current_binding(self, plan_id: str) -> ProviderBinding | None:
        """See :meth:`Store.current_binding`."""
        return self.inner.current_binding(plan_id)

    def inbox(self, *, status: InboxStatus | None = None, plan_id: str | None = None) -> tuple[InboxEvent, ...]:
        """See :meth:`Store.inbox`."""
        return self.inner.inbox(status=status, plan_id=plan_id)

    def reserve_operation(self, operation: Operation) -> Operation:
        """See :meth:`Store.reserve_operation`."""
        return self.inner.reserve_operation(operation)

    def complete_operation(
        self, key: str, status: OperationStatus, *, reference: str | None = None, error: str | None = None
    ) -> Operation:
        """See :meth:`Store.complete_operation`."""
        return self.inner.complete_operation(key, status, reference=reference, error=error)

    def operations(
        self, *, status: OperationStatus | None = None, plan_id: str | None = None
    ) -> tuple[Operation, ...]:
        """See :meth:`Store.operations`."""
        return self.inner.operations(status=status, plan_id=plan_id)

    def reserve_reminder(self, plan_id: str, reminder_id: str, on: dt.date) -> bool:
        """See :meth:`Store.reserve_reminder`."""
        return self.inner.reserve_reminder(plan_id, reminder_id, on)

    def mark_reminder_sent(self, plan_id: str, reminder_id: str) -> None:
        """See :meth:`Store.mark_reminder_sent`."""
        self.inner.mark_reminder_sent(plan_id, reminder_id)

    def mark_sent_and_reserve(
        self, sent: tuple[str, str] | None, plan_id: str, reminder_id: str, on: dt.date
    ) -> bool:
        """See :meth:`Store.mark_sent_and_reserve`."""
        return self.inner.mark_sent_and_reserve(sent, plan_id, reminder_id, on)

    def reminders(self, plan_id: str) -> tuple[ReminderRecord, ...]:
        """See :meth:`Store.reminders`."""
        return self.inner.reminders(plan_id)

    def reserved_reminders(self) -> tuple[ReminderRecord, ...]:
        """See :meth:`Store.reserved_reminders`."""
        return self.inner.reserved_reminders()

    def drop_reminder(self, plan_id: str, reminder_id: str) -> None:
        """See :meth:`Store.drop_reminder`."""
        self.inner.drop_reminder(plan_id, reminder_id)

    def save_agreement(self, agreement: SignedAgreement) -> None:
        """See :meth:`Store.save_agreement`."""
        self.inner.save_agreement(agreement)

    def agreements(self, plan_id: str) -> tuple[SignedAgreement, ...]:
        """See :meth:`Store.agreements`."""
        return self.inner.agreements(plan_id)

    def reserve_step(self, step: Step) -> Step:
        """See :meth:`Store.reserve_step`."""
        return self.inner.reserve_step(step)

    def finish_step(self, key: str, result: str | None = None, *, status: StepStatus = StepStatus.DONE) -> Step:
        """See :meth:`Store.finish_step`."""
        return self.inner.finish_step(key, result, status=status)

    def steps(self, *, plan_id: str | None = None, status: StepStatus | None = None) -> tuple[Step, ...]:
        """See :meth:`Store.steps`."""
        return self.inner.steps(plan_id=plan_id, status=status)

    def claim_step(self, key: str, plan_id: str, *, wait: float = 30.0) -> contextlib.AbstractContextManager[None]:
        """See :meth:`Store.claim_step`."""
        return self.inner.claim_step(key, plan_id, wait=wait)

    def close(self) -> None:
        """See :meth:`Store.close`."""
        self.inner.close()

    @staticmethod
    def open(url: str, **options: Any) -> Store:
        """See :meth:`Store.open` (the store itself, without signals)."""
        return Store.open(url, **options)


def _deliver(signal: Any, name: str, plan: PaymentPlan, entry: LedgerEntry, stored: StoredPlan) -> None:
    for receiver, answer in signal.send_robust(
        sender=type(entry), plan_id=plan.id, plan=plan, entry=entry, ledger=stored.ledger
    ):
        if isinstance(answer, Exception):
            log.error(
                "payplan: a receiver of %s for plan %s (entry %s) raised %r", name, plan.id, entry.id, answer,
                exc_info=answer,
            )
        del receiver
