"""The values a store keeps, and the :class:`Store` protocol every back end implements."""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from attrs import field, frozen

from .._amendments import AmendmentRecord, PlanHistory
from .._ledger import Ledger, LedgerEntry
from .._money import Money
from .._plan import PaymentPlan
from ..exceptions import DamagedRowError, StoreError
from ..providers import ProviderBinding, ProviderEvent

if TYPE_CHECKING:
    from ..guardrails import EvidencePack

__all__ = [
    "InboxEvent",
    "InboxStatus",
    "IngestResult",
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
]


@frozen
class StoredPlan:
    """A plan's current version with its ledger, as the store holds them.

    Attributes:
        plan: The current plan version.
        ledger: Every entry recorded for the plan, against that version.
        active: Whether the daily run should still look at the plan.

    .. versionadded:: 0.1.0
    """

    plan: PaymentPlan
    ledger: Ledger
    active: bool = True


class InboxStatus(enum.Enum):
    """Where a received webhook event stands.

    .. versionadded:: 0.1.0
    """

    APPLIED = "applied"
    """Recorded in the ledger (or a notice that records nothing); never applied again."""
    DEFERRED = "deferred"
    """The ledger cannot accept it yet (a refund before its payment); applied when it can."""
    FAILED = "failed"
    """Could not be applied (an unknown plan, another currency); kept with its error, retryable."""


@frozen
class InboxEvent:
    """One webhook event kept in the inbox, unique on ``(provider, event.id)``.

    Attributes:
        event: The verified, normalized event.
        body: The raw request body it came in.
        status: Applied, deferred or failed.
        attempts: How many times applying it was tried.
        error: Why the last attempt failed or was deferred, if it did not apply.

    .. versionadded:: 0.1.0
    """

    event: ProviderEvent
    body: bytes
    status: InboxStatus
    attempts: int = 1
    error: str | None = None


@frozen
class IngestResult:
    """What :meth:`Store.ingest` did with one event.

    Attributes:
        status: Where the event now stands.
        duplicate: The event was already applied before this call; nothing changed.
        recorded: The ids of the ledger entries this call wrote (the event's
            own and those of deferred events it unblocked).
        error: Why the event did not apply, if it did not.

    .. versionadded:: 0.1.0
    """

    status: InboxStatus
    duplicate: bool = False
    recorded: tuple[str, ...] = ()
    error: str | None = None


class OperationStatus(enum.Enum):
    """Where an outbound provider call stands.

    .. versionadded:: 0.1.0
    """

    RESERVED = "reserved"
    """The key is reserved; the call is about to be made (or a crash cut it short)."""
    SUCCEEDED = "succeeded"
    """The provider reached a decision and it was recorded (a decline included)."""
    FAILED = "failed"
    """The provider refused the request; the same key will not help."""
    UNKNOWN = "unknown"
    """No answer came back: retry with the same key, or reconcile."""


@frozen
class Operation:
    """One money-moving provider call, reserved under its idempotency key before it is sent.

    Attributes:
        key: The idempotency key (unique).
        provider: The provider's name.
        plan_id: The plan it concerns.
        action: ``charge``, ``refund``, ``publish``...
        status: Reserved, succeeded, failed or unknown.
        installment: The installment, where there is one.
        attempt: The attempt number.
        amount: The amount it moves, where it moves money.
        reference: The provider's id for what it created, once known.
        error: The last error, if any.

    .. versionadded:: 0.1.0
    """

    key: str
    provider: str
    plan_id: str
    action: str
    status: OperationStatus = OperationStatus.RESERVED
    installment: int | None = None
    attempt: int = 1
    amount: Money | None = None
    reference: str | None = None
    error: str | None = None


class ReminderStatus(enum.Enum):
    """Where a reminder stands.

    .. versionadded:: 0.1.0
    """

    RESERVED = "reserved"
    """About to be sent (or a crash cut the sending short)."""
    SENT = "sent"
    """Handed to the notifier."""
    DROPPED = "dropped"
    """Reserved, cut short by a crash, and no longer true by the next run (never sent).

    .. versionadded:: 0.2.0
    """


@frozen
class ReminderRecord:
    """A reminder reserved or sent, unique on ``(plan_id, reminder_id)``.

    Attributes:
        plan_id: The plan.
        reminder_id: The :attr:`payplan.Reminder.id`.
        on: The day it was reserved (the daily run's date).
        status: Reserved or sent.

    .. versionadded:: 0.1.0
    """

    plan_id: str
    reminder_id: str
    on: dt.date
    status: ReminderStatus = ReminderStatus.RESERVED


@frozen
class RunClaim:
    """One plan taken by one worker of the daily run for one date, unique on ``(as_of, plan_id)``.

    Attributes:
        as_of: The run's date.
        plan_id: The plan.
        worker: Who took it (the worker's name for this run).
        claimed_at: When it was taken (or taken over), timezone-aware.
        finished_at: When the worker finished it; None while it works (or
            if it died: the claim is taken over once its lease runs out).

    .. versionadded:: 0.2.0
    """

    as_of: dt.date
    plan_id: str
    worker: str
    claimed_at: dt.datetime
    finished_at: dt.datetime | None = None


class StepStatus(enum.Enum):
    """Where a lifecycle step (:class:`payplan.bookings.Bookings`) stands.

    .. versionadded:: 0.2.0
    """

    STARTED = "started"
    """Reserved: the step is under way, or a crash cut it short (running it again finishes it)."""
    DONE = "done"
    """Every part of the step is done and recorded; running it again changes nothing."""
    FAILED = "failed"
    """A provider refused a part of it (the parts before stay done); calling the step again tries again.

    :meth:`payplan.bookings.Bookings.resume` leaves it alone: a refusal
    (a plan the provider cannot express, a charge it cannot make) does not
    go away by itself.
    """


@frozen
class Step:
    """One lifecycle step, reserved in the store before it acts, unique on :attr:`key`.

    :class:`payplan.bookings.Bookings` reserves a step (a booking, an
    amendment, a cancellation, a refund, a payment asked for now) before
    it writes or sends anything, with what it was asked and what it decided
    (a cancellation's settlement, a refund's instructions) in
    :attr:`document`, and marks it done once every part of it is. A crash
    in between leaves it ``STARTED``: calling the step again (or
    :meth:`payplan.bookings.Bookings.resume`) carries out the same
    decision, each part once.

    Attributes:
        key: The step's key (unique): the plan, the step's name and its arguments.
        plan_id: The plan.
        name: ``book``, ``amend``, ``cancel``, ``refund`` or ``pay_now``.
        document: The step's arguments and decision, as JSON text (payplan's own format).
        status: Started, done or failed.
        result: What the step ended with (or why it failed), as JSON text.

    .. versionadded:: 0.2.0
    """

    key: str
    plan_id: str
    name: str
    document: str = field(repr=False)
    status: StepStatus = StepStatus.STARTED
    result: str | None = field(default=None, repr=False)


def _check_evidence(_: object, __: object, value: str | None) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise StoreError(f"expected the evidence pack as its JSON text (EvidencePack.to_json()) or None, got {value!r}")


def _check_signed_at(_: object, __: object, value: dt.datetime) -> None:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise StoreError(
            f"expected the signature's time as a timezone-aware datetime, got {value!r}"
        )


@frozen
class SignedAgreement:
    """The payment agreement a client signed, for one plan version.

    The store keeps the text word for word with its SHA-256 digest, and
    refuses to read back a text that no longer matches the digest taken
    when it was signed; the same holds for the evidence pack kept with it.

    Attributes:
        plan_id: The plan.
        version: The plan version the text was rendered from.
        text: The agreement exactly as shown to the client.
        signed_by: Who signed (a name, an e-mail).
        signed_at: When the client signed, timezone-aware (the store keeps
            the instant; show it in the site's own zone).
        evidence: The evidence pack frozen at signing, as its JSON
            (:meth:`payplan.guardrails.EvidencePack.to_json`), or None.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *evidence*.
    """

    plan_id: str
    version: int
    text: str = field(repr=False)
    signed_by: str
    signed_at: dt.datetime = field(validator=_check_signed_at)
    evidence: str | None = field(default=None, repr=False, validator=_check_evidence)

    @property
    def evidence_sha256(self) -> str | None:
        """The SHA-256 digest of :attr:`evidence`, in hex, or None without one."""
        return None if self.evidence is None else hashlib.sha256(self.evidence.encode()).hexdigest()

    def evidence_pack(self) -> EvidencePack | None:
        """The evidence pack kept with the agreement, read back (None without one).

        Raises:
            SerializationError: the stored evidence is not an evidence pack.
        """
        if self.evidence is None:
            return None
        from ..guardrails import EvidencePack

        return EvidencePack.from_json(self.evidence)

    @property
    def sha256(self) -> str:
        """The SHA-256 digest of :attr:`text` (UTF-8), in hex: what the client agreed to."""
        return hashlib.sha256(self.text.encode()).hexdigest()


@runtime_checkable
class Store(Protocol):
    """What a booking site persists, whatever the database.

    Every method is one transaction: it is done whole or not at all. Back
    ends: :class:`~payplan.store.MemoryStore` (tests) and
    :class:`~payplan.store.sql.SQLStore` (SQLite, PostgreSQL), which
    :meth:`open` picks from a URL.

    What each part of payplan uses:

    * **A booking site**: :meth:`add_plan` when a client books;
      :meth:`save_binding` after publishing to a provider;
      :meth:`save_agreement` when the client signs; :meth:`load` for the
      client page.
    * **Amendments**: :meth:`save_version` saves a new plan version with its
      amendment record only if the stored version is the one it was amended
      from (optimistic concurrency); otherwise
      :class:`~payplan.StoreConflictError`, and the caller reloads and
      amends again.
    * **The webhook inbox** (:func:`~payplan.store.receive_webhook`):
      :meth:`ingest` stores the event unique on ``(provider, event id)``
      and applies it to the ledger in the same transaction; :meth:`inbox`
      lists what is kept; :meth:`retry_pending` applies deferred and failed
      events again (after a restart, or once a plan exists).
    * **The daily run** (the engine): :meth:`active_plans` iterates the
      active plans in batches of ``(plan, ledger)``, optionally one shard of
      ``shards`` so several workers share a day;
      :meth:`record_entries` records late fees and outcomes;
      :meth:`reserve_operation` then :meth:`complete_operation` wrap every
      money-moving provider call (see :func:`~payplan.store.charge`);
      :meth:`reserve_reminder` then :meth:`mark_reminder_sent` wrap every
      reminder, so none is sent twice (:meth:`reserved_reminders` finds the
      ones a crash cut short, :meth:`drop_reminder` retires one no longer
      true); :meth:`set_active` takes a finished plan out of the run.
      Several workers sharing one date take disjoint batches with
      :meth:`claim_plans` and hand them back with :meth:`finish_claims`.

    Errors: :class:`~payplan.UnknownPlanError` for a plan the store does not
    hold; :class:`~payplan.StoreConflictError` when another writer got there
    first; :class:`~payplan.StoreUnavailableError` when the database did not
    answer; :class:`~payplan.LedgerError` for an entry the ledger refuses.
    Nothing is written by a call that raises.

    .. versionadded:: 0.1.0
    """

    @staticmethod
    def open(url: str, **options: Any) -> Store:
        """Open the store at *url*: ``memory://``, ``sqlite:///payplan.db``, ``postgresql+psycopg://...``.

        SQL URLs need the ``payplan[store]`` extra (and ``payplan[postgres]``
        for PostgreSQL); see :func:`payplan.store.open_store`.

        Raises:
            StoreError: the URL is not one payplan can open.
            SchemaVersionError: the database's schema is older or newer than
                the code; the message says what to run.
        """
        from ._open import open_store

        return open_store(url, **options)

    # -- plans -------------------------------------------------------------------

    def add_plan(self, plan: PaymentPlan, *, entries: Iterable[LedgerEntry] = ()) -> StoredPlan:
        """Keep a new plan (and any first entries, such as the deposit).

        Raises:
            StoreConflictError: a plan with this id is already stored.
            LedgerError: an entry the plan's ledger refuses.
        """
        ...

    def load(self, plan_id: str) -> StoredPlan:
        """The plan's current version and its ledger.

        Raises:
            UnknownPlanError: no such plan.
        """
        ...

    def history(self, plan_id: str) -> PlanHistory:
        """Every version of the plan with the amendment records between them.

        Raises:
            UnknownPlanError: no such plan.
        """
        ...

    def save_version(
        self, plan: PaymentPlan, record: AmendmentRecord, *, entries: Iterable[LedgerEntry] = ()
    ) -> StoredPlan:
        """Save *plan*, the version *record* made, if the store still holds ``record.from_version``.

        *entries* (a fee waived with the amendment, say) are recorded in
        the same transaction.

        Raises:
            StoreConflictError: the stored version is no longer the one
                amended (another worker saved first): reload and amend again.
            UnknownPlanError: no such plan.
            InvalidPlanError: *record* does not take this plan to *plan*'s version.
        """
        ...

    def record_entries(self, plan_id: str, entries: Iterable[LedgerEntry]) -> StoredPlan:
        """Append *entries* to the plan's ledger, all or none.

        An entry equal to one already recorded under the same id is a no-op,
        so recording the same outcome twice counts once. Only the new rows
        are written, never the whole ledger.

        Raises:
            UnknownPlanError: no such plan.
            LedgerError: an entry the ledger refuses (a reused id, a refund
                above what was paid, another currency); nothing is written.
        """
        ...

    def set_active(self, plan_id: str, active: bool) -> None:
        """Put the plan in or out of :meth:`active_plans` (a plan paid in full, cancelled).

        Raises:
            UnknownPlanError: no such plan.
        """
        ...

    def deactivate(self, plan_ids: Iterable[str]) -> None:
        """Take the plans out of :meth:`active_plans`, in one transaction (the daily run's finished plans).

        Ids the store does not hold are ignored.

        .. versionadded:: 0.2.0
        """
        ...

    def plan_ids(self) -> tuple[str, ...]:
        """Every stored plan id, sorted."""
        ...

    def portfolio(self, *, active: bool | None = None) -> tuple[tuple[PaymentPlan, Ledger], ...]:
        """Every stored plan with its ledger, by plan id: the "book" the reports take.

        Pass the result to :func:`payplan.aging`, :func:`payplan.forecast`,
        :func:`payplan.overdue` and the other reports as it is. With
        *active*, only the plans in (True) or out of (False) the daily run.

        .. versionadded:: 0.2.0
        """
        ...

    def active_plans(
        self,
        *,
        batch_size: int = 500,
        shard: int = 0,
        shards: int = 1,
        damaged: Callable[[DamagedRowError], None] | None = None,
    ) -> Iterator[Sequence[StoredPlan]]:
        """The active plans in batches of at most *batch_size*, ordered by id.

        With ``shards=n``, only the plans of shard *shard* (0 to n - 1): a
        stable hash of the plan id decides, so *n* workers each take one
        shard and together see every plan exactly once.

        A plan with a damaged row (a document that does not decode or no
        longer matches its checksum) raises its :class:`DamagedRowError`;
        with *damaged*, it is given to *damaged* instead, left out of its
        batch, and the other plans still come (a batch may then be shorter,
        or a damaged batch skipped).

        .. versionchanged:: 0.2.0
           *damaged*.
        """
        ...

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
        """Take up to *limit* active plans for the run of *as_of*, in one short transaction; their plans and ledgers.

        A plan is taken when no worker took it for *as_of* yet, or when the
        worker that took it did not finish it within *lease* (it died): its
        claim is taken over. Workers calling this together get disjoint
        plans (on PostgreSQL the candidates are selected ``FOR UPDATE SKIP
        LOCKED``, so workers do not wait on each other; SQLite's single
        write lock makes the transaction exclusive). Plans come in id order,
        only those whose id sorts after *after* (pass the last id of the
        previous claim, then ``""`` with *wait* for a last pass that picks
        up what was skipped: it waits for plans other transactions hold
        instead of skipping them); with ``shards=n`` only shard *shard*.
        An empty result means nothing is left to take after *after*.

        A plan taken whose rows are damaged raises its
        :class:`DamagedRowError`; with *damaged*, it is given to *damaged*
        (still claimed by *worker*: release it with :meth:`finish_claims`)
        and left out of the result.

        .. versionadded:: 0.2.0
        """
        ...

    def finish_claims(
        self, as_of: dt.date, worker: str, done: Iterable[str] = (), *, released: Iterable[str] = ()
    ) -> None:
        """Mark *worker*'s claims of *done* finished; give back its claims of *released* (a later run retakes them).

        Only the worker's own unfinished claims change (one taken over by
        another worker stays theirs).

        .. versionadded:: 0.2.0
        """
        ...

    def claims(self, as_of: dt.date) -> tuple[RunClaim, ...]:
        """The claims of the run of *as_of*, by plan id.

        .. versionadded:: 0.2.0
        """
        ...

    # -- providers ---------------------------------------------------------------

    def save_binding(self, binding: ProviderBinding) -> None:
        """Keep where the plan lives at a provider, replacing that provider's binding.

        Raises:
            UnknownPlanError: no such plan.
        """
        ...

    def bindings(self, plan_id: str) -> tuple[ProviderBinding, ...]:
        """The plan's provider bindings, by provider name."""
        ...

    def current_binding(self, plan_id: str) -> ProviderBinding | None:
        """The plan's binding saved last (where the plan lives now), or None if it was never published.

        A plan published at one provider has one binding; one moved to
        another provider keeps the old binding too, and the one saved last
        is the current one (not the last of :meth:`bindings`, which are in
        provider-name order).

        Raises:
            UnknownPlanError: no such plan.

        .. versionadded:: 0.2.0
        """
        ...

    # -- the webhook inbox -------------------------------------------------------

    def ingest(self, event: ProviderEvent, body: bytes) -> IngestResult:
        """Store *event* in the inbox and apply it to its plan's ledger, in one transaction.

        The inbox is unique on ``(provider, event id)``: an event already
        applied is not applied again (``duplicate=True``). One that was
        deferred or failed is tried again (a provider's retry is never
        blocked). Applying it also applies any of the plan's deferred events
        it unblocks. An event that cannot apply yet is kept as deferred; an
        unknown plan or another currency is kept as failed with its error.
        """
        ...

    def inbox(
        self, *, status: InboxStatus | None = None, plan_id: str | None = None
    ) -> tuple[InboxEvent, ...]:
        """The kept events, oldest first, optionally of one status or plan."""
        ...

    def retry_pending(self) -> tuple[IngestResult, ...]:
        """Apply every deferred and failed event again, where it now can be."""
        ...

    # -- outbound operations -----------------------------------------------------

    def reserve_operation(self, operation: Operation) -> Operation:
        """Reserve *operation*'s idempotency key before the call is sent.

        Returns the operation as stored: *operation* itself when the key was
        free, or the earlier reservation of the same key (whose status says
        whether it already succeeded, failed or is unknown; calling again
        with the same key is safe, the provider answers the first result).
        """
        ...

    def complete_operation(
        self,
        key: str,
        status: OperationStatus,
        *,
        reference: str | None = None,
        error: str | None = None,
    ) -> Operation:
        """Record how the call under *key* ended.

        Raises:
            StoreError: no operation was reserved under *key*.
        """
        ...

    def operations(
        self, *, status: OperationStatus | None = None, plan_id: str | None = None
    ) -> tuple[Operation, ...]:
        """The recorded operations, optionally of one status (``UNKNOWN`` ones to reconcile) or plan."""
        ...

    # -- lifecycle steps ---------------------------------------------------------

    def reserve_step(self, step: Step) -> Step:
        """Reserve *step*'s key before the step acts; return the step as stored.

        *step* itself when the key was free; otherwise the earlier
        reservation of the same key, whose :attr:`Step.document` holds what
        that call decided (a rerun carries it out) and whose status says
        whether it is done.

        .. versionadded:: 0.2.0
        """
        ...

    def finish_step(self, key: str, result: str | None = None, *, status: StepStatus = StepStatus.DONE) -> Step:
        """Mark the step under *key* done (or failed, with *status*), with its *result* (JSON text).

        Raises:
            StoreError: no step was reserved under *key*.

        .. versionadded:: 0.2.0
        """
        ...

    def steps(self, *, plan_id: str | None = None, status: StepStatus | None = None) -> tuple[Step, ...]:
        """The reserved steps in the order they were reserved, optionally of one plan or status.

        ``status=StepStatus.STARTED`` lists the steps a crash cut short.

        .. versionadded:: 0.2.0
        """
        ...

    def claim_step(self, key: str, plan_id: str, *, wait: float = 30.0) -> contextlib.AbstractContextManager[None]:
        """Hold the step under *key* while the ``with`` body runs: one holder at a time, in any process.

        :class:`payplan.bookings.Bookings` claims a step after reserving it
        and before it acts, so a second caller of the same step (a double
        submit served by another process) waits here for the first, then
        reads the step as the first left it instead of calling the provider
        too. The claim is held by something taken back when its holder dies
        (a POSIX lock beside an SQLite file, a PostgreSQL session advisory
        lock), so a crash never leaves a step claimed.

        Args:
            key: The step's key.
            plan_id: The plan (for the error).
            wait: How long to wait for another holder, in seconds.

        Raises:
            StepInProgressError: another holder did not let go within *wait*.

        .. versionadded:: 0.3.0
        """
        ...

    # -- reminders ---------------------------------------------------------------

    def reserve_reminder(self, plan_id: str, reminder_id: str, on: dt.date) -> bool:
        """Reserve a reminder before sending it; False if it was reserved or sent before.

        Raises:
            UnknownPlanError: no such plan.
        """
        ...

    def mark_reminder_sent(self, plan_id: str, reminder_id: str) -> None:
        """Record that the reserved reminder was handed to the notifier.

        Raises:
            StoreError: the reminder was never reserved.
        """
        ...

    def mark_sent_and_reserve(
        self, sent: tuple[str, str] | None, plan_id: str, reminder_id: str, on: dt.date
    ) -> bool:
        """Mark *sent* ``(plan id, reminder id)`` sent and reserve the next reminder, in one transaction.

        :meth:`mark_reminder_sent` then :meth:`reserve_reminder` in one go:
        the daily run sends N messages in N + 1 transactions, and still
        never more than one is reserved but not marked sent. Returns what
        :meth:`reserve_reminder` returns; nothing is written if either part
        is refused.

        Raises:
            StoreError: *sent* was never reserved.
            UnknownPlanError: no such plan.

        .. versionadded:: 0.2.0
        """
        ...

    def reminders(self, plan_id: str) -> tuple[ReminderRecord, ...]:
        """The plan's reminders reserved or sent, in order of reservation."""
        ...

    def reserved_reminders(self) -> tuple[ReminderRecord, ...]:
        """Every reminder reserved and not marked sent or dropped (a crash cut its sending short), by plan.

        .. versionadded:: 0.2.0
        """
        ...

    def drop_reminder(self, plan_id: str, reminder_id: str) -> None:
        """Retire a reserved reminder that was never sent and is no longer true; it is never sent.

        Raises:
            StoreError: the reminder is not reserved (never reserved, or sent).

        .. versionadded:: 0.2.0
        """
        ...

    # -- agreements --------------------------------------------------------------

    def save_agreement(self, agreement: SignedAgreement) -> None:
        """Keep a signed agreement (one per plan version; signing again is refused).

        Raises:
            UnknownPlanError: no such plan.
            StoreConflictError: this plan version already has a signed agreement.
        """
        ...

    def agreements(self, plan_id: str) -> tuple[SignedAgreement, ...]:
        """The plan's signed agreements, by version."""
        ...

    # -- lifetime ----------------------------------------------------------------

    def close(self) -> None:
        """Release connections (the data stays)."""
        ...
