"""The provider interface: payplan types in and out, no SDK object across it.

This module imports no provider SDK. Each adapter lives in its own
subpackage (``payplan.providers.stripe``, ``.square``, ``.paypal``) behind
an optional extra, takes an SDK client the caller has already configured,
and translates the SDK's exceptions into the :class:`~payplan.ProviderError`
tree at the boundary.

The rules every adapter follows:

* A provider that reached a decision returns it as a value: a declined card
  is a :class:`ChargeOutcome` with ``status=DECLINED``, not an exception.
  Exceptions are for when no decision was reached.
* Every call that creates something or moves money carries an idempotency
  key that names the operation: :func:`idempotency_key` (plan id, plan
  version, action, installment or fee, attempt) for charges and plan
  objects, :func:`~payplan.refund_key` (plan, original payment, amount, the
  refund's own sequence) for refunds. A retry after a timeout never charges
  or refunds twice; two different refunds are two refunds.
* A charge retried with a new attempt number after a lost response checks
  first whether the installment was already paid, and charges nothing then.
* Every ``REFUNDED`` event of one provider refund has the id
  :func:`refund_entry_id` of that refund, whichever of the provider's event
  types carried it, and so does the entry :func:`record_refund` makes from
  the provider's answer: a refund lands in the ledger once.
* A schedule the provider cannot express exactly is refused by
  :meth:`Provider.check` with :class:`~payplan.UnsupportedByProviderError`
  saying why; nothing is ever rounded to fit.
* Webhooks are verified, then normalized into :class:`ProviderEvent` values
  with stable ids.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import abc
import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import ClassVar

from attrs import field, frozen

from .._calendar import Cadence
from .._ledger import Ledger, LedgerEntry, PaymentFailed, PaymentReceived, Refund
from .._money import Money
from .._plan import PaymentPlan
from .._refunds import RefundInstruction, fit_key
from .._schedule import InstallmentKind
from ..exceptions import LedgerError, PaymentFailedError, ProviderRequestError, UnsupportedByProviderError

__all__ = [
    "AppliedEvents",
    "Capability",
    "ChargeOutcome",
    "ChargeStatus",
    "EventKind",
    "Payer",
    "Provider",
    "ProviderBinding",
    "ProviderEvent",
    "RefundOutcome",
    "RefundStatus",
    "apply_events",
    "event_entry",
    "fee_key",
    "held",
    "idempotency_key",
    "record_refund",
    "refund_entry_id",
]


class Capability(enum.Enum):
    """What a provider can do or express.

    .. versionadded:: 0.1.0
    """

    ARBITRARY_DATES = "arbitrary_dates"
    """Each installment may fall on any date (not only a fixed cadence)."""
    UNEVEN_AMOUNTS = "uneven_amounts"
    """Installments may differ in amount (odd cents, progressive parts)."""
    AUTOPAY = "autopay"
    """The provider charges a saved payment method on the due date by itself."""
    CHARGE_NOW = "charge_now"
    """An installment can be charged on demand (:meth:`Provider.charge`)."""
    CHARGE_FEES = "charge_fees"
    """An amount owed that is not an installment (a late fee, a no-show or
    reschedule fee) can be charged on demand (:meth:`Provider.charge_fee`).

    .. versionadded:: 0.2.0
    """
    PARTIAL_REFUNDS = "partial_refunds"
    """Part of a payment can be refunded."""
    UPDATE = "update"
    """A published plan can be changed after an amendment."""
    CANCEL = "cancel"
    """A published plan can be cancelled."""
    RECONCILE = "reconcile"
    """The provider's view can be pulled to find events the ledger lacks."""
    BUYER_APPROVAL = "buyer_approval"
    """The buyer must approve the plan (a redirect) before anything is charged."""
    GOODWILL_REFUNDS = "goodwill_refunds"
    """A refund can say it lowers the price (``lowers_price=True``, a goodwill
    refund): the provider keeps that choice on the refund (its metadata) and
    the refund's events carry it back, so the ledger records a
    :meth:`~payplan.Refund.price_reduction` whether the answer or the
    webhook arrives first.

    .. versionadded:: 0.2.0
    """


def _as_ids(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@frozen
class Payer:
    """Who pays, as the provider knows them.

    Attributes:
        customer_id: The provider's customer id (``cus_...``, a Square
            customer id); None where the provider creates the payer itself
            (PayPal's buyer approval).
        payment_method_id: A saved card or payment method to charge
            automatically (Stripe ``pm_...``, Square ``ccof:...``).
        email: Where the provider sends invoices or receipts, if it does.

    .. versionadded:: 0.1.0
    """

    customer_id: str | None = None
    payment_method_id: str | None = None
    email: str | None = None


@frozen
class ProviderBinding:
    """Where a published plan lives at a provider.

    Attributes:
        provider: The provider's name.
        plan_id: The payplan plan id.
        plan_version: The plan version that was published or last updated.
        ids: The provider's object ids by role (``{"invoice": "inv_1",
            "invoice:2": "in_2", ...}``), read-only.
        approval_url: Where the buyer must go to approve, if anywhere.
        status: The provider's status word for the plan, if it has one.

    .. versionadded:: 0.1.0
    """

    provider: str
    plan_id: str
    plan_version: int
    ids: Mapping[str, str] = field(factory=dict, converter=_as_ids)
    approval_url: str | None = None
    status: str | None = None

    def id(self, role: str) -> str:
        """The provider id for *role*.

        Raises:
            UnsupportedByProviderError: the binding holds no id for *role*.
        """
        try:
            return self.ids[role]
        except KeyError:
            raise UnsupportedByProviderError(
                f"expected a {role!r} id in this {self.provider} binding, got only {sorted(self.ids)}",
                provider=self.provider,
            ) from None


class ChargeStatus(enum.Enum):
    """How a charge attempt ended.

    .. versionadded:: 0.1.0
    """

    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"
    """The client must authenticate (3-D Secure / SCA) before it can succeed."""
    PENDING = "pending"
    """Accepted, not yet settled; a webhook will say how it ended."""


@frozen
class ChargeOutcome:
    """The decision a provider reached on one charge attempt.

    Attributes:
        status: Succeeded, declined, requires action, or pending.
        plan_id: The plan charged.
        installment: The installment number charged; 0 for a fee (see *fee_id*).
        amount: The amount asked for.
        attempt: The attempt number (1 for the first try).
        reference: The provider's charge or payment id.
        decline_code: The provider's reason code for a decline (``"card_declined"``,
            ``"expired_card"``).
        message: A human-readable reason.
        fee_id: For a fee charged with :meth:`Provider.charge_fee`, the id
            of what was owed (the :class:`~payplan.LateFeeAssessed` entry id,
            or the caller's id of a no-show or reschedule fee).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *fee_id*.
    """

    status: ChargeStatus
    plan_id: str
    installment: int
    amount: Money
    attempt: int = 1
    reference: str | None = None
    decline_code: str | None = None
    message: str | None = None
    fee_id: str | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the money was taken."""
        return self.status is ChargeStatus.SUCCEEDED

    def raise_for_failure(self, provider: str = "provider") -> ChargeOutcome:
        """Return self if it succeeded or is pending, else raise :class:`~payplan.PaymentFailedError`."""
        if self.status in (ChargeStatus.SUCCEEDED, ChargeStatus.PENDING):
            return self
        what = f"fee {self.fee_id}" if self.fee_id is not None else f"installment {self.installment}"
        raise PaymentFailedError(
            f"{what} of plan {self.plan_id}: {self.status.value}"
            + (f" ({self.decline_code})" if self.decline_code else "")
            + (f": {self.message}" if self.message else ""),
            provider=provider,
            provider_code=self.decline_code,
        )


class RefundStatus(enum.Enum):
    """How a refund request ended.

    .. versionadded:: 0.1.0
    """

    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"


@frozen
class RefundOutcome:
    """The decision a provider reached on a refund.

    Attributes:
        status: Succeeded, pending (a refund event will say how it ended) or failed.
        amount: The amount refunded (or asked for, when it failed).
        charge_reference: The original payment's reference.
        reference: The provider's refund id.
        message: A human-readable reason for a failure.
        provider: The provider's name (adapters set it; :func:`record_refund` needs it).
        lowers_price: Whether the refund was asked for as one that lowers the
            price (a goodwill refund, see :attr:`Capability.GOODWILL_REFUNDS`).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *provider* and *lowers_price*.
    """

    status: RefundStatus
    amount: Money
    charge_reference: str
    reference: str | None = None
    message: str | None = None
    provider: str | None = None
    lowers_price: bool = field(default=False, kw_only=True)

    def entry(self, on: dt.date, reason: str = "") -> Refund | None:
        """The ledger entry of this refund if it succeeded, with the id its refund events carry.

        A :meth:`~payplan.Refund.price_reduction` when the refund lowers the
        price, else a :meth:`~payplan.Refund.reversal`. None for a pending
        or failed refund (a pending one lands through the provider's refund
        event), or one without a provider or refund id.
        """
        if self.status is not RefundStatus.SUCCEEDED or self.reference is None or self.provider is None:
            return None
        make = Refund.price_reduction if self.lowers_price else Refund.reversal
        return make(refund_entry_id(self.provider, self.reference), on, self.amount, reason, self.reference)


def refund_entry_id(provider: str, refund_reference: str) -> str:
    """The event and ledger id of the provider refund *refund_reference*.

    Every ``REFUNDED`` event of one refund carries this id, whichever of the
    provider's event types it came in (Stripe sends ``refund.created``,
    ``refund.updated`` and ``charge.refunded`` for one refund), and
    :meth:`RefundOutcome.entry` gives the same id: the refund is counted once.

    .. versionadded:: 0.2.0
    """
    return f"{provider}:{refund_reference}:refunded"


def record_refund(ledger: Ledger, outcome: RefundOutcome, on: dt.date, reason: str = "") -> Ledger:
    """Record a refund the provider confirmed, unless its refund event already did.

    A succeeded *outcome* becomes the entry :meth:`RefundOutcome.entry`;
    when the ledger already holds that id (the provider's refund event
    arrived first), nothing changes. A pending or failed outcome records
    nothing: the provider's refund event completes a pending one.

    Raises:
        LedgerError: the ledger refuses the refund (more than was paid, another currency).

    .. versionadded:: 0.2.0
    """
    entry = outcome.entry(on, reason)
    if entry is None or entry.id in ledger:
        return ledger
    return ledger.record(entry)


class EventKind(enum.Enum):
    """What a normalized provider event says happened.

    .. versionadded:: 0.1.0
    """

    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_ACTION_REQUIRED = "payment_action_required"
    REFUNDED = "refunded"
    PLAN_CANCELED = "plan_canceled"
    PLAN_SUSPENDED = "plan_suspended"


@frozen
class ProviderEvent:
    """A verified provider notification, normalized into payplan terms.

    The *id* is stable (derived from the provider's own event or object id),
    so the same delivery applied twice counts once.

    Attributes:
        id: Stable event id, prefixed with the provider name.
        provider: The provider's name.
        kind: What happened.
        plan_id: The payplan plan it concerns (from the provider metadata).
        occurred_on: The date it happened, in the plan's time zone where known.
        installment: The installment number, where the provider says.
        amount: The amount moved, where money moved.
        reference: The provider's payment, charge or refund id.
        reason: A decline code or cancellation reason.
        sequence: The provider's ordering hint (event creation time), used
            to apply out-of-order deliveries in order.
        lowers_price: On a ``REFUNDED`` event, whether payplan asked for the
            refund as one that lowers the price (it said so in the refund's
            metadata); a refund made in the provider's dashboard carries no
            such word and is a reversal.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *lowers_price*.
    """

    id: str
    provider: str
    kind: EventKind
    plan_id: str
    occurred_on: dt.date
    installment: int | None = None
    amount: Money | None = None
    reference: str | None = None
    reason: str | None = None
    sequence: int = 0
    lowers_price: bool = field(default=False, kw_only=True)


def event_entry(event: ProviderEvent) -> LedgerEntry | None:
    """The ledger entry a provider event records, or None for a notice.

    The entry id is the event id, so the same event recorded twice counts
    once. A payment becomes :class:`~payplan.PaymentReceived`, a failed or
    action-required attempt :class:`~payplan.PaymentFailed`, a refund
    :class:`~payplan.Refund`. Cancellation and suspension move no money and
    record nothing (the settlement is the business's decision). A refund
    is a :meth:`~payplan.Refund.price_reduction` when the event says it
    lowers the price (a goodwill refund payplan asked for), else a
    :meth:`~payplan.Refund.reversal` (the money is owed again).

    Raises:
        LedgerError: a money event without its amount.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Goodwill refunds (``lowers_price``) are price reductions.
    """
    kind = event.kind
    if kind in (EventKind.PLAN_CANCELED, EventKind.PLAN_SUSPENDED):
        return None
    if kind in (EventKind.PAYMENT_FAILED, EventKind.PAYMENT_ACTION_REQUIRED):
        return PaymentFailed(
            event.id, event.occurred_on, event.reason or kind.value, event.installment, event.amount, event.reference
        )
    if event.amount is None:
        raise LedgerError(f"expected an amount on {kind.value} event {event.id}, got none")
    if kind is EventKind.PAYMENT_SUCCEEDED:
        return PaymentReceived(event.id, event.occurred_on, event.amount, event.provider, event.reference)
    # A refund is a reversal (the money is owed again) unless payplan asked for it as a
    # goodwill refund and the provider carried that word back (its metadata).
    make = Refund.price_reduction if event.lowers_price else Refund.reversal
    return make(event.id, event.occurred_on, event.amount, event.reason or "", event.reference)


@frozen
class AppliedEvents:
    """What :func:`apply_events` did.

    Attributes:
        ledger: The ledger with every acceptable event recorded.
        recorded: The events now in the ledger (including any already there), in applied order.
        notices: Events that record nothing (cancellation, suspension).
        deferred: Events the ledger cannot accept yet (a refund before its
            payment arrived, an id already used by another entry); pass them
            again with later deliveries.
        duplicates: Events whose money the ledger already held (see
            :func:`held`): under the same id, amount and kind from another
            delivery (a refund that :func:`record_refund` recorded from the
            provider's answer, or another of the provider's event types for
            the same refund), or a payment the daily run recorded from the
            provider's answer under the same provider reference.
        refused: Events that can never be recorded, each with the reason
            (an amount in another currency than the ledger's, or not above
            zero): "never", where *deferred* is "not yet".

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       *duplicates* and *refused*.
    """

    ledger: Ledger
    recorded: tuple[ProviderEvent, ...] = ()
    notices: tuple[ProviderEvent, ...] = ()
    deferred: tuple[ProviderEvent, ...] = ()
    duplicates: tuple[ProviderEvent, ...] = ()
    refused: tuple[tuple[ProviderEvent, str], ...] = ()


def apply_events(ledger: Ledger, events: Iterable[ProviderEvent]) -> AppliedEvents:
    """Record provider events in *ledger*, whatever order and however often they arrived.

    Events are de-duplicated by id and applied in ``(sequence, id)``
    order; those the ledger refuses are retried until nothing more goes in,
    so a refund delivered before its payment is recorded once the payment
    is among the events. Applying the same events twice, or any permutation
    of them, gives an equal ledger and the same deferred events. Nothing is
    lost: what cannot be recorded yet comes back in
    :attr:`AppliedEvents.deferred`.

    An event that can never be recorded (an amount in another currency, or
    not above zero) is not deferred: it comes back in
    :attr:`AppliedEvents.refused` with the reason.

    Raises:
        LedgerError: an event of another plan than the ledger's.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Events that can never be recorded are refused, not deferred.
    """
    unique: dict[str, ProviderEvent] = {}
    seen: list[ProviderEvent] = []
    for event in events:
        if ledger.plan_id is not None and event.plan_id != ledger.plan_id:
            raise LedgerError(
                f"expected events of plan {ledger.plan_id!r}, got {event.id} of plan {event.plan_id!r}"
            )
        unique.setdefault(event.id, event)
    refused: list[tuple[ProviderEvent, str]] = []
    for event in list(unique.values()):
        why = _never(ledger, event)
        if why is not None:
            refused.append((event, why))
            del unique[event.id]
    pending = sorted(unique.values(), key=lambda e: (e.sequence, e.id))
    recorded: list[ProviderEvent] = []
    notices: list[ProviderEvent] = []
    progress = True
    while pending and progress:
        progress = False
        waiting: list[ProviderEvent] = []
        for event in pending:
            try:
                entry = event_entry(event)
                if entry is None:
                    notices.append(event)
                elif held(ledger, entry):
                    # Money already recorded: under this id (a refund that its API answer, or
                    # another of the provider's event types, recorded), or a payment the daily
                    # run recorded from the provider's answer under the same provider reference.
                    seen.append(event)
                else:
                    ledger = ledger.record(entry)
                    recorded.append(event)
                progress = True
            except LedgerError:
                waiting.append(event)
        pending = waiting
    return AppliedEvents(
        ledger, tuple(recorded), tuple(notices), tuple(pending), tuple(seen),
        tuple(sorted(refused, key=lambda r: (r[0].sequence, r[0].id))),
    )


def _never(ledger: Ledger, event: ProviderEvent) -> str | None:
    """Why *event* can never be recorded in *ledger*, or None."""
    amount = event.amount
    if amount is None or event.kind in (EventKind.PLAN_CANCELED, EventKind.PLAN_SUSPENDED):
        return None
    if amount.currency != ledger.currency:
        return f"expected an amount in {ledger.currency.code}, got {amount} on {event.kind.value} event {event.id}"
    if amount.minor <= 0:
        return f"expected an amount above zero, got {amount} on {event.kind.value} event {event.id}"
    return None


def _same_money(existing: LedgerEntry | None, entry: LedgerEntry) -> bool:
    return (
        existing is not None
        and type(existing) is type(entry)
        and type(entry) is not PaymentFailed
        and existing.amount == entry.amount
    )


def held(ledger: Ledger, entry: LedgerEntry) -> bool:
    """Whether *ledger* already holds the money *entry* records, under its id or the provider's.

    The same money arrives twice when payplan moved it: once from the
    provider's answer (the daily run records a succeeded
    :class:`ChargeOutcome`, :func:`record_refund` a refund) and once from
    the provider's webhook, each under its own id. An entry is held when
    the ledger has its id with the same kind and amount, or, for a
    :class:`~payplan.PaymentReceived` with a provider reference, a payment
    of the same amount through the same provider with that reference: the
    provider's payment id names one payment, whoever recorded it first.
    Likewise a :class:`~payplan.PaymentFailed` with a reference is held
    when the ledger has a failure with that reference on the same day for
    the same installment, so a declined attempt counts once on the retry
    ladder and in the client's standing.

    .. versionadded:: 0.2.0
    """
    if _same_money(ledger.get(entry.id), entry):
        return True
    if type(entry) is PaymentFailed and entry.reference is not None:
        # One attempt, reported by the provider's answer and by its webhook: the same
        # reference, day and installment (a retry of the same invoice is another day).
        return any(
            type(e) is PaymentFailed
            and e.reference == entry.reference
            and e.on == entry.on
            and e.installment == entry.installment
            for e in ledger
        )
    if type(entry) is not PaymentReceived or entry.reference is None:
        return False
    return any(
        type(e) is PaymentReceived
        and e.reference == entry.reference
        and e.method == entry.method
        and e.amount == entry.amount
        for e in ledger
    )


def idempotency_key(
    plan: PaymentPlan | str,
    action: str,
    *,
    version: int | None = None,
    installment: int | None = None,
    attempt: int = 1,
) -> str:
    """The idempotency key of one provider call.

    Derived only from the plan id, the plan version, the action, the
    installment and the attempt number, so retrying the same call (after a
    timeout, a 500 or a dropped connection) sends the same key, and a new
    attempt after a decline sends a new one. Keys longer than 64
    characters are shortened to a SHA-256 digest, which fits every
    provider's limit (PayPal's is the tightest).

    .. versionadded:: 0.1.0
    """
    if isinstance(plan, PaymentPlan):
        plan_id = plan.id
        version = plan.version if version is None else version
    else:
        plan_id = plan
    parts = ["payplan", plan_id, f"v{version or 1}", action]
    if installment is not None:
        parts.append(f"i{installment}")
    parts.append(f"a{attempt}")
    return fit_key(":".join(parts))


def fee_key(plan_id: str, fee_id: str, amount: Money, *, attempt: int = 1) -> str:
    """The idempotency key of charging a fee (:meth:`Provider.charge_fee`).

    Derived from the plan, the fee's own id (a
    :class:`~payplan.LateFeeAssessed` entry id), its amount and the attempt
    number: retrying the same charge sends the same key, a new attempt
    after a decline sends a new one, and two fees never share a key. The
    plan version is left out: a fee retried after an amendment is the same fee.

    .. versionadded:: 0.2.0
    """
    return fit_key(f"payplan:{plan_id}:fee:{fee_id}:{amount.minor}{amount.currency.code}:a{attempt}")


class Provider(abc.ABC):
    """The interface every payment provider adapter implements.

    Subclasses declare :attr:`name`, :attr:`capabilities` and, where the
    provider has one, :attr:`max_installments`. Methods added to this class
    later always come with a default body, so third-party adapters keep
    working.

    .. versionadded:: 0.1.0
    """

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    max_installments: ClassVar[int | None] = None

    def check(self, plan: PaymentPlan) -> None:
        """Refuse a plan this provider cannot express exactly.

        The default checks :attr:`max_installments`, and uneven amounts and
        irregular dates against :attr:`capabilities`; adapters add their
        own limits.

        Raises:
            UnsupportedByProviderError: the plan cannot be expressed; the
                message says why.
        """
        lines = plan.installments
        regular = [i for i in lines if i.kind is not InstallmentKind.DEPOSIT]
        limit = self.max_installments
        if limit is not None and len(regular) > limit:
            raise UnsupportedByProviderError(
                f"{self.name} takes at most {limit} installments after the deposit, "
                f"plan {plan.id} has {len(regular)}",
                provider=self.name,
            )
        if Capability.UNEVEN_AMOUNTS not in self.capabilities and len({i.amount.minor for i in regular}) > 1:
            raise UnsupportedByProviderError(
                f"{self.name} charges every installment the same amount, plan {plan.id} has "
                f"{', '.join(str(i.amount) for i in regular)}",
                provider=self.name,
            )
        if Capability.ARBITRARY_DATES not in self.capabilities and len(regular) > 1:
            dues = tuple(i.due for i in regular)
            n = len(dues)
            # Anchored on the first installment, or one period after the booking or the deposit
            # (Jan 31 booked: Feb 28, Mar 31, Apr 30 is monthly, though Feb 28 + 1 month is Mar 28).
            anchors = {dues[0], lines[0].due, plan.booked}
            if not any(
                got[:n] == dues or got[1:] == dues
                for c in Cadence
                for got in (c.dates(a, n + 1) for a in anchors)
            ):
                raise UnsupportedByProviderError(
                    f"{self.name} charges on one fixed cadence, plan {plan.id} is due on "
                    f"{', '.join(d.isoformat() for d in dues)}",
                    provider=self.name,
                )

    @abc.abstractmethod
    def publish(self, plan: PaymentPlan, payer: Payer) -> ProviderBinding:
        """Put *plan* onto the provider; returns where it lives.

        Publishing the same plan version twice creates nothing twice.
        """

    def update(self, binding: ProviderBinding, plan: PaymentPlan) -> ProviderBinding:
        """Change a published plan to a new version of it (after an amendment)."""
        raise UnsupportedByProviderError(f"{self.name} cannot update a published plan", provider=self.name)

    def cancel(self, binding: ProviderBinding) -> None:
        """Stop a published plan: nothing more will be charged."""
        raise UnsupportedByProviderError(f"{self.name} cannot cancel a published plan", provider=self.name)

    def charge(
        self, binding: ProviderBinding, plan: PaymentPlan, installment: int, *, attempt: int = 1
    ) -> ChargeOutcome:
        """Charge one installment now; a decline is an outcome, not an exception.

        An installment already paid (a charge whose answer was lost, then
        retried as a new attempt) returns SUCCEEDED and charges nothing.
        """
        raise UnsupportedByProviderError(f"{self.name} cannot charge an installment on demand", provider=self.name)

    def charge_fee(
        self,
        binding: ProviderBinding,
        plan: PaymentPlan,
        fee_id: str,
        amount: Money,
        *,
        description: str = "",
        attempt: int = 1,
    ) -> ChargeOutcome:
        """Charge an amount owed that is not an installment (a late, no-show or reschedule fee) now.

        *fee_id* names what is owed (the :class:`~payplan.LateFeeAssessed`
        entry id, or the caller's own id of a no-show or reschedule fee); the
        idempotency key is :func:`fee_key` of it, its amount and *attempt*.
        The outcome has ``installment=0`` and ``fee_id``; a decline is an
        outcome, not an exception. A fee already paid is not charged again
        by a new attempt. *description* is sent to the provider: a retry
        passes the same one, as it passes the same amount. Providers that cannot charge on demand
        leave :attr:`Capability.CHARGE_FEES` out of their capabilities and
        refuse with :class:`~payplan.UnsupportedByProviderError`.

        .. versionadded:: 0.2.0
        """
        raise UnsupportedByProviderError(
            f"{self.name} cannot charge a fee on demand: collect it another way and record the payment",
            provider=self.name,
        )

    def _check_fee(self, binding: ProviderBinding, plan: PaymentPlan, amount: Money) -> None:
        """Refuse a fee charge for another plan or provider, or of an amount that is not a positive one in the plan's currency.

        Raises:
            ProviderRequestError: the binding is not this provider's binding of *plan*, or the amount is wrong.
        """
        if binding.provider != self.name or binding.plan_id != plan.id:
            raise ProviderRequestError(
                f"expected a {self.name} binding of plan {plan.id}, got a {binding.provider} binding of plan "
                f"{binding.plan_id}",
                provider=self.name,
            )
        if not isinstance(amount, Money) or amount.minor <= 0 or amount.currency != plan.fee.currency:
            raise ProviderRequestError(
                f"expected a positive fee in {plan.fee.currency.code}, got {amount!r}", provider=self.name
            )

    def refund(
        self,
        binding: ProviderBinding,
        charge_reference: str,
        amount: Money,
        *,
        reason: str | None = None,
        sequence: int = 1,
        idempotency_key: str | None = None,
        lowers_price: bool = False,
    ) -> RefundOutcome:
        """Refund *amount* of the payment *charge_reference*.

        The idempotency key is *idempotency_key* when given (a
        :class:`~payplan.RefundInstruction`'s), else
        :func:`~payplan.refund_key` of the plan, the payment, the amount and
        *sequence*: repeating a refund returns the first one, a refund of
        another amount is another refund, and a second refund of the same
        amount of the same payment is ``sequence=2``.

        *lowers_price* asks for a goodwill refund (the price drops, nothing
        is owed again); only adapters that declare
        :attr:`Capability.GOODWILL_REFUNDS` take it, keep it on the refund
        and give it back on the outcome and in the refund's events.
        :func:`payplan.store.refund` refuses it before any call for the others.

        .. versionchanged:: 0.2.0
           *sequence* (was *attempt*, which left the amount out of the key),
           *idempotency_key* and *lowers_price*.
        """
        raise UnsupportedByProviderError(f"{self.name} cannot refund through payplan", provider=self.name)

    def refund_instruction(
        self,
        binding: ProviderBinding,
        instruction: RefundInstruction,
        *,
        charge_reference: str | None = None,
        lowers_price: bool = False,
    ) -> RefundOutcome:
        """Carry out a settlement's :class:`~payplan.RefundInstruction` (its payment, amount and key).

        *charge_reference* names the provider's payment when the ledger
        recorded it without one (Square's invoice notifications carry no
        payment id); it defaults to the instruction's own reference.
        *lowers_price* is passed on to :meth:`refund` (a goodwill refund;
        see :attr:`Capability.GOODWILL_REFUNDS`).

        Raises:
            ProviderRequestError: the instruction is for another plan than
                *binding*, or names no provider payment and none was given.
            UnsupportedByProviderError: *lowers_price* with a provider that
                cannot carry it.

        .. versionadded:: 0.2.0
        """
        if instruction.plan_id != binding.plan_id:
            raise ProviderRequestError(
                f"expected a refund instruction of plan {binding.plan_id}, got one of plan {instruction.plan_id}",
                provider=self.name,
            )
        reference = charge_reference or instruction.reference
        if reference is None:
            raise ProviderRequestError(
                f"expected a provider payment to refund, got payment {instruction.payment_id!r} recorded without "
                "one: pass charge_reference=, or pay it back by hand and record instruction.entry(on)",
                provider=self.name,
            )
        if lowers_price:
            self._check_goodwill()
            return self.refund(
                binding, reference, instruction.amount,
                reason=instruction.reason or None, idempotency_key=instruction.idempotency_key, lowers_price=True,
            )
        return self.refund(
            binding, reference, instruction.amount,
            reason=instruction.reason or None, idempotency_key=instruction.idempotency_key,
        )

    def _check_goodwill(self) -> None:
        """Refuse a goodwill refund where the provider cannot carry the word back.

        Raises:
            UnsupportedByProviderError: the provider does not declare
                :attr:`Capability.GOODWILL_REFUNDS`.
        """
        if Capability.GOODWILL_REFUNDS not in self.capabilities:
            raise UnsupportedByProviderError(
                f"{self.name} cannot carry a goodwill refund (lowers_price=True) to its refund events, so the "
                "refund would be recorded as a reversal: refund outside the provider and record "
                "Refund.price_reduction yourself",
                provider=self.name,
            )

    @abc.abstractmethod
    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> tuple[ProviderEvent, ...]:
        """Verify a webhook delivery and normalize it.

        Returns the payplan events it carries (none for event types payplan
        ignores).

        Raises:
            ProviderAuthError: the signature is missing, wrong or stale.
            ProviderRequestError: the body is not a provider event.
        """

    def reconcile(self, binding: ProviderBinding, known: Iterable[str] = ()) -> tuple[ProviderEvent, ...]:
        """Pull the provider's view; return the events whose ids are not in *known*."""
        raise UnsupportedByProviderError(f"{self.name} cannot reconcile", provider=self.name)

    def close(self) -> None:  # noqa: B027 - optional hook with a default body
        """Release anything the adapter holds; the SDK client stays the caller's."""
