"""The decisions every back end shares: pure functions of what was read in the transaction."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable, Sequence

from attrs import frozen

from .._amendments import AmendmentRecord
from .._ledger import Ledger, LedgerEntry
from .._plan import PaymentPlan
from ..exceptions import InvalidPlanError, LedgerError, StoreConflictError, StoreError
from ..providers import ProviderEvent, apply_events, event_entry, held
from ._model import InboxStatus

__all__ = ["EventOutcome", "check_batch", "check_claim", "check_new_version", "new_entries", "settle_events", "shard_of"]


def shard_of(plan_id: str) -> int:
    """A stable, non-negative 31-bit hash of a plan id (CRC-32), for sharding the daily run."""
    return zlib.crc32(plan_id.encode()) & 0x7FFFFFFF


def new_entries(ledger: Ledger, entries: Iterable[LedgerEntry]) -> tuple[Ledger, tuple[LedgerEntry, ...]]:
    """Record *entries*; return the new ledger and the entries it did not hold yet.

    Raises:
        LedgerError: an entry is refused (nothing is to be written then).
    """
    added: list[LedgerEntry] = []
    for entry in entries:
        if held(ledger, entry):
            continue  # the same money, from the provider's webhook and from its answer
        before = len(ledger)
        ledger = ledger.record(entry)
        if len(ledger) != before:
            added.append(entry)
    return ledger, tuple(added)


def check_new_version(stored: PaymentPlan, plan: PaymentPlan, record: AmendmentRecord) -> None:
    """Refuse a version that is not the next one of *stored* by *record*.

    Raises:
        StoreConflictError: *stored* is no longer the version amended.
        InvalidPlanError: *record* does not take this plan to *plan*.
    """
    if (record.plan_id, record.to_version) != (plan.id, plan.version) or record.from_version >= plan.version:
        raise InvalidPlanError(
            f"expected the record that made {plan.id} v{plan.version}, got one taking "
            f"{record.plan_id} v{record.from_version} to v{record.to_version}"
        )
    if stored.version != record.from_version:
        raise StoreConflictError(
            f"plan {plan.id} is at version {stored.version} in the store, but this amendment was made "
            f"from version {record.from_version}: reload the plan and amend it again"
        )
    if stored.fee.currency != plan.fee.currency:
        raise InvalidPlanError(
            f"expected a version of {plan.id} in {stored.currency}, got one in {plan.currency}"
        )


@frozen
class EventOutcome:
    """How one inbox transaction ends: the ledger to write and each event's new status.

    Attributes:
        ledger: The ledger after the events that apply.
        entries: The entries to insert (new to the ledger).
        status: Each event id's new status.
        error: The reason for each event that did not apply.
    """

    ledger: Ledger | None
    entries: tuple[LedgerEntry, ...]
    status: dict[str, InboxStatus]
    error: dict[str, str]


def settle_events(
    plan: PaymentPlan | None, ledger: Ledger | None, event: ProviderEvent, pending: Sequence[ProviderEvent]
) -> EventOutcome:
    """Apply *event*, and the plan's *pending* (deferred) events it may unblock, to *ledger*.

    An unknown plan, an amount in another currency or a money event without
    an amount fails *event* (kept, retryable); one the ledger cannot take
    yet is deferred; the rest apply.
    """
    eid = event.id
    if plan is None or ledger is None:
        return EventOutcome(
            None, (), {eid: InboxStatus.FAILED}, {eid: f"expected a plan the store holds, got {event.plan_id!r}"}
        )
    if event.amount is not None and event.amount.currency != plan.fee.currency:
        return EventOutcome(
            None, (), {eid: InboxStatus.FAILED},
            {eid: f"expected an amount in {plan.currency} for plan {plan.id}, got {event.amount}"},
        )
    try:
        event_entry(event)
    except LedgerError as exc:
        return EventOutcome(None, (), {eid: InboxStatus.FAILED}, {eid: str(exc)})
    others = [p for p in pending if p.id != eid]
    result = apply_events(ledger, [event, *others])
    fresh = tuple(e for e in result.ledger if e.id not in ledger)
    status = {e.id: InboxStatus.APPLIED for e in (*result.recorded, *result.notices, *result.duplicates)}
    error: dict[str, str] = {}
    for e in result.deferred:
        status[e.id] = InboxStatus.DEFERRED
        error[e.id] = _why_deferred(result.ledger, e)
    return EventOutcome(result.ledger, fresh, status, error)


def _why_deferred(ledger: Ledger, event: ProviderEvent) -> str:
    entry = event_entry(event)
    if entry is None:  # pragma: no cover - notices always apply
        return "deferred"
    try:
        ledger.record(entry)
    except LedgerError as exc:
        return f"the ledger cannot take it yet: {exc}"
    return "deferred"  # pragma: no cover - it would have applied


def check_batch(batch_size: int, shard: int, shards: int) -> None:
    if type(batch_size) is not int or batch_size < 1:
        raise StoreError(f"expected a batch size of 1 or more, got {batch_size!r}")
    if type(shards) is not int or shards < 1 or type(shard) is not int or not 0 <= shard < shards:
        raise StoreError(f"expected shard in 0..shards-1 and shards >= 1, got shard={shard!r}, shards={shards!r}")


def check_claim(
    as_of: object, worker: object, limit: object, lease: object, after: object, shard: int, shards: int
) -> None:
    """Refuse claim arguments that are not a date, a worker name, a positive limit and lease, a shard."""
    if type(as_of) is not dt.date:
        raise StoreError(f"expected the run's date as a datetime.date, got {as_of!r}")
    if not isinstance(worker, str) or not worker or len(worker) > 255:
        raise StoreError(f"expected a worker name of 1 to 255 characters, got {worker!r}")
    if not isinstance(lease, dt.timedelta) or lease < dt.timedelta(0):
        raise StoreError(f"expected a lease as a timedelta of 0 or more, got {lease!r}")
    if not isinstance(after, str):
        raise StoreError(f"expected after as a plan id (a string), got {after!r}")
    check_batch(limit, shard, shards)  # type: ignore[arg-type]
