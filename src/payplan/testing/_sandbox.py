"""Test doubles for payplan users: an in-memory sandbox payment provider.

:class:`SandboxProvider` implements the whole :class:`~payplan.providers.Provider`
interface in memory. It is driven by a date the caller advances, charges
installments when they fall due, follows scripted card outcomes, honours
idempotency keys, can simulate outages, and signs and verifies its own
webhooks, emitting the same normalized :class:`~payplan.providers.ProviderEvent`
values a real adapter does. ``payplan demo`` runs on it, and so can your tests::

    sandbox = SandboxProvider(today=dt.date(2026, 12, 1))
    binding = sandbox.publish(plan, Payer(payment_method_id=SandboxCard.SUCCESS.value))
    events = sandbox.advance_to(dt.date(2027, 1, 1))   # the deposit and installment 2 are charged

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from attrs import define, field, frozen

from .._money import Money, to_currency
from .._plan import PaymentPlan
from .._refunds import refund_key
from ..exceptions import (
    ProviderAuthError,
    ProviderConnectionError,
    ProviderRequestError,
)
from ..providers import (
    Capability,
    ChargeOutcome,
    ChargeStatus,
    EventKind,
    Payer,
    Provider,
    ProviderBinding,
    ProviderEvent,
    RefundOutcome,
    RefundStatus,
    fee_key,
    idempotency_key,
    refund_entry_id,
)

__all__ = ["SandboxCall", "SandboxCard", "SandboxFault", "SandboxProvider"]

_NAME = "sandbox"
_SIGNATURE_HEADER = "Sandbox-Signature"
_IGNORED_TYPE = "sandbox.ping"


class SandboxCard(enum.Enum):
    """Scripted card behaviours; the values are the payment method ids to use.

    The ids mirror Stripe's test payment methods, so a test written against
    the sandbox reads the same as one against Stripe's test mode.

    .. versionadded:: 0.1.0
    """

    SUCCESS = "pm_card_visa"
    """Every charge succeeds."""
    DECLINE = "pm_card_chargeDeclined"
    """Every charge is declined (``card_declined``)."""
    EXPIRED = "pm_card_chargeDeclinedExpiredCard"
    """Every charge is declined (``expired_card``)."""
    AUTHENTICATION = "pm_card_authenticationRequired"
    """Every charge needs the client to authenticate (3-D Secure)."""


class SandboxFault(enum.Enum):
    """An outage the sandbox can simulate on its next calls.

    .. versionadded:: 0.1.0
    """

    UNAVAILABLE = "unavailable"
    """The call fails before doing anything (like an HTTP 500)."""
    DROPPED = "dropped"
    """The connection drops before the call is handled."""
    LOST_RESPONSE = "lost_response"
    """The call is carried out, then its answer is lost."""


@frozen
class SandboxCall:
    """One call the sandbox received (for tests that check idempotency).

    Attributes:
        verb: ``publish``, ``update``, ``cancel``, ``charge`` or ``refund``.
        idempotency_key: The key the call was made under.
        fault: The simulated fault that answered it, if any.

    .. versionadded:: 0.1.0
    """

    verb: str
    idempotency_key: str
    fault: SandboxFault | None = None


_DECLINES: Mapping[SandboxCard, tuple[ChargeStatus, str | None, str | None]] = {
    SandboxCard.SUCCESS: (ChargeStatus.SUCCEEDED, None, None),
    SandboxCard.DECLINE: (ChargeStatus.DECLINED, "card_declined", "Your card was declined."),
    SandboxCard.EXPIRED: (ChargeStatus.DECLINED, "expired_card", "Your card has expired."),
    SandboxCard.AUTHENTICATION: (
        ChargeStatus.REQUIRES_ACTION,
        "authentication_required",
        "The client must authenticate this payment.",
    ),
}

_EVENT_OF_STATUS = {
    ChargeStatus.SUCCEEDED: EventKind.PAYMENT_SUCCEEDED,
    ChargeStatus.DECLINED: EventKind.PAYMENT_FAILED,
    ChargeStatus.REQUIRES_ACTION: EventKind.PAYMENT_ACTION_REQUIRED,
}


@define
class _Published:
    binding: ProviderBinding
    plan: PaymentPlan
    payer: Payer
    canceled: bool = False
    attempted: set[int] = field(factory=set)


@define
class _Charge:
    reference: str
    plan_id: str
    installment: int
    amount: Money
    status: ChargeStatus
    refunded: int = 0
    fee_id: str | None = None


class SandboxProvider(Provider):
    """An in-memory payment provider driven by a date the caller advances.

    It keeps the plans published to it, charges each installment
    automatically on :meth:`advance_to` once it falls due (one attempt per
    installment; further attempts are the caller's, through :meth:`charge`),
    and follows the card behaviour of the payer's payment method
    (:class:`SandboxCard`), or a script set with :meth:`script`. Every call
    that creates something or moves money is stored under its idempotency
    key, so repeating it returns the first answer and creates nothing.
    Webhook deliveries are signed with HMAC-SHA256 over ``"<t>.<body>"``
    (the scheme Stripe uses), and :meth:`parse_webhook` verifies them.

    Args:
        today: The sandbox's current date.
        webhook_secret: The secret webhook deliveries are signed with.
        tolerance: How far a delivery's timestamp may lie from the
            sandbox's clock (noon UTC of *today*) before it is stale.

    .. versionadded:: 0.1.0
    """

    name: ClassVar[str] = _NAME
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.ARBITRARY_DATES,
            Capability.UNEVEN_AMOUNTS,
            Capability.AUTOPAY,
            Capability.CHARGE_NOW,
            Capability.CHARGE_FEES,
            Capability.PARTIAL_REFUNDS,
            Capability.UPDATE,
            Capability.CANCEL,
            Capability.RECONCILE,
            Capability.GOODWILL_REFUNDS,
        }
    )

    def __init__(
        self,
        today: dt.date,
        *,
        webhook_secret: str = "whsec_sandbox",
        tolerance: dt.timedelta = dt.timedelta(days=1),
    ) -> None:
        if type(today) is not dt.date:
            raise ProviderRequestError(
                f"expected today as a datetime.date, got {type(today).__name__} {today!r}", provider=_NAME
            )
        self._today = today
        self._secret = webhook_secret.encode()
        self._tolerance = tolerance
        self._plans: dict[str, _Published] = {}
        self._charges: dict[str, _Charge] = {}
        self._done: dict[str, Any] = {}
        self._events: list[ProviderEvent] = []
        self._calls: list[SandboxCall] = []
        self._faults: list[SandboxFault] = []
        self._scripts: dict[str, list[SandboxCard]] = {}
        self._counter = 0
        self._created = 0

    # -- the sandbox's own controls --------------------------------------------

    @property
    def today(self) -> dt.date:
        """The sandbox's current date."""
        return self._today

    @property
    def events(self) -> tuple[ProviderEvent, ...]:
        """Every event emitted so far, in order."""
        return tuple(self._events)

    @property
    def calls(self) -> tuple[SandboxCall, ...]:
        """Every mutating call received so far, in order."""
        return tuple(self._calls)

    @property
    def created(self) -> int:
        """How many objects (schedules, charges, refunds) the sandbox has created."""
        return self._created

    def clear_calls(self) -> None:
        """Forget the recorded calls and any pending faults."""
        self._calls.clear()
        self._faults.clear()

    def inject_fault(self, fault: SandboxFault, count: int = 1) -> None:
        """Make the next *count* mutating calls fail with *fault*.

        Each fault raises :class:`~payplan.ProviderConnectionError`
        (retryable); with :attr:`SandboxFault.LOST_RESPONSE` the call was
        carried out first, so its retry returns what was done.
        """
        self._faults.extend([fault] * count)

    def script(self, payment_method_id: str, *outcomes: SandboxCard) -> None:
        """Make the next charges on *payment_method_id* behave as *outcomes*, in order.

        Once the script runs out, the payment method behaves as its own
        :class:`SandboxCard` value (or succeeds, for any other id).
        """
        self._scripts.setdefault(payment_method_id, []).extend(outcomes)

    def advance_to(self, date: dt.date) -> tuple[ProviderEvent, ...]:
        """Move the clock to *date* and charge every installment that fell due.

        Returns:
            The events emitted, in order.

        Raises:
            ProviderRequestError: *date* is before the sandbox's current date.
        """
        if type(date) is not dt.date or date < self._today:
            raise ProviderRequestError(
                f"expected a date on or after {self._today.isoformat()}, got {date!r}", provider=self.name
            )
        start = len(self._events)
        for day in _days(self._today, date):
            self._today = day
            for published in list(self._plans.values()):
                if published.canceled:
                    continue
                for inst in published.plan.installments:
                    if inst.due <= day and inst.number not in published.attempted:
                        if self._paid(published.plan.id, inst.number):
                            published.attempted.add(inst.number)
                            continue
                        self._charge(published, published.plan, inst.number, attempt=1)
        return tuple(self._events[start:])

    def authenticate(self, reference: str) -> ProviderEvent:
        """Complete a charge that required authentication, as the client would.

        Raises:
            ProviderRequestError: no such charge, or it does not await authentication.
        """
        charge = self._charges.get(reference)
        if charge is None or charge.status is not ChargeStatus.REQUIRES_ACTION:
            raise ProviderRequestError(
                f"expected a charge awaiting authentication, got {reference!r}", provider=self.name
            )
        charge.status = ChargeStatus.SUCCEEDED
        return self._emit(EventKind.PAYMENT_SUCCEEDED, charge.plan_id, charge.installment, charge.amount, reference)

    def delivery(self, event: ProviderEvent, *, timestamp: int | None = None) -> tuple[dict[str, str], bytes]:
        """Sign *event* as a webhook delivery: ``(headers, body)``.

        *timestamp* defaults to the sandbox's clock; pass another to test
        stale deliveries.
        """
        body = json.dumps(_event_to_json(event), sort_keys=True).encode()
        return self.sign(body, timestamp=timestamp), body

    def ping(self, event_id: str) -> tuple[dict[str, str], bytes]:
        """A signed delivery of an event type payplan ignores: ``(headers, body)``."""
        body = json.dumps({"id": event_id, "type": _IGNORED_TYPE}).encode()
        return self.sign(body), body

    def sign(self, body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> dict[str, str]:
        """The signature header for *body* (with another *secret* to test bad signatures)."""
        t = self._clock() if timestamp is None else timestamp
        key = self._secret if secret is None else secret.encode()
        mac = hmac.new(key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        return {_SIGNATURE_HEADER: f"t={t},v1={mac}"}

    # -- the Provider interface --------------------------------------------------

    def publish(self, plan: PaymentPlan, payer: Payer) -> ProviderBinding:
        """Keep *plan* and start charging it as it falls due."""
        self.check(plan)
        key = idempotency_key(plan, "publish")

        def work() -> ProviderBinding:
            existing = self._plans.get(plan.id)
            if existing is not None:
                return existing.binding
            binding = ProviderBinding(self.name, plan.id, plan.version, {"schedule": self._new_id("sch")})
            self._plans[plan.id] = _Published(binding, plan, payer)
            return binding

        result: ProviderBinding = self._call("publish", key, work)
        return result

    def update(self, binding: ProviderBinding, plan: PaymentPlan) -> ProviderBinding:
        """Replace the kept plan with its new version."""
        self.check(plan)
        published = self._published(binding)
        key = idempotency_key(plan, "update")

        def work() -> ProviderBinding:
            new = ProviderBinding(self.name, plan.id, plan.version, published.binding.ids, status=binding.status)
            old = published.plan.installments
            published.attempted = {
                n for n in published.attempted if n <= min(len(old), len(plan.installments))
                and old[n - 1] == plan.installments[n - 1]
            }
            published.plan = plan
            published.binding = new
            return new

        result: ProviderBinding = self._call("update", key, work, creates=False)
        return result

    def cancel(self, binding: ProviderBinding) -> None:
        """Stop charging the plan; emits one ``PLAN_CANCELED`` event."""
        published = self._published(binding)
        key = idempotency_key(binding.plan_id, "cancel", version=binding.plan_version)

        def work() -> None:
            if not published.canceled:
                published.canceled = True
                self._emit(EventKind.PLAN_CANCELED, binding.plan_id, None, None, binding.id("schedule"))

        self._call("cancel", key, work, creates=False)

    def charge(
        self, binding: ProviderBinding, plan: PaymentPlan, installment: int, *, attempt: int = 1
    ) -> ChargeOutcome:
        """Charge *installment* of *plan* now, following the payer's scripted card.

        An installment already paid (say attempt 1 went through but its
        answer was lost) is not charged again by a new attempt: the outcome
        is SUCCEEDED with the first charge's reference, as the Stripe
        adapter answers for an invoice already paid.
        """
        published = self._published(binding)
        plan.installment(installment)
        key = idempotency_key(plan, "charge", installment=installment, attempt=attempt)

        def work() -> ChargeOutcome:
            paid = self._paid_charge(plan.id, installment)
            if paid is not None:
                return ChargeOutcome(ChargeStatus.SUCCEEDED, plan.id, installment, paid.amount, attempt, paid.reference)
            return self._charge(published, plan, installment, attempt=attempt, key=key)

        result: ChargeOutcome = self._call("charge", key, work)
        return result

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
        """Charge a fee now on the payer's card, following its script; a fee paid once is not charged again."""
        published = self._published(binding)
        self._check_fee(binding, plan, amount)
        key = fee_key(plan.id, fee_id, amount, attempt=attempt)

        def work() -> ChargeOutcome:
            for c in self._charges.values():
                if c.plan_id == plan.id and c.fee_id == fee_id and c.status is ChargeStatus.SUCCEEDED:
                    return ChargeOutcome(c.status, plan.id, 0, c.amount, attempt, c.reference, fee_id=fee_id)
            status, code, message = _DECLINES[self._card(published.payer)]
            ref = self._new_id("ch")
            self._charges[ref] = _Charge(ref, plan.id, 0, amount, status, fee_id=fee_id)
            self._emit(_EVENT_OF_STATUS[status], plan.id, None, amount, ref, code)
            return ChargeOutcome(status, plan.id, 0, amount, attempt, ref, code, message, fee_id)

        result: ChargeOutcome = self._call("charge_fee", key, work)
        return result

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
        """Refund *amount* of a succeeded charge; more than is left is refused as a failed outcome.

        The key is *idempotency_key*, or :func:`~payplan.refund_key` of the
        plan, the charge, the amount and *sequence*. With *lowers_price*
        (a goodwill refund) the refund keeps that word, as a real provider
        keeps it in the refund's metadata: the outcome and the ``REFUNDED``
        event say so.

        .. versionchanged:: 0.2.0
           *lowers_price*.
        """
        self._published(binding)
        charge = self._charges.get(charge_reference)
        if charge is None or charge.plan_id != binding.plan_id:
            raise ProviderRequestError(
                f"expected a charge of plan {binding.plan_id}, got {charge_reference!r}", provider=self.name
            )
        key = idempotency_key or refund_key(binding.plan_id, charge_reference, amount, sequence=sequence)

        def work() -> RefundOutcome:
            left = charge.amount.minor - charge.refunded
            if charge.status is not ChargeStatus.SUCCEEDED or amount.currency != charge.amount.currency:
                return RefundOutcome(
                    RefundStatus.FAILED, amount, charge_reference, None, "nothing refundable", self.name
                )
            if not 0 < amount.minor <= left:
                return RefundOutcome(
                    RefundStatus.FAILED, amount, charge_reference, None,
                    f"expected at most {Money(left, amount.currency)} to refund, got {amount}", self.name,
                    lowers_price=lowers_price,
                )
            ref = self._refund(charge, amount, reason, lowers_price=lowers_price)
            return RefundOutcome(
                RefundStatus.SUCCEEDED, amount, charge_reference, ref, None, self.name, lowers_price=lowers_price
            )

        result: RefundOutcome = self._call("refund", key, work)
        return result

    def dashboard_refund(self, charge_reference: str, amount: Money, reason: str | None = None) -> ProviderEvent:
        """Refund part of a charge as a person would in the provider's dashboard, outside payplan.

        No idempotency key and no outcome: only the ``REFUNDED`` event tells
        payplan, as it does for a real provider's dashboard refund.

        Raises:
            ProviderRequestError: no such succeeded charge, or more than is left of it.
        """
        charge = self._charges.get(charge_reference)
        if (
            charge is None
            or charge.status is not ChargeStatus.SUCCEEDED
            or amount.currency != charge.amount.currency
            or not 0 < amount.minor <= charge.amount.minor - charge.refunded
        ):
            raise ProviderRequestError(
                f"expected a succeeded charge with at least {amount} left to refund, got {charge_reference!r}",
                provider=self.name,
            )
        self._refund(charge, amount, reason)
        return self._events[-1]

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> tuple[ProviderEvent, ...]:
        """Verify a sandbox delivery's signature and timestamp, then read its event."""
        header = _header(headers, _SIGNATURE_HEADER)
        if header is None:
            raise ProviderAuthError(f"expected a {_SIGNATURE_HEADER} header, got none", provider=self.name)
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            t = int(parts["t"])
            given = parts["v1"]
        except (KeyError, ValueError):
            raise ProviderAuthError(
                f"expected a {_SIGNATURE_HEADER} of the form t=<unix>,v1=<hex>, got {header!r}", provider=self.name
            ) from None
        expected = hmac.new(self._secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        if not given.isascii() or not hmac.compare_digest(expected, given):
            raise ProviderAuthError("the webhook signature does not match its body", provider=self.name)
        skew = abs(self._clock() - t)
        if skew > self._tolerance.total_seconds():
            raise ProviderAuthError(
                f"expected a delivery signed within {self._tolerance} of the sandbox clock, "
                f"got one {dt.timedelta(seconds=skew)} away",
                provider=self.name,
            )
        try:
            data = json.loads(body)
            if data["type"] == _IGNORED_TYPE:
                return ()
            return (_event_from_json(data, self.name),)
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
            # ValueError includes payplan's InvalidPlanError (a bad amount or date).
            raise ProviderRequestError(
                f"expected a sandbox event, got {body[:80]!r}: {type(exc).__name__}: {exc}", provider=self.name
            ) from exc

    def reconcile(self, binding: ProviderBinding, known: Iterable[str] = ()) -> tuple[ProviderEvent, ...]:
        """Every event of the plan whose id is not in *known*, in order."""
        self._published(binding)
        seen = set(known)
        return tuple(e for e in self._events if e.plan_id == binding.plan_id and e.id not in seen)

    # -- internals ------------------------------------------------------------------

    def _clock(self) -> int:
        noon = dt.datetime.combine(self._today, dt.time(12), tzinfo=dt.UTC)
        return int(noon.timestamp())

    def _new_id(self, prefix: str) -> str:
        self._counter += 1
        self._created += 1
        return f"{prefix}_{self._counter:06d}"

    def _published(self, binding: ProviderBinding) -> _Published:
        published = self._plans.get(binding.plan_id)
        if published is None or binding.provider != self.name:
            raise ProviderRequestError(
                f"expected a plan published to the sandbox, got {binding.provider} plan {binding.plan_id!r}",
                provider=self.name,
            )
        return published

    def _call(self, verb: str, key: str, work: Any, *, creates: bool = True) -> Any:
        fault = self._faults.pop(0) if self._faults else None
        self._calls.append(SandboxCall(verb, key, fault))
        if fault in (SandboxFault.UNAVAILABLE, SandboxFault.DROPPED):
            raise ProviderConnectionError(f"sandbox {verb}: simulated {fault.value}", provider=self.name)
        if key in self._done:
            result = self._done[key]
        else:
            result = work()
            self._done[key] = result
        if fault is SandboxFault.LOST_RESPONSE:
            raise ProviderConnectionError(f"sandbox {verb}: simulated lost response", provider=self.name)
        return result

    def _paid(self, plan_id: str, installment: int) -> bool:
        return self._paid_charge(plan_id, installment) is not None

    def _paid_charge(self, plan_id: str, installment: int) -> _Charge | None:
        for c in self._charges.values():
            if c.plan_id == plan_id and c.installment == installment and c.status is ChargeStatus.SUCCEEDED:
                return c
        return None

    def _refund(self, charge: _Charge, amount: Money, reason: str | None, *, lowers_price: bool = False) -> str:
        charge.refunded += amount.minor
        ref = self._new_id("re")
        installment = charge.installment or None
        self._emit(EventKind.REFUNDED, charge.plan_id, installment, amount, ref, reason, lowers_price=lowers_price)
        return ref

    def _card(self, payer: Payer) -> SandboxCard:
        pm = payer.payment_method_id or SandboxCard.SUCCESS.value
        queue = self._scripts.get(pm)
        if queue:
            return queue.pop(0)
        try:
            return SandboxCard(pm)
        except ValueError:
            return SandboxCard.SUCCESS

    def _charge(
        self, published: _Published, plan: PaymentPlan, installment: int, *, attempt: int, key: str | None = None
    ) -> ChargeOutcome:
        published.attempted.add(installment)
        amount = plan.installment(installment).amount
        status, code, message = _DECLINES[self._card(published.payer)]
        ref = self._new_id("ch")
        self._charges[ref] = _Charge(ref, plan.id, installment, amount, status)
        self._emit(_EVENT_OF_STATUS[status], plan.id, installment, amount, ref, code)
        outcome = ChargeOutcome(status, plan.id, installment, amount, attempt, ref, code, message)
        if key is None:  # an automatic charge: a later manual attempt 1 must not repeat it
            self._done[idempotency_key(plan, "charge", installment=installment, attempt=attempt)] = outcome
        return outcome

    def _emit(
        self,
        kind: EventKind,
        plan_id: str,
        installment: int | None,
        amount: Money | None,
        reference: str,
        reason: str | None = None,
        *,
        lowers_price: bool = False,
    ) -> ProviderEvent:
        sequence = len(self._events) + 1
        ident = (
            refund_entry_id(self.name, reference) if kind is EventKind.REFUNDED else f"{self.name}:evt_{reference}_{kind.value}"
        )
        event = ProviderEvent(
            id=ident,
            provider=self.name,
            kind=kind,
            plan_id=plan_id,
            occurred_on=self._today,
            installment=installment,
            amount=amount,
            reference=reference,
            reason=reason,
            sequence=sequence,
            lowers_price=lowers_price,
        )
        self._events.append(event)
        return event


def _days(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    low = name.lower()
    for key, value in headers.items():
        if key.lower() == low:
            return value
    return None


def _event_to_json(event: ProviderEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.kind.value,
        "plan_id": event.plan_id,
        "occurred_on": event.occurred_on.isoformat(),
        "installment": event.installment,
        "amount": None if event.amount is None else event.amount.minor,
        "currency": None if event.amount is None else event.amount.currency.code,
        "reference": event.reference,
        "reason": event.reason,
        "sequence": event.sequence,
        "lowers_price": event.lowers_price,
    }


def _event_from_json(data: dict[str, Any], provider: str) -> ProviderEvent:
    """The event in a sandbox delivery, every field read with its type and range checked."""
    from ..providers._payload import Fields

    read = Fields(provider, "sandbox delivery")
    if not isinstance(data, dict):
        raise read.error("the body", "an object", data)
    amount = read.optional_integer(data, "amount", "amount", minimum=1)
    installment = read.optional_integer(data, "installment", "installment", minimum=1, maximum=10_000)
    occurred = read.text(data, "occurred_on", "occurred_on")
    try:
        kind = EventKind(read.text(data, "type", "type"))
        on = dt.date.fromisoformat(occurred)
    except ValueError as exc:
        raise read.error("type or occurred_on", "an event kind and an ISO date", data.get("type")) from exc
    return ProviderEvent(
        id=read.text(data, "id", "id"),
        provider=provider,
        kind=kind,
        plan_id=read.text(data, "plan_id", "plan_id"),
        occurred_on=on,
        installment=installment,
        amount=None if amount is None else Money(amount, to_currency(read.text(data, "currency", "currency"))),
        reference=read.optional_text(data, "reference", "reference"),
        reason=read.optional_text(data, "reason", "reason"),
        sequence=read.optional_integer(data, "sequence", "sequence", maximum=2**63) or 0,
        lowers_price=_flag(read, data, "lowers_price"),
    )


def _flag(read: Any, data: dict[str, Any], key: str) -> bool:
    """An optional boolean field (absent in deliveries made before it existed: False)."""
    value = data.get(key, False)
    if type(value) is not bool:
        raise read.error(key, "true or false", value)
    return value

