"""ProviderContract: the tests every payment provider adapter must pass.

An adapter's test module subclasses :class:`ProviderContract` and provides
three fixtures (function-scoped is fine; make the fake server itself
session-scoped)::

    class TestSquare(ProviderContract):
        @pytest.fixture
        def provider(self, square_server) -> Provider: ...      # the adapter under test
        @pytest.fixture
        def payer(self) -> Payer: ...                           # a payer whose card succeeds
        @pytest.fixture
        def harness(self, square_server) -> Harness: ...        # a Harness subclass, below

It may also override:

* ``plan`` (default: the reference Pack A plan, $500 on 2026-12-01,
  2027-01-01, 2027-02-01, 2027-03-01, with an id unique to the test, so a
  session-scoped fake never mixes two tests' objects);
* the class attribute ``webhook_kinds``: the :class:`~payplan.providers.EventKind`
  values the harness can deliver as signed webhooks (default: payment
  succeeded, payment failed, refunded).
* the class attribute ``stale_signatures``: False where the provider's
  signature scheme carries no timestamp (the stale test is then skipped
  with that reason).

A :class:`Harness` is the test's view of the provider's side: what it
received, what it created, faults to inject and webhooks to sign. Provider
calls are compared through :class:`Call` (method, path, idempotency key),
so one set of tests can speak about Stripe's ``Idempotency-Key`` header,
PayPal's ``PayPal-Request-Id`` and Square's ``idempotency_key`` body field.

What the contract checks (a test is skipped, with the reason shown, when the
provider declares it lacks the capability the test needs):

* capabilities are declared; ``publish`` returns a binding of plain strings;
* publishing the same plan version twice creates nothing twice;
* after an injected 500, a dropped connection, or a connection dropped
  after the provider did the work, the call raises a retryable
  ``ProviderConnectionError`` and the retry reuses every idempotency key and
  creates nothing twice;
* every mutating request carries a key derived from the plan id;
* a plan the provider cannot express is refused with
  ``UnsupportedByProviderError`` before anything is created;
* charge, decline (an outcome, not an exception), refund, cancel, update,
  reconcile;
* webhooks: each kind normalizes with exact amounts, an ignored type gives
  no events, bad, missing and stale signatures raise ``ProviderAuthError``,
  a replayed delivery gives the same event id, and duplicated and shuffled
  deliveries give the same ledger as one ordered delivery.
"""

from __future__ import annotations

import abc
import datetime as dt
import enum
import hashlib
import logging
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from payplan import (
    DepositRule,
    Ledger,
    Money,
    PaymentPlan,
    ProviderAuthError,
    ProviderConnectionError,
    UnsupportedByProviderError,
)
from payplan.providers import (
    Capability,
    ChargeStatus,
    EventKind,
    Payer,
    Provider,
    ProviderBinding,
    ProviderEvent,
    RefundStatus,
    apply_events,
)
from payplan.testing.server import Fault

__all__ = [
    "Call",
    "CardOutcome",
    "Delivery",
    "Fault",
    "Harness",
    "ProviderContract",
    "Signature",
    "WebhookSpec",
    "reference_plan",
]

USD = "USD"


def reference_plan(plan_id: str = "pack-a", *, version: int = 1) -> PaymentPlan:
    """The reference Pack A plan: $2000, 25% or $500 deposit, 3 monthly, booked 2026-12-01."""
    plan = PaymentPlan.with_deposit(
        plan_id,
        Money.of("2000.00", USD),
        deposit=DepositRule.percent_or_minimum(25, Money.of("500.00", USD)),
        installments=3,
        dates="monthly",
        booked=dt.date(2026, 12, 1),
        session=dt.date(2027, 4, 15),
    )
    if version != 1:
        import attrs

        plan = attrs.evolve(plan, version=version)
    return plan


class Signature(enum.Enum):
    """How a test webhook delivery is signed."""

    VALID = "valid"
    BAD = "bad"
    """Signed with the wrong secret (or the body altered after signing)."""
    STALE = "stale"
    """Validly signed, but with a timestamp far outside the tolerance."""
    MISSING = "missing"
    """No signature header at all."""


class CardOutcome(enum.Enum):
    """A scripted card behaviour a harness can give a payer."""

    SUCCESS = "success"
    DECLINE = "decline"
    EXPIRED = "expired"
    AUTHENTICATION = "authentication"


@dataclass(frozen=True)
class Call:
    """One request the provider's side received, in provider-neutral terms.

    Attributes:
        method: HTTP method (the sandbox uses its verb, e.g. ``"publish"``).
        path: HTTP path (the sandbox uses the same verb).
        idempotency_key: The key it carried, from wherever the provider
            takes it (a header, a body field), or None.
        mutating: Whether it creates something or moves money.
        faulted: Whether an injected fault answered it.
    """

    method: str
    path: str
    idempotency_key: str | None
    mutating: bool
    faulted: bool = False


@dataclass(frozen=True)
class WebhookSpec:
    """A provider-neutral description of one webhook the harness must build and sign.

    Attributes:
        kind: What happened; None means an event type payplan ignores.
        plan: The plan it concerns.
        binding: Where the plan was published (for the provider's own ids).
        installment: The installment it is about, if any.
        amount: The amount moved, if any.
        event_id: The provider's event id (replays reuse it).
        sequence: Creation time as a Unix timestamp (the ordering hint).
        reference: The provider's payment/charge id, if any.
    """

    kind: EventKind | None
    plan: PaymentPlan
    binding: ProviderBinding
    event_id: str
    sequence: int
    installment: int | None = None
    amount: Money | None = None
    reference: str | None = None


@dataclass(frozen=True)
class Delivery:
    """A webhook delivery exactly as the HTTP endpoint would receive it."""

    headers: Mapping[str, str]
    body: bytes = field(repr=False)


class Harness(abc.ABC):
    """The provider's side of a contract test: what it received, faults, webhooks."""

    @abc.abstractmethod
    def calls(self) -> list[Call]:
        """Every request received since the last :meth:`clear`, in order."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Forget recorded calls and pending faults (the provider's objects stay)."""

    @abc.abstractmethod
    def inject(self, fault: Fault, count: int = 1) -> None:
        """Make the next *count* mutating calls fail with *fault*."""

    @abc.abstractmethod
    def created(self) -> int:
        """How many objects the provider has created so far (charges, invoices, ...)."""

    @abc.abstractmethod
    def delivery(self, spec: WebhookSpec, signature: Signature = Signature.VALID) -> Delivery:
        """Build the provider-native webhook for *spec* and sign it as asked."""

    def payer_for(self, outcome: CardOutcome) -> Payer:
        """A payer whose card behaves as *outcome* when charged."""
        pytest.skip(f"this harness cannot script a {outcome.value} card")

    def secrets(self) -> list[str]:
        """Every credential, token and webhook secret the adapter holds or was issued (none may leak)."""
        return []

    def mutating_calls(self) -> list[Call]:
        """The calls that create something or move money."""
        return [c for c in self.calls() if c.mutating]


def _unique_id(request: pytest.FixtureRequest) -> str:
    digest = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:10]
    return f"plan-{digest}"


class ProviderContract:
    """Tests every provider adapter passes; subclass it and provide the fixtures."""

    webhook_kinds: ClassVar[tuple[EventKind, ...]] = (
        EventKind.PAYMENT_SUCCEEDED,
        EventKind.PAYMENT_FAILED,
        EventKind.REFUNDED,
    )
    stale_signatures: ClassVar[bool] = True

    # -- fixtures adapters provide ------------------------------------------------

    @pytest.fixture
    def provider(self) -> Provider:
        """The adapter under test."""
        raise NotImplementedError("the adapter's test class provides a `provider` fixture")

    @pytest.fixture
    def payer(self) -> Payer:
        """A payer whose card succeeds."""
        raise NotImplementedError("the adapter's test class provides a `payer` fixture")

    @pytest.fixture
    def harness(self) -> Harness:
        """The provider's side of the test."""
        raise NotImplementedError("the adapter's test class provides a `harness` fixture")

    @pytest.fixture
    def plan(self, request: pytest.FixtureRequest) -> PaymentPlan:
        """The reference Pack A plan, with an id unique to the test."""
        return reference_plan(_unique_id(request))

    # -- no secret leaks ------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _no_secret_in_logs(
        self, caplog: pytest.LogCaptureFixture, provider: Provider, harness: Harness
    ) -> Iterator[None]:
        """Every contract test runs with all loggers at DEBUG; afterwards no secret may appear in a record or repr."""
        caplog.set_level(logging.DEBUG)
        yield
        secrets = [s for s in harness.secrets() if s]
        texts = [repr(provider)]
        for record in caplog.get_records("setup") + caplog.get_records("call"):
            texts.append(record.getMessage())
            texts.append(repr(record.args))
            if record.exc_info:
                texts.append(logging.Formatter().formatException(record.exc_info))
        assert_no_secret(secrets, texts)

    def test_no_secret_in_errors_or_reprs(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """Errors (a bad signature, a provider outage), the provider's and the binding's reprs name no secret."""
        binding = self.publish_clean(provider, harness, plan, payer)
        texts = [repr(provider), str(provider), repr(binding)]
        d = harness.delivery(self._spec(EventKind.PAYMENT_SUCCEEDED, plan, binding, 1), Signature.BAD)
        with pytest.raises(ProviderAuthError) as bad:
            provider.parse_webhook(d.headers, d.body)
        harness.inject(Fault.HTTP_500, count=1)
        other = reference_plan(plan.id + "-down")
        with pytest.raises(ProviderConnectionError) as down:
            provider.publish(other, payer)
        for info in (bad, down):
            exc: BaseException | None = info.value
            while exc is not None:
                texts += [str(exc), repr(exc)]
                exc = exc.__cause__ or exc.__context__
        assert harness.secrets(), "the harness names no secret to look for"
        assert_no_secret(harness.secrets(), texts)

    # -- helpers ------------------------------------------------------------------

    @staticmethod
    def need(provider: Provider, capability: Capability) -> None:
        if capability not in provider.capabilities:
            pytest.skip(f"{provider.name} does not declare {capability.name}")

    @staticmethod
    def publish_clean(provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer) -> ProviderBinding:
        harness.clear()
        return provider.publish(plan, payer)

    # -- declaration and publishing -------------------------------------------------

    def test_declares_name_and_capabilities(self, provider: Provider) -> None:
        """An adapter names itself and declares its capabilities as Capability values."""
        assert isinstance(provider.name, str)
        assert provider.name
        assert isinstance(provider.capabilities, frozenset)
        assert all(isinstance(c, Capability) for c in provider.capabilities)

    def test_publish_returns_binding_of_plain_strings(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """Publishing returns a binding naming the provider, the plan and its version, holding only strings."""
        binding = self.publish_clean(provider, harness, plan, payer)
        assert binding.provider == provider.name
        assert binding.plan_id == plan.id
        assert binding.plan_version == plan.version
        assert binding.ids
        assert all(type(k) is str and type(v) is str for k, v in binding.ids.items())
        assert harness.created() > 0

    def test_publish_twice_creates_nothing_twice(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """Publishing the same plan version again returns the same ids and creates nothing new."""
        first = self.publish_clean(provider, harness, plan, payer)
        created = harness.created()
        second = provider.publish(plan, payer)
        assert dict(second.ids) == dict(first.ids)
        assert harness.created() == created

    def test_every_mutating_call_carries_a_key_from_the_plan(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """Every call that creates something carries an idempotency key derived from the plan id."""
        self.publish_clean(provider, harness, plan, payer)
        mutating = harness.mutating_calls()
        assert mutating
        for call in mutating:
            assert call.idempotency_key, f"{call.method} {call.path} carried no idempotency key"
        keys = [c.idempotency_key for c in mutating]
        assert len(set(keys)) == len(keys), f"two different requests shared a key: {keys}"

    @pytest.mark.parametrize("fault", [Fault.HTTP_500, Fault.DROP, Fault.DROP_AFTER])
    def test_retry_after_fault_reuses_keys(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer, fault: Fault
    ) -> None:
        """A publish that failed mid-way raises a retryable error, and the retry reuses the failed call's key."""
        harness.clear()
        harness.inject(fault, count=1)
        with pytest.raises(ProviderConnectionError) as info:
            provider.publish(plan, payer)
        assert info.value.retryable
        assert info.value.provider == provider.name
        failed_keys = [c.idempotency_key for c in harness.mutating_calls() if c.faulted]
        assert failed_keys, "the injected fault hit no mutating call"
        binding = provider.publish(plan, payer)
        retried = [c.idempotency_key for c in harness.mutating_calls() if not c.faulted]
        for key in failed_keys:
            assert key in retried, f"the retry did not reuse the key {key!r}"
        assert binding.plan_id == plan.id

    def test_retry_after_fault_creates_exactly_what_a_clean_publish_creates(
        self, provider: Provider, harness: Harness, payer: Payer, request: pytest.FixtureRequest
    ) -> None:
        """A publish retried after a dropped-after-processing response creates the same number of objects as a clean one."""
        base = _unique_id(request)
        harness.clear()
        start = harness.created()
        provider.publish(reference_plan(base + "-clean"), payer)
        one = harness.created() - start
        for fault in (Fault.HTTP_500, Fault.DROP, Fault.DROP_AFTER):
            plan = reference_plan(f"{base}-{fault.value}")
            start = harness.created()
            harness.inject(fault, count=1)
            with pytest.raises(ProviderConnectionError):
                provider.publish(plan, payer)
            provider.publish(plan, payer)
            assert harness.created() - start == one, f"after {fault.value}"

    def test_refuses_what_it_cannot_express_before_creating_anything(
        self, provider: Provider, harness: Harness, payer: Payer, request: pytest.FixtureRequest
    ) -> None:
        """A plan outside the provider's capabilities is refused with a reason, and nothing is created."""
        base = _unique_id(request)
        uneven = PaymentPlan.custom(
            base + "-uneven",
            [
                (dt.date(2026, 12, 1), Money.of("500.00", USD)),
                (dt.date(2027, 1, 10), Money.of("700.01", USD)),
                (dt.date(2027, 2, 3), Money.of("799.99", USD)),
            ],
            booked=dt.date(2026, 12, 1),
            session=dt.date(2027, 4, 15),
        )
        irregular = PaymentPlan.custom(
            base + "-irregular",
            [
                (dt.date(2026, 12, 1), Money.of("500.00", USD)),
                (dt.date(2027, 1, 10), Money.of("500.00", USD)),
                (dt.date(2027, 2, 3), Money.of("500.00", USD)),
                (dt.date(2027, 3, 29), Money.of("500.00", USD)),
            ],
            booked=dt.date(2026, 12, 1),
            session=dt.date(2027, 4, 15),
        )
        count = (provider.max_installments or 0) + 1
        many = PaymentPlan.with_deposit(
            base + "-many",
            Money.of(str(100 * count + 500), USD),
            deposit=DepositRule.fixed(Money.of("500.00", USD)),
            installments=count,
            dates="weekly",
            booked=dt.date(2026, 12, 1),
            session=dt.date(2026, 12, 1) + dt.timedelta(weeks=count + 2),
        )
        cases = []
        if Capability.UNEVEN_AMOUNTS not in provider.capabilities:
            cases.append(uneven)
        if Capability.ARBITRARY_DATES not in provider.capabilities:
            cases.append(irregular)  # equal amounts, so only the dates are beyond the provider
        if provider.max_installments is not None:
            cases.append(many)
        if not cases:
            pytest.skip(f"{provider.name} declares it can express any plan")
        harness.clear()
        start = harness.created()
        for case in cases:
            with pytest.raises(UnsupportedByProviderError) as info:
                provider.publish(case, payer)
            assert str(info.value)
            assert info.value.provider == provider.name
        assert harness.created() == start
        assert harness.mutating_calls() == []

    def test_expresses_uneven_irregular_plans_exactly_when_declared(
        self, provider: Provider, harness: Harness, payer: Payer, request: pytest.FixtureRequest
    ) -> None:
        """A provider that declares uneven amounts and arbitrary dates publishes such a plan."""
        self.need(provider, Capability.UNEVEN_AMOUNTS)
        self.need(provider, Capability.ARBITRARY_DATES)
        plan = PaymentPlan.custom(
            _unique_id(request),
            [
                (dt.date(2026, 12, 1), Money.of("500.00", USD)),
                (dt.date(2027, 1, 10), Money.of("700.01", USD)),
                (dt.date(2027, 2, 3), Money.of("799.99", USD)),
            ],
            booked=dt.date(2026, 12, 1),
            session=dt.date(2027, 4, 15),
        )
        binding = self.publish_clean(provider, harness, plan, payer)
        assert binding.plan_id == plan.id

    # -- charging and refunds -------------------------------------------------------

    def test_charge_now_succeeds_with_exact_amount(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """Charging an installment now returns a succeeded outcome for exactly its amount."""
        self.need(provider, Capability.CHARGE_NOW)
        binding = self.publish_clean(provider, harness, plan, payer)
        outcome = provider.charge(binding, plan, 2)
        assert outcome.status is ChargeStatus.SUCCEEDED
        assert outcome.amount == plan.installment(2).amount
        assert outcome.installment == 2
        assert outcome.plan_id == plan.id
        assert outcome.reference

    def test_charge_same_attempt_twice_charges_once(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """Repeating the same charge attempt returns the same charge and creates nothing new."""
        self.need(provider, Capability.CHARGE_NOW)
        binding = self.publish_clean(provider, harness, plan, payer)
        first = provider.charge(binding, plan, 2)
        created = harness.created()
        again = provider.charge(binding, plan, 2)
        assert again.reference == first.reference
        assert harness.created() == created

    @pytest.mark.parametrize("fault", [Fault.HTTP_500, Fault.DROP, Fault.DROP_AFTER])
    def test_charge_retry_after_fault_charges_once(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer, fault: Fault
    ) -> None:
        """A charge that failed mid-way raises a retryable error; retries create exactly what one clean charge creates."""
        self.need(provider, Capability.CHARGE_NOW)
        binding = self.publish_clean(provider, harness, plan, payer)
        start = harness.created()
        clean = provider.charge(binding, plan, 2)
        one = harness.created() - start
        assert clean.status is ChargeStatus.SUCCEEDED
        harness.clear()
        start = harness.created()
        harness.inject(fault, count=2)
        with pytest.raises(ProviderConnectionError) as info:
            provider.charge(binding, plan, 3)
        assert info.value.retryable
        for _ in range(3):
            try:
                outcome = provider.charge(binding, plan, 3)
                break
            except ProviderConnectionError:
                continue
        else:
            pytest.fail("the charge kept failing after the injected faults were used up")
        assert outcome.status is ChargeStatus.SUCCEEDED
        assert outcome.amount == plan.installment(3).amount
        assert harness.created() - start == one
        assert provider.charge(binding, plan, 3).reference == outcome.reference
        assert harness.created() - start == one
        sent = [c.idempotency_key for c in harness.mutating_calls()]
        for key in {c.idempotency_key for c in harness.mutating_calls() if c.faulted}:
            assert key in sent

    def test_new_attempt_sends_a_new_key(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """After a decline, attempt 2 of the installment carries a different idempotency key from attempt 1."""
        self.need(provider, Capability.CHARGE_NOW)
        binding = self.publish_clean(provider, harness, plan, harness.payer_for(CardOutcome.DECLINE))
        harness.clear()
        provider.charge(binding, plan, 2, attempt=1)
        first = {c.idempotency_key for c in harness.mutating_calls()}
        harness.clear()
        provider.charge(binding, plan, 2, attempt=2)
        second = {c.idempotency_key for c in harness.mutating_calls()}
        assert first
        assert second
        assert not first & second

    @pytest.mark.parametrize(
        ("card", "status"),
        [
            (CardOutcome.DECLINE, ChargeStatus.DECLINED),
            (CardOutcome.EXPIRED, ChargeStatus.DECLINED),
            (CardOutcome.AUTHENTICATION, ChargeStatus.REQUIRES_ACTION),
        ],
    )
    def test_decline_is_an_outcome_not_an_exception(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, card: CardOutcome, status: ChargeStatus
    ) -> None:
        """A declined, expired or unauthenticated card returns an outcome with a reason instead of raising."""
        self.need(provider, Capability.CHARGE_NOW)
        payer = harness.payer_for(card)
        binding = self.publish_clean(provider, harness, plan, payer)
        outcome = provider.charge(binding, plan, 2)
        assert outcome.status is status
        assert outcome.amount == plan.installment(2).amount
        if status is ChargeStatus.DECLINED:
            assert outcome.decline_code
            with pytest.raises(Exception, match="declined"):
                outcome.raise_for_failure(provider.name)

    def test_partial_refund(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """Part of a charged installment can be refunded, for exactly the amount asked."""
        self.need(provider, Capability.CHARGE_NOW)
        self.need(provider, Capability.PARTIAL_REFUNDS)
        binding = self.publish_clean(provider, harness, plan, payer)
        charged = provider.charge(binding, plan, 2)
        assert charged.reference
        part = Money.of("123.45", USD)
        outcome = provider.refund(binding, charged.reference, part)
        assert outcome.status in (RefundStatus.SUCCEEDED, RefundStatus.PENDING)
        assert outcome.amount == part
        assert outcome.charge_reference == charged.reference
        again = provider.refund(binding, charged.reference, part)
        assert again.reference == outcome.reference

    def test_two_different_refunds_are_two_refunds(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """Refunding $50 then $100 of one payment makes two refunds; a second $50 is one only with sequence=2 (#12 item 2)."""
        self.need(provider, Capability.CHARGE_NOW)
        self.need(provider, Capability.PARTIAL_REFUNDS)
        binding = self.publish_clean(provider, harness, plan, payer)
        charged = provider.charge(binding, plan, 2)
        assert charged.reference
        fifty, hundred = Money.of("50.00", USD), Money.of("100.00", USD)
        first = provider.refund(binding, charged.reference, fifty)
        second = provider.refund(binding, charged.reference, hundred)
        assert second.amount == hundred
        assert second.reference != first.reference
        start = harness.created()
        retried = provider.refund(binding, charged.reference, fifty)
        assert retried.reference == first.reference
        assert harness.created() == start
        third = provider.refund(binding, charged.reference, fifty, sequence=2)
        assert third.amount == fifty
        assert third.reference not in (first.reference, second.reference)
        for outcome in (first, second, third):
            assert outcome.status in (RefundStatus.SUCCEEDED, RefundStatus.PENDING)
            assert outcome.provider == provider.name

    def test_refund_keys_leave_out_the_plan_version(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """A refund retried after the plan moved to version 2 is the same refund, not a second one."""
        self.need(provider, Capability.CHARGE_NOW)
        self.need(provider, Capability.PARTIAL_REFUNDS)
        self.need(provider, Capability.UPDATE)
        import attrs

        binding = self.publish_clean(provider, harness, plan, payer)
        charged = provider.charge(binding, plan, 2)
        assert charged.reference
        first = provider.refund(binding, charged.reference, Money.of("10.00", USD))
        v2 = provider.update(binding, attrs.evolve(plan, version=2))
        again = provider.refund(v2, charged.reference, Money.of("10.00", USD))
        assert again.reference == first.reference

    @pytest.mark.parametrize("fault", [Fault.DROP_AFTER, Fault.HTTP_500, Fault.DROP])
    def test_new_attempt_after_a_lost_response_charges_once(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer, fault: Fault
    ) -> None:
        """Attempt 2 after attempt 1's answer was lost charges nothing more when attempt 1 went through (#12 item 2)."""
        self.need(provider, Capability.CHARGE_NOW)
        binding = self.publish_clean(provider, harness, plan, payer)
        start = harness.created()
        provider.charge(binding, plan, 3)
        one = harness.created() - start
        harness.clear()
        start = harness.created()
        harness.inject(fault, count=1)
        with pytest.raises(ProviderConnectionError):
            provider.charge(binding, plan, 2, attempt=1)
        outcome = provider.charge(binding, plan, 2, attempt=2)
        assert outcome.status is ChargeStatus.SUCCEEDED
        assert outcome.amount == plan.installment(2).amount
        assert harness.created() - start == one
        ledger = apply_events(Ledger.empty(plan), provider.reconcile(binding)).ledger if (
            Capability.RECONCILE in provider.capabilities
        ) else None
        if ledger is not None:
            assert ledger.paid == plan.installment(2).amount + plan.installment(3).amount

    # -- fees -------------------------------------------------------------------------

    def test_fee_is_charged_once_with_its_own_key(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """A late fee is charged on demand for exactly its amount, once, under a key of its own (#12 item 3)."""
        self.need(provider, Capability.CHARGE_FEES)
        binding = self.publish_clean(provider, harness, plan, payer)
        fee = Money.of("25.00", USD)
        harness.clear()
        outcome = provider.charge_fee(binding, plan, f"{plan.id}:late:2:1", fee, description="Late fee")
        assert outcome.status is ChargeStatus.SUCCEEDED
        assert outcome.amount == fee
        assert outcome.fee_id == f"{plan.id}:late:2:1"
        assert outcome.installment == 0
        assert outcome.reference
        keys = [c.idempotency_key for c in harness.mutating_calls()]
        assert keys
        assert all(keys), "a fee request carried no idempotency key"
        assert len(set(keys)) == len(keys)
        start = harness.created()
        fee_id = f"{plan.id}:late:2:1"
        assert provider.charge_fee(binding, plan, fee_id, fee, description="Late fee").reference == outcome.reference
        again = provider.charge_fee(binding, plan, fee_id, fee, description="Late fee", attempt=2)
        assert again.reference == outcome.reference
        assert again.status is ChargeStatus.SUCCEEDED
        assert harness.created() == start
        other = provider.charge_fee(binding, plan, f"{plan.id}:late:3:1", fee)
        assert other.reference != outcome.reference

    @pytest.mark.parametrize("fault", [Fault.DROP_AFTER, Fault.HTTP_500])
    def test_fee_new_attempt_after_a_lost_response_charges_once(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer, fault: Fault
    ) -> None:
        """Attempt 2 of a fee whose attempt 1 went through unheard charges nothing more (#12 items 2, 3)."""
        self.need(provider, Capability.CHARGE_FEES)
        binding = self.publish_clean(provider, harness, plan, payer)
        fee = Money.of("40.00", USD)
        start = harness.created()
        provider.charge_fee(binding, plan, "reschedule-fee", fee, description="Reschedule fee")
        one = harness.created() - start
        start = harness.created()
        harness.inject(fault, count=1)
        with pytest.raises(ProviderConnectionError):
            provider.charge_fee(binding, plan, "late-fee-lost", fee, description="Late fee")
        outcome = provider.charge_fee(binding, plan, "late-fee-lost", fee, description="Late fee", attempt=2)
        assert outcome.status is ChargeStatus.SUCCEEDED
        assert outcome.amount == fee
        assert harness.created() - start == one

    def test_fee_decline_is_an_outcome_and_a_new_attempt_pays(
        self, provider: Provider, harness: Harness, plan: PaymentPlan
    ) -> None:
        """A declined fee charge is an outcome with a reason; a later attempt carries a new key."""
        self.need(provider, Capability.CHARGE_FEES)
        binding = self.publish_clean(provider, harness, plan, harness.payer_for(CardOutcome.DECLINE))
        harness.clear()
        declined = provider.charge_fee(binding, plan, "no-show", Money.of("75.00", USD))
        assert declined.status is ChargeStatus.DECLINED
        assert declined.decline_code
        with pytest.raises(Exception, match="fee no-show"):
            declined.raise_for_failure(provider.name)
        first = {c.idempotency_key for c in harness.mutating_calls()}
        harness.clear()
        provider.charge_fee(binding, plan, "no-show", Money.of("75.00", USD), attempt=2)
        second = {c.idempotency_key for c in harness.mutating_calls()}
        assert second - first

    def test_fee_refused_where_not_declared(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """A provider that cannot charge on demand refuses a fee with a reason and sends nothing."""
        if Capability.CHARGE_FEES in provider.capabilities:
            pytest.skip(f"{provider.name} declares CHARGE_FEES")
        binding = self.publish_clean(provider, harness, plan, payer)
        harness.clear()
        with pytest.raises(UnsupportedByProviderError, match="fee"):
            provider.charge_fee(binding, plan, "late-1", Money.of("25.00", USD))
        assert harness.mutating_calls() == []

    # -- lifecycle --------------------------------------------------------------------

    def test_cancel(self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer) -> None:
        """A published plan can be cancelled where declared, and refused with a reason where not."""
        binding = self.publish_clean(provider, harness, plan, payer)
        if Capability.CANCEL not in provider.capabilities:
            with pytest.raises(UnsupportedByProviderError):
                provider.cancel(binding)
            return
        provider.cancel(binding)
        provider.cancel(binding)  # cancelling twice is harmless

    def test_update_to_next_version(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """Updating a published plan to version 2 returns a binding for version 2."""
        binding = self.publish_clean(provider, harness, plan, payer)
        import attrs

        v2 = attrs.evolve(plan, version=2)
        if Capability.UPDATE not in provider.capabilities:
            with pytest.raises(UnsupportedByProviderError):
                provider.update(binding, v2)
            return
        updated = provider.update(binding, v2)
        assert updated.plan_version == 2
        assert updated.plan_id == plan.id
        assert provider.update(binding, v2).ids == updated.ids

    def test_reconcile_returns_only_unknown_events(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """Reconciling returns the provider's events, minus those whose ids the caller already has."""
        self.need(provider, Capability.RECONCILE)
        self.need(provider, Capability.CHARGE_NOW)
        binding = self.publish_clean(provider, harness, plan, payer)
        provider.charge(binding, plan, 2)
        events = provider.reconcile(binding)
        paid = [e for e in events if e.kind is EventKind.PAYMENT_SUCCEEDED and e.installment == 2]
        assert paid
        assert paid[0].amount == plan.installment(2).amount
        assert provider.reconcile(binding, known=[e.id for e in events]) == ()
        assert provider.reconcile(binding) == events

    # -- webhooks ---------------------------------------------------------------------

    def _spec(
        self, kind: EventKind | None, plan: PaymentPlan, binding: ProviderBinding, n: int, installment: int = 2
    ) -> WebhookSpec:
        amount = plan.installment(installment).amount
        if kind is EventKind.REFUNDED:
            amount = Money.of("100.00", USD)
        elif kind not in (EventKind.PAYMENT_SUCCEEDED, EventKind.REFUNDED):
            amount = None if kind is None else amount
        return WebhookSpec(
            kind=kind,
            plan=plan,
            binding=binding,
            event_id=f"evt_{plan.id}_{n}",
            sequence=1_800_000_000 + n,
            installment=installment,
            amount=amount,
            reference=f"ch_{plan.id}_{installment}",
        )

    def test_webhooks_normalize_each_kind(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """Each deliverable event kind normalizes to that kind, this plan and, where money moved, the exact amount."""
        binding = self.publish_clean(provider, harness, plan, payer)
        for n, kind in enumerate(self.webhook_kinds):
            spec = self._spec(kind, plan, binding, n)
            d = harness.delivery(spec)
            events = provider.parse_webhook(d.headers, d.body)
            assert len(events) == 1, (kind, events)
            (event,) = events
            assert isinstance(event, ProviderEvent)
            assert event.kind is kind
            assert event.provider == provider.name
            assert event.plan_id == plan.id
            assert event.id.startswith(provider.name)
            if kind in (EventKind.PAYMENT_SUCCEEDED, EventKind.REFUNDED):
                assert event.amount == spec.amount
            if kind in (EventKind.PAYMENT_SUCCEEDED, EventKind.PAYMENT_FAILED):
                assert event.installment == spec.installment

    def test_webhook_of_ignored_type_gives_no_events(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """A verified delivery of an event type payplan does not use normalizes to nothing."""
        binding = self.publish_clean(provider, harness, plan, payer)
        d = harness.delivery(self._spec(None, plan, binding, 99))
        assert provider.parse_webhook(d.headers, d.body) == ()

    @pytest.mark.parametrize("signature", [Signature.BAD, Signature.MISSING, Signature.STALE])
    def test_webhook_with_bad_signature_is_rejected(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer, signature: Signature
    ) -> None:
        """A delivery with a wrong, missing or stale signature raises ProviderAuthError."""
        if signature is Signature.STALE and not self.stale_signatures:
            pytest.skip(f"{provider.name} signatures carry no timestamp")
        binding = self.publish_clean(provider, harness, plan, payer)
        d = harness.delivery(self._spec(EventKind.PAYMENT_SUCCEEDED, plan, binding, 1), signature)
        with pytest.raises(ProviderAuthError):
            provider.parse_webhook(d.headers, d.body)

    def test_webhook_with_altered_body_is_rejected(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """A validly signed delivery whose body was changed afterwards raises ProviderAuthError."""
        binding = self.publish_clean(provider, harness, plan, payer)
        d = harness.delivery(self._spec(EventKind.PAYMENT_SUCCEEDED, plan, binding, 1))
        body = d.body.replace(b"50000", b"50001") if b"50000" in d.body else d.body + b" "
        with pytest.raises(ProviderAuthError):
            provider.parse_webhook(d.headers, body)

    def test_replayed_webhook_gives_same_event_id(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer
    ) -> None:
        """The same delivery parsed twice gives events with the same stable ids."""
        binding = self.publish_clean(provider, harness, plan, payer)
        d = harness.delivery(self._spec(EventKind.PAYMENT_SUCCEEDED, plan, binding, 1))
        assert provider.parse_webhook(d.headers, d.body) == provider.parse_webhook(d.headers, d.body)

    def _story(self, plan: PaymentPlan, binding: ProviderBinding) -> list[WebhookSpec]:
        specs: list[WebhookSpec] = []
        n = 0
        for number in range(1, len(plan.installments) + 1):
            if EventKind.PAYMENT_FAILED in self.webhook_kinds and number == 2:
                specs.append(self._spec(EventKind.PAYMENT_FAILED, plan, binding, n, number))
                n += 1
            specs.append(self._spec(EventKind.PAYMENT_SUCCEEDED, plan, binding, n, number))
            n += 1
        if EventKind.REFUNDED in self.webhook_kinds:
            specs.append(self._spec(EventKind.REFUNDED, plan, binding, n, 2))
        return specs

    @pytest.mark.parametrize("seed", range(5))
    def test_duplicated_and_shuffled_deliveries_give_the_same_ledger(
        self, provider: Provider, harness: Harness, plan: PaymentPlan, payer: Payer, seed: int
    ) -> None:
        """Deliveries duplicated and shuffled normalize and apply to the same ledger as one ordered delivery."""
        binding = self.publish_clean(provider, harness, plan, payer)
        deliveries = [harness.delivery(s) for s in self._story(plan, binding)]
        ordered = [e for d in deliveries for e in provider.parse_webhook(d.headers, d.body)]
        rng = random.Random(seed)
        messy = deliveries + rng.sample(deliveries, k=len(deliveries) // 2 + 1)
        rng.shuffle(messy)
        shuffled = [e for d in messy for e in provider.parse_webhook(d.headers, d.body)]
        assert {e.id: e for e in shuffled} == {e.id: e for e in ordered}
        _assert_same_ledger(plan, ordered, shuffled)


def _assert_same_ledger(plan: PaymentPlan, ordered: list[ProviderEvent], messy: list[ProviderEvent]) -> None:
    """Apply both event lists through the ledger bridge and compare ledgers and deferred events."""
    one = apply_events(Ledger.empty(plan), ordered)
    other = apply_events(Ledger.empty(plan), messy)
    assert one.ledger == other.ledger
    assert one.ledger.canonical() == other.ledger.canonical()
    assert {e.id for e in one.deferred} == {e.id for e in other.deferred}
    assert one.deferred == ()
    assert len(one.ledger) == len(one.recorded)
    again = apply_events(one.ledger, messy)
    assert again.ledger == one.ledger


def assert_no_secret(secrets: list[str], texts: list[str]) -> None:
    """Fail, naming where, if any of *secrets* appears in any of *texts*."""
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"a secret ({secret[:4]}...) appears in: {text[:300]!r}"


def events_by_id(events: list[ProviderEvent]) -> dict[str, ProviderEvent]:
    """Index events by id (a helper for adapter tests)."""
    return {e.id: e for e in events}


def iter_kinds(events: list[ProviderEvent]) -> Iterator[EventKind]:
    """The kinds of *events*, in order (a helper for adapter tests)."""
    return (e.kind for e in events)

