"""The in-memory store: the :class:`Store` protocol in dicts, for tests and the demo."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence

from attrs import evolve

from .._amendments import AmendmentRecord, PlanHistory
from .._ledger import Ledger, LedgerEntry
from .._plan import PaymentPlan
from ..exceptions import DamagedRowError, StoreConflictError, StoreError, UnknownPlanError
from ..providers import ProviderBinding, ProviderEvent
from ._apply import check_batch, check_claim, check_new_version, new_entries, settle_events, shard_of
from ._claims import LocalClaims
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

__all__ = ["MemoryStore"]


class _Plan:
    __slots__ = ("active", "history", "ledger")

    def __init__(self, history: PlanHistory, ledger: Ledger) -> None:
        self.history = history
        self.ledger = ledger
        self.active = True


class MemoryStore(Store):
    """The whole :class:`Store` protocol in memory, safe across threads (one lock).

    Every call copies nothing it does not change and changes nothing until
    every check passed, so a refused call leaves the store as it was. The
    data lives as long as the object: use it in tests, the SQL store
    everywhere else.

    .. versionadded:: 0.1.0
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: dict[str, _Plan] = {}
        self._bindings: dict[tuple[str, str], ProviderBinding] = {}
        self._inbox: dict[tuple[str, str], InboxEvent] = {}
        self._inbox_of: dict[str, list[tuple[str, str]]] = {}
        self._operations: dict[str, Operation] = {}
        self._reminders: dict[tuple[str, str], ReminderRecord] = {}
        self._agreements: dict[tuple[str, int], SignedAgreement] = {}
        self._claims: dict[tuple[dt.date, str], RunClaim] = {}
        self._steps: dict[str, Step] = {}
        self._step_claims = LocalClaims()
        self._saved: dict[tuple[str, str], int] = {}
        self._saves = 0

    def _get(self, plan_id: str) -> _Plan:
        try:
            return self._plans[plan_id]
        except KeyError:
            raise UnknownPlanError(f"expected a plan the store holds, got {plan_id!r}") from None

    def _stored(self, p: _Plan) -> StoredPlan:
        return StoredPlan(p.history.current, p.ledger, p.active)

    # -- plans -------------------------------------------------------------------

    def add_plan(self, plan: PaymentPlan, *, entries: Iterable[LedgerEntry] = ()) -> StoredPlan:
        """See :meth:`Store.add_plan`."""
        ledger, _ = new_entries(Ledger.empty(plan), entries)
        with self._lock:
            if plan.id in self._plans:
                raise StoreConflictError(f"expected a new plan id, got {plan.id!r}, which the store already holds")
            p = self._plans[plan.id] = _Plan(PlanHistory.start(plan), ledger)
            return self._stored(p)

    def load(self, plan_id: str) -> StoredPlan:
        """See :meth:`Store.load`."""
        with self._lock:
            return self._stored(self._get(plan_id))

    def history(self, plan_id: str) -> PlanHistory:
        """See :meth:`Store.history`."""
        with self._lock:
            return self._get(plan_id).history

    def save_version(
        self, plan: PaymentPlan, record: AmendmentRecord, *, entries: Iterable[LedgerEntry] = ()
    ) -> StoredPlan:
        """See :meth:`Store.save_version`."""
        entries = tuple(entries)
        with self._lock:
            p = self._get(plan.id)
            check_new_version(p.history.current, plan, record)
            ledger, _ = new_entries(p.ledger.for_plan(plan), entries)
            p.history = PlanHistory((*p.history.versions, plan), (*p.history.records, record))
            p.ledger = ledger
            return self._stored(p)

    def record_entries(self, plan_id: str, entries: Iterable[LedgerEntry]) -> StoredPlan:
        """See :meth:`Store.record_entries`."""
        entries = tuple(entries)
        with self._lock:
            p = self._get(plan_id)
            p.ledger, _ = new_entries(p.ledger, entries)
            return self._stored(p)

    def set_active(self, plan_id: str, active: bool) -> None:
        """See :meth:`Store.set_active`."""
        with self._lock:
            self._get(plan_id).active = bool(active)

    def deactivate(self, plan_ids: Iterable[str]) -> None:
        """See :meth:`Store.deactivate`."""
        with self._lock:
            for pid in plan_ids:
                if pid in self._plans:
                    self._plans[pid].active = False

    def plan_ids(self) -> tuple[str, ...]:
        """See :meth:`Store.plan_ids`."""
        with self._lock:
            return tuple(sorted(self._plans))

    def portfolio(self, *, active: bool | None = None) -> tuple[tuple[PaymentPlan, Ledger], ...]:
        """See :meth:`Store.portfolio`."""
        with self._lock:
            return tuple(
                (p.history.current, p.ledger) for _, p in sorted(self._plans.items())
                if active is None or p.active is bool(active)
            )

    def active_plans(
        self,
        *,
        batch_size: int = 500,
        shard: int = 0,
        shards: int = 1,
        damaged: Callable[[DamagedRowError], None] | None = None,
    ) -> Iterator[Sequence[StoredPlan]]:
        """See :meth:`Store.active_plans` (values kept in memory are never damaged)."""
        check_batch(batch_size, shard, shards)
        with self._lock:
            chosen = [
                self._stored(self._plans[k]) for k in sorted(self._plans)
                if self._plans[k].active and shard_of(k) % shards == shard
            ]
        for start in range(0, len(chosen), batch_size):
            yield tuple(chosen[start:start + batch_size])

    # -- the daily run's claims --------------------------------------------------

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
        """See :meth:`Store.claim_plans` (values kept in memory are never damaged)."""
        check_claim(as_of, worker, limit, lease, after, shard, shards)
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            out = []
            for pid in sorted(k for k in self._plans if k > after):
                p = self._plans[pid]
                if not p.active or shard_of(pid) % shards != shard:
                    continue
                held = self._claims.get((as_of, pid))
                if held is not None and (held.finished_at is not None or held.claimed_at >= now - lease):
                    continue
                self._claims[(as_of, pid)] = RunClaim(as_of, pid, worker, now)
                out.append(self._stored(p))
                if len(out) == limit:
                    break
            return tuple(out)

    def finish_claims(
        self, as_of: dt.date, worker: str, done: Iterable[str] = (), *, released: Iterable[str] = ()
    ) -> None:
        """See :meth:`Store.finish_claims`."""
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            for pid, finish in [*((d, True) for d in done), *((r, False) for r in released)]:
                held = self._claims.get((as_of, pid))
                if held is None or held.worker != worker or held.finished_at is not None:
                    continue
                if finish:
                    self._claims[(as_of, pid)] = evolve(held, finished_at=now)
                else:
                    del self._claims[(as_of, pid)]

    def claims(self, as_of: dt.date) -> tuple[RunClaim, ...]:
        """See :meth:`Store.claims`."""
        with self._lock:
            return tuple(c for (on, _), c in sorted(self._claims.items()) if on == as_of)

    # -- providers ---------------------------------------------------------------

    def save_binding(self, binding: ProviderBinding) -> None:
        """See :meth:`Store.save_binding`."""
        with self._lock:
            self._get(binding.plan_id)
            self._bindings[(binding.plan_id, binding.provider)] = binding
            self._saves += 1
            self._saved[(binding.plan_id, binding.provider)] = self._saves

    def bindings(self, plan_id: str) -> tuple[ProviderBinding, ...]:
        """See :meth:`Store.bindings`."""
        with self._lock:
            return tuple(b for (pid, _), b in sorted(self._bindings.items()) if pid == plan_id)

    def current_binding(self, plan_id: str) -> ProviderBinding | None:
        """See :meth:`Store.current_binding`."""
        with self._lock:
            self._get(plan_id)
            mine = [k for k in self._bindings if k[0] == plan_id]
            return self._bindings[max(mine, key=self._saved.__getitem__)] if mine else None

    # -- the webhook inbox -------------------------------------------------------

    def ingest(self, event: ProviderEvent, body: bytes) -> IngestResult:
        """See :meth:`Store.ingest`."""
        with self._lock:
            return self._ingest(event, body)

    def _ingest(self, event: ProviderEvent, body: bytes) -> IngestResult:
        key = (event.provider, event.id)
        kept = self._inbox.get(key)
        if kept is not None and kept.status is InboxStatus.APPLIED:
            return IngestResult(InboxStatus.APPLIED, duplicate=True)
        p = self._plans.get(event.plan_id)
        keys = self._inbox_of.setdefault(event.plan_id, [])
        pending = [e.event for e in map(self._inbox.__getitem__, keys) if e.status is InboxStatus.DEFERRED]
        out = settle_events(
            None if p is None else p.history.current, None if p is None else p.ledger, event, pending
        )
        providers = {e.id: e.provider for e in pending}
        for eid, status in out.status.items():
            k = (providers.get(eid, event.provider), eid)
            old = self._inbox.get(k)
            error = out.error.get(eid)
            if eid == event.id:
                if old is None:
                    keys.append(k)
                attempts = 1 if old is None else old.attempts + 1
                self._inbox[k] = InboxEvent(event, old.body if old else body, status, attempts, error)
            elif old is not None and old.status is not status:
                self._inbox[k] = evolve(old, status=status, error=error)
        if p is not None and out.ledger is not None:
            p.ledger = out.ledger
        return IngestResult(out.status[event.id], False, tuple(e.id for e in out.entries), out.error.get(event.id))

    def inbox(
        self, *, status: InboxStatus | None = None, plan_id: str | None = None
    ) -> tuple[InboxEvent, ...]:
        """See :meth:`Store.inbox`."""
        with self._lock:
            return tuple(
                e for e in self._inbox.values()
                if (status is None or e.status is status) and (plan_id is None or e.event.plan_id == plan_id)
            )

    def retry_pending(self) -> tuple[IngestResult, ...]:
        """See :meth:`Store.retry_pending`."""
        with self._lock:
            waiting = [e for e in self._inbox.values() if e.status is not InboxStatus.APPLIED]
            results = []
            for kept in waiting:
                if self._inbox[(kept.event.provider, kept.event.id)].status is not InboxStatus.APPLIED:
                    results.append(self._ingest(kept.event, kept.body))
            return tuple(results)

    # -- outbound operations -----------------------------------------------------

    def reserve_operation(self, operation: Operation) -> Operation:
        """See :meth:`Store.reserve_operation`."""
        with self._lock:
            return self._operations.setdefault(operation.key, operation)

    def complete_operation(
        self,
        key: str,
        status: OperationStatus,
        *,
        reference: str | None = None,
        error: str | None = None,
    ) -> Operation:
        """See :meth:`Store.complete_operation`."""
        with self._lock:
            old = self._operations.get(key)
            if old is None:
                raise StoreError(f"expected an operation reserved under {key!r}, got none")
            new = evolve(old, status=status, reference=reference or old.reference, error=error)
            self._operations[key] = new
            return new

    def operations(
        self, *, status: OperationStatus | None = None, plan_id: str | None = None
    ) -> tuple[Operation, ...]:
        """See :meth:`Store.operations`."""
        with self._lock:
            return tuple(
                o for o in self._operations.values()
                if (status is None or o.status is status) and (plan_id is None or o.plan_id == plan_id)
            )

    # -- lifecycle steps ---------------------------------------------------------

    def reserve_step(self, step: Step) -> Step:
        """See :meth:`Store.reserve_step`."""
        with self._lock:
            return self._steps.setdefault(step.key, step)

    def finish_step(self, key: str, result: str | None = None, *, status: StepStatus = StepStatus.DONE) -> Step:
        """See :meth:`Store.finish_step`."""
        with self._lock:
            old = self._steps.get(key)
            if old is None:
                raise StoreError(f"expected a step reserved under {key!r}, got none")
            new = self._steps[key] = evolve(old, status=StepStatus(status), result=result)
            return new

    def steps(self, *, plan_id: str | None = None, status: StepStatus | None = None) -> tuple[Step, ...]:
        """See :meth:`Store.steps`."""
        with self._lock:
            return tuple(
                s for s in self._steps.values()
                if (plan_id is None or s.plan_id == plan_id) and (status is None or s.status is status)
            )

    def claim_step(self, key: str, plan_id: str, *, wait: float = 30.0) -> contextlib.AbstractContextManager[None]:
        """See :meth:`Store.claim_step` (a lock per key among this process's threads)."""
        return self._step_claims.claim(key, plan_id, wait)

    # -- reminders ---------------------------------------------------------------

    def reserve_reminder(self, plan_id: str, reminder_id: str, on: dt.date) -> bool:
        """See :meth:`Store.reserve_reminder`."""
        return self.mark_sent_and_reserve(None, plan_id, reminder_id, on)

    def mark_reminder_sent(self, plan_id: str, reminder_id: str) -> None:
        """See :meth:`Store.mark_reminder_sent`."""
        with self._lock:
            self._mark_sent(plan_id, reminder_id)

    def _mark_sent(self, plan_id: str, reminder_id: str) -> None:
        old = self._reminders.get((plan_id, reminder_id))
        if old is None:
            raise StoreError(f"expected reminder {reminder_id!r} of plan {plan_id!r} reserved, got none")
        self._reminders[(plan_id, reminder_id)] = evolve(old, status=ReminderStatus.SENT)

    def mark_sent_and_reserve(
        self, sent: tuple[str, str] | None, plan_id: str, reminder_id: str, on: dt.date
    ) -> bool:
        """See :meth:`Store.mark_sent_and_reserve`."""
        with self._lock:
            self._get(plan_id)
            if sent is not None:
                self._mark_sent(*sent)
            if (plan_id, reminder_id) in self._reminders:
                return False
            self._reminders[(plan_id, reminder_id)] = ReminderRecord(plan_id, reminder_id, on)
            return True

    def reminders(self, plan_id: str) -> tuple[ReminderRecord, ...]:
        """See :meth:`Store.reminders`."""
        with self._lock:
            return tuple(r for (pid, _), r in self._reminders.items() if pid == plan_id)

    def reserved_reminders(self) -> tuple[ReminderRecord, ...]:
        """See :meth:`Store.reserved_reminders`."""
        with self._lock:
            return tuple(
                r for _, r in sorted(self._reminders.items()) if r.status is ReminderStatus.RESERVED
            )

    def drop_reminder(self, plan_id: str, reminder_id: str) -> None:
        """See :meth:`Store.drop_reminder`."""
        with self._lock:
            old = self._reminders.get((plan_id, reminder_id))
            if old is None or old.status is not ReminderStatus.RESERVED:
                raise StoreError(f"expected reminder {reminder_id!r} of plan {plan_id!r} reserved, got {old!r}")
            self._reminders[(plan_id, reminder_id)] = evolve(old, status=ReminderStatus.DROPPED)

    # -- agreements --------------------------------------------------------------

    def save_agreement(self, agreement: SignedAgreement) -> None:
        """See :meth:`Store.save_agreement`."""
        with self._lock:
            self._get(agreement.plan_id)
            key = (agreement.plan_id, agreement.version)
            if key in self._agreements:
                raise StoreConflictError(
                    f"expected one signed agreement per plan version, got a second for "
                    f"{agreement.plan_id} v{agreement.version}"
                )
            self._agreements[key] = agreement

    def agreements(self, plan_id: str) -> tuple[SignedAgreement, ...]:
        """See :meth:`Store.agreements`."""
        with self._lock:
            return tuple(a for (pid, _), a in sorted(self._agreements.items()) if pid == plan_id)

    def close(self) -> None:
        """Nothing to release."""

