"""The sandbox provider passes the provider contract, plus its own clock and script tests."""

from __future__ import annotations

import datetime as dt

import pytest

from payplan import Money, PaymentPlan, ProviderRequestError
from payplan.providers import ChargeStatus, EventKind, Payer, ProviderEvent
from payplan.testing import SandboxCard, SandboxFault, SandboxProvider

from .contract import (
    Call,
    CardOutcome,
    Delivery,
    Fault,
    Harness,
    ProviderContract,
    Signature,
    WebhookSpec,
    reference_plan,
)

_FAULTS = {
    Fault.HTTP_500: SandboxFault.UNAVAILABLE,
    Fault.DROP: SandboxFault.DROPPED,
    Fault.DROP_AFTER: SandboxFault.LOST_RESPONSE,
}
_CARDS = {
    CardOutcome.SUCCESS: SandboxCard.SUCCESS,
    CardOutcome.DECLINE: SandboxCard.DECLINE,
    CardOutcome.EXPIRED: SandboxCard.EXPIRED,
    CardOutcome.AUTHENTICATION: SandboxCard.AUTHENTICATION,
}


class SandboxHarness(Harness):
    """The contract's view of a sandbox: its call log, faults and signed deliveries."""

    def __init__(self, sandbox: SandboxProvider) -> None:
        self.sandbox = sandbox

    def calls(self) -> list[Call]:
        return [Call(c.verb, c.verb, c.idempotency_key, True, c.fault is not None) for c in self.sandbox.calls]

    def clear(self) -> None:
        self.sandbox.clear_calls()

    def inject(self, fault: Fault, count: int = 1) -> None:
        self.sandbox.inject_fault(_FAULTS[fault], count)

    def created(self) -> int:
        return self.sandbox.created

    def secrets(self) -> list[str]:
        return ["whsec_sandbox"]

    def payer_for(self, outcome: CardOutcome) -> Payer:
        return Payer(payment_method_id=_CARDS[outcome].value)

    def delivery(self, spec: WebhookSpec, signature: Signature = Signature.VALID) -> Delivery:
        if spec.kind is None:
            headers, body = self.sandbox.ping(spec.event_id)
        else:
            event = ProviderEvent(
                id=f"sandbox:{spec.event_id}",
                provider="sandbox",
                kind=spec.kind,
                plan_id=spec.plan.id,
                occurred_on=self.sandbox.today,
                installment=spec.installment,
                amount=spec.amount,
                reference=spec.reference,
                sequence=spec.sequence,
            )
            headers, body = self.sandbox.delivery(event)
        if signature is Signature.BAD:
            headers = self.sandbox.sign(body, secret="whsec_wrong")
        elif signature is Signature.STALE:
            headers = self.sandbox.sign(body, timestamp=1_600_000_000)
        elif signature is Signature.MISSING:
            headers = {}
        return Delivery(headers, body)


class TestSandbox(ProviderContract):
    """The sandbox passes the same contract as the real adapters."""

    webhook_kinds = (
        EventKind.PAYMENT_SUCCEEDED,
        EventKind.PAYMENT_FAILED,
        EventKind.PAYMENT_ACTION_REQUIRED,
        EventKind.REFUNDED,
        EventKind.PLAN_CANCELED,
    )

    @pytest.fixture
    def provider(self) -> SandboxProvider:
        return SandboxProvider(today=dt.date(2026, 11, 22))

    @pytest.fixture
    def payer(self) -> Payer:
        return Payer(customer_id="cus_sandbox", payment_method_id=SandboxCard.SUCCESS.value)

    @pytest.fixture
    def harness(self, provider: SandboxProvider) -> SandboxHarness:
        return SandboxHarness(provider)


class TestSandboxClock:
    """Advancing the sandbox's date charges what fell due, following the card script."""

    def test_advance_charges_reference_plan_on_its_due_dates(self) -> None:
        """Advancing to each due date of Pack A charges exactly that installment's $500."""
        sandbox = SandboxProvider(today=dt.date(2026, 11, 30))
        plan = reference_plan()
        sandbox.publish(plan, Payer(payment_method_id=SandboxCard.SUCCESS.value))
        assert sandbox.advance_to(dt.date(2026, 11, 30)) == ()
        for inst in plan.installments:
            events = sandbox.advance_to(inst.due)
            assert [(e.kind, e.installment, e.amount, e.occurred_on) for e in events] == [
                (EventKind.PAYMENT_SUCCEEDED, inst.number, Money.of("500.00", "USD"), inst.due)
            ]
        assert sandbox.advance_to(dt.date(2027, 4, 15)) == ()

    def test_scripted_decline_then_manual_retry_succeeds(self) -> None:
        """A scripted decline fails the automatic charge; the caller's second attempt succeeds."""
        sandbox = SandboxProvider(today=dt.date(2026, 12, 1))
        plan = reference_plan()
        payer = Payer(payment_method_id=SandboxCard.SUCCESS.value)
        binding = sandbox.publish(plan, payer)
        sandbox.advance_to(dt.date(2026, 12, 1))
        sandbox.script(SandboxCard.SUCCESS.value, SandboxCard.DECLINE)
        (failed,) = sandbox.advance_to(dt.date(2027, 1, 1))
        assert failed.kind is EventKind.PAYMENT_FAILED
        assert failed.reason == "card_declined"
        assert sandbox.charge(binding, plan, 2).status is ChargeStatus.DECLINED  # attempt 1 again: same answer
        retry = sandbox.charge(binding, plan, 2, attempt=2)
        assert retry.status is ChargeStatus.SUCCEEDED
        assert sandbox.advance_to(dt.date(2027, 1, 20)) == ()

    def test_authentication_completes_the_charge(self) -> None:
        """A charge that needed authentication succeeds once the client authenticates."""
        sandbox = SandboxProvider(today=dt.date(2026, 12, 1))
        sandbox.publish(reference_plan(), Payer(payment_method_id=SandboxCard.AUTHENTICATION.value))
        (pending,) = sandbox.advance_to(dt.date(2026, 12, 1))
        assert pending.kind is EventKind.PAYMENT_ACTION_REQUIRED
        assert pending.reference is not None
        done = sandbox.authenticate(pending.reference)
        assert done.kind is EventKind.PAYMENT_SUCCEEDED
        assert done.amount == Money.of("500.00", "USD")

    def test_clock_does_not_go_back(self) -> None:
        """Advancing to an earlier date is refused."""
        sandbox = SandboxProvider(today=dt.date(2026, 12, 1))
        with pytest.raises(ProviderRequestError, match="on or after 2026-12-01"):
            sandbox.advance_to(dt.date(2026, 11, 30))

    def test_cancelled_plan_is_not_charged(self) -> None:
        """After cancel, advancing the clock charges nothing more."""
        sandbox = SandboxProvider(today=dt.date(2026, 12, 1))
        plan: PaymentPlan = reference_plan()
        binding = sandbox.publish(plan, Payer())
        sandbox.advance_to(dt.date(2026, 12, 1))
        sandbox.cancel(binding)
        assert sandbox.advance_to(dt.date(2027, 4, 1)) == ()
        assert sandbox.events[-1].kind is EventKind.PLAN_CANCELED
