"""A cancellation refunds once, end to end, on every provider where refunds exist (#12 item 1).

Each scenario runs the documented flow through the real adapter (and the
real SDK against the library's own fake): publish the reference Pack A plan
with a 50%-inside-30-days cancellation policy, pay all four installments
(recorded from the provider's own webhook deliveries), cancel 26 days before
the session, record ``settlement.entries``, carry out the first refund
instruction through ``Provider.refund_instruction`` (twice: a retry) and
record its outcome with ``record_refund``, and refund the second one in the
provider's dashboard, outside payplan. Then every delivery the provider
made (payments and refunds, from every event type it sends) arrives 1 to 5
times in a shuffled order, before or after the outcome is recorded. The
ledger, ``plan_status`` and the statement must agree that $1,000 was
refunded once and nothing is owed, and the provider must hold exactly one
refund per instruction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payplan import (
    CancellationPolicy,
    CancellationWindow,
    DepositRule,
    InstallmentState,
    Ledger,
    Money,
    PaymentPlan,
    PlanStatus,
    RefundInstruction,
    Settlement,
    Terms,
    plan_status,
    render_statement,
    settle_cancellation,
)
from payplan.providers import (
    EventKind,
    Payer,
    Provider,
    ProviderBinding,
    ProviderEvent,
    RefundOutcome,
    RefundStatus,
    apply_events,
    record_refund,
)

USD = "USD"
BOOKED = dt.date(2026, 12, 1)
SESSION = dt.date(2027, 4, 15)
CANCEL_ON = dt.date(2027, 3, 20)  # 26 days' notice: 50% of the fee retained, $1,000 refunded


def pack_a(plan_id: str) -> PaymentPlan:
    """Pack A: $2000, $500 deposit, 3 monthly $500, 50% retained inside 30 days, 100% inside 7."""
    terms = Terms(
        deposit=DepositRule.percent_or_minimum(25, Money.of("500.00", USD)),
        installments=3,
        cancellation=CancellationPolicy((CancellationWindow(30, 50), CancellationWindow(7, 100))),
    )
    return PaymentPlan.with_deposit(plan_id, Money.of("2000.00", USD), terms=terms, booked=BOOKED, session=SESSION)


@dataclass
class Flow:
    """What one provider's run of the flow left behind, for the delivery-order property."""

    plan: PaymentPlan
    parse: Callable[[dict[str, str], bytes], tuple[ProviderEvent, ...]]
    paid: Ledger
    """The ledger after the payment webhooks, before the cancellation."""
    settlement: Settlement
    outcomes: list[RefundOutcome] = field(default_factory=list)
    deliveries: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    refunds_made: Callable[[], int] = lambda: 0
    parsed: dict[bytes, tuple[ProviderEvent, ...]] = field(default_factory=dict)
    """Each delivery's events, parsed (and signature-checked) once: the property is about applying them."""

    def events_of(self, headers: dict[str, str], body: bytes) -> tuple[ProviderEvent, ...]:
        """The events of one delivery; parsing is a pure function of it, so it is done once per body."""
        if body not in self.parsed:
            self.parsed[body] = self.parse(headers, body)
        return self.parsed[body]


def cancel(
    plan: PaymentPlan,
    parse: Callable[[dict[str, str], bytes], tuple[ProviderEvent, ...]],
    deliveries: list[tuple[dict[str, str], bytes]],
) -> Flow:
    """Record the payment deliveries once, in order, then cancel inside the 30-day window.

    A fully paid plan owes $1,000 back, as two instructions of $500 (the
    newest payments first), and the settlement itself records no refund.
    """
    events = [e for headers, body in deliveries for e in parse(headers, body)]
    applied = apply_events(Ledger.empty(plan), [e for e in events if e.kind is EventKind.PAYMENT_SUCCEEDED])
    assert applied.deferred == ()
    settlement = settle_cancellation(plan, applied.ledger, CANCEL_ON)
    assert settlement.refund == Money.of("1000.00", USD)
    assert [i.amount for i in settlement.refunds] == [Money.of("500.00", USD)] * 2
    assert all(i.reference for i in settlement.refunds)
    assert [e.kind for e in settlement.entries] == ["cancellation"]
    return Flow(plan, parse, applied.ledger, settlement, deliveries=list(deliveries))


def refund_first(flow: Flow, provider: Provider, binding: ProviderBinding) -> RefundInstruction:
    """Carry out the first instruction through payplan, twice (a retry); return the second one."""
    first, second = flow.settlement.refunds
    outcome = provider.refund_instruction(binding, first)
    assert provider.refund_instruction(binding, first) == outcome  # a retry refunds nothing more
    flow.outcomes = [outcome]
    assert second.reference is not None
    return second


def check_once(flow: Flow, data: st.DataObject) -> None:
    """Deliver everything 1-5 times, shuffled, before or after the outcome; all views agree on one refund."""
    copies = [d for d in flow.deliveries for _ in range(data.draw(st.integers(1, 5)))]
    order = data.draw(st.permutations(copies))
    outcome_first = data.draw(st.booleans())
    ledger = flow.paid.record_all(flow.settlement.entries)

    def record_outcomes(ledger: Ledger) -> Ledger:
        for outcome in flow.outcomes:
            ledger = record_refund(ledger, outcome, CANCEL_ON, flow.settlement.reason)
        return ledger

    if outcome_first:
        ledger = record_outcomes(ledger)
    deferred: tuple[ProviderEvent, ...] = ()
    for headers, body in order:
        applied = apply_events(ledger, [*deferred, *flow.events_of(headers, body)])
        ledger, deferred = applied.ledger, applied.deferred
    if not outcome_first:
        ledger = record_outcomes(ledger)
    assert deferred == ()
    assert ledger.paid == Money.of("2000.00", USD)
    assert ledger.refunded == flow.settlement.refund == Money.of("1000.00", USD)
    assert ledger.balance == Money.of("0.00", USD)
    status = plan_status(flow.plan, ledger, CANCEL_ON)
    assert status.status is PlanStatus.CANCELLED
    assert status.balance == Money.of("0.00", USD)
    assert status.paid == Money.of("1000.00", USD)
    assert [s.outstanding for s in status.installments] == [Money.of("0.00", USD)] * 4
    assert {s.status for s in status.installments} <= {InstallmentState.PAID, InstallmentState.CANCELLED}
    statement = render_statement(flow.plan, ledger, CANCEL_ON)
    assert "| Balance | $0.00 |" in statement
    assert "| Paid (less refunds) | $1,000.00 |" in statement
    assert "Status: cancelled." in statement
    assert flow.refunds_made() == len(flow.settlement.refunds)


_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# -- sandbox --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_flow() -> Flow:
    """The flow on the sandbox provider."""
    from payplan.testing import SandboxCard, SandboxProvider

    plan = pack_a("flow-sandbox")
    sandbox = SandboxProvider(today=BOOKED)
    binding = sandbox.publish(plan, Payer(payment_method_id=SandboxCard.SUCCESS.value))
    sandbox.advance_to(dt.date(2027, 3, 1))
    flow = cancel(plan, sandbox.parse_webhook, [sandbox.delivery(e) for e in sandbox.events])
    sandbox.advance_to(CANCEL_ON)
    second = refund_first(flow, sandbox, binding)
    sandbox.dashboard_refund(second.reference, second.amount, "refunded in the dashboard")
    flow.deliveries = [sandbox.delivery(e) for e in sandbox.events]
    flow.refunds_made = lambda: sum(e.kind is EventKind.REFUNDED for e in sandbox.events)
    return flow


@_SETTINGS
@given(data=st.data())
def test_sandbox_cancellation_refunds_once(sandbox_flow: Flow, data: st.DataObject) -> None:
    """Sandbox: the settlement's refunds land once, whatever the delivery order and count."""
    check_once(sandbox_flow, data)


# -- Stripe ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stripe_flow() -> Iterator[Flow]:
    """The flow on Stripe (invoices mode), through the real SDK against a fresh fake Stripe."""
    stripe = pytest.importorskip("stripe", reason="the stripe extra is not installed")
    from payplan.providers.stripe import StripeMode, StripeProvider
    from payplan.testing.server import FakeServer
    from payplan.testing.stripe import FakeStripe, signed_delivery

    secret, now = "whsec_flow", 1_800_000_000
    fake = FakeStripe()
    with FakeServer(fake) as server:
        client = stripe.StripeClient("sk_test_flow", base_addresses={"api": server.url}, max_network_retries=0)
        provider = StripeProvider(client, webhook_secret=secret, mode=StripeMode.INVOICES, clock=lambda: now)
        plan = pack_a("flow-stripe")
        binding = provider.publish(plan, Payer("cus_flow", "pm_card_visa"))
        for n in range(1, 5):  # what Stripe's automatic collection does on each due date
            assert provider.charge(binding, plan, n).succeeded

        def deliveries() -> list[tuple[dict[str, str], bytes]]:
            return [signed_delivery(e, secret, timestamp=now) for e in fake.events]

        flow = cancel(plan, provider.parse_webhook, deliveries())
        second = refund_first(flow, provider, binding)
        assert flow.outcomes[0].status is RefundStatus.SUCCEEDED
        # The second is refunded in Stripe's dashboard: no payplan metadata, no key of ours.
        intent = client.v1.invoice_payments.list({"invoice": second.reference}).data[0].payment.payment_intent
        client.v1.refunds.create({"payment_intent": intent, "amount": 50000})
        flow.deliveries = deliveries()
        assert {e["type"] for e in fake.events} >= {"invoice.paid", "refund.created", "charge.refunded"}
        flow.refunds_made = lambda: sum(o.get("object") == "refund" for o in fake.objects.values())
        yield flow


@_SETTINGS
@given(data=st.data())
def test_stripe_cancellation_refunds_once(stripe_flow: Flow, data: st.DataObject) -> None:
    """Stripe: refund.created and charge.refunded for the same refunds, any order, any count, land once."""
    check_once(stripe_flow, data)


# -- Square ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def square_flow() -> Iterator[Flow]:
    """The flow on Square, through the real SDK against a fresh fake Square."""
    square = pytest.importorskip("square", reason="the square extra is not installed")
    from payplan.providers.square import SquareProvider
    from payplan.testing.server import FakeServer
    from payplan.testing.square import FakeSquare, signed_delivery

    key, url = "sq-flow-key", "https://site.example/hooks/square"
    fake = FakeSquare(timezone="UTC")  # the location's zone is the plan's
    with FakeServer(fake) as server:
        client = square.Square(token="flow", base_url=server.url)
        provider = SquareProvider(client, location_id="L", invoices_plus=True, signature_key=key, notification_url=url)
        plan = pack_a("flow-square")
        binding = provider.publish(plan, Payer(customer_id="C1", payment_method_id="ccof:flow"))
        invoice = binding.id("invoice")
        notes: list[dict[str, Any]] = []
        for n in range(1, 5):  # Square charges the card on file on each due date
            fake.pay(invoice, n)
            notes.append(fake.event("invoice.payment_made", invoice))

        def deliveries() -> list[tuple[dict[str, str], bytes]]:
            return [signed_delivery(note, signature_key=key, notification_url=url) for note in notes]

        flow = cancel(plan, provider.parse_webhook, deliveries())
        second = refund_first(flow, provider, binding)
        outcome = flow.outcomes[0]
        assert outcome.status is RefundStatus.PENDING  # Square completes it a moment later
        # The second is refunded in Square's dashboard: a key of its own, no payplan reason.
        made = client.refunds.refund_payment(
            idempotency_key=str(uuid.uuid4()), payment_id=second.reference,
            amount_money={"amount": 50000, "currency": USD}, request_options={"max_retries": 0},
        )
        for refund_id in (outcome.reference, made.refund.id if made.refund else None):
            assert refund_id is not None
            notes.append(fake.refund_event(refund_id, kind="refund.created"))
            fake.complete_refund(refund_id)
            notes.append(fake.refund_event(refund_id, kind="refund.updated"))
        flow.deliveries = deliveries()
        flow.refunds_made = lambda: len(fake.refunds)
        yield flow


@_SETTINGS
@given(data=st.data())
def test_square_cancellation_refunds_once(square_flow: Flow, data: st.DataObject) -> None:
    """Square: a pending refund completed by its refund.updated event, and a dashboard refund, land once each."""
    check_once(square_flow, data)


# -- PayPal ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paypal_flow() -> Iterator[Flow]:
    """PayPal: the fake's clock bills the deposit and three cycles; one refund through payplan, one in the dashboard."""
    pytest.importorskip("paypalserversdk", reason="the paypal extra is not installed")
    pytest.importorskip("cryptography", reason="the paypal extra is not installed")
    from paypalserversdk.configuration import Environment
    from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
    from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

    from payplan.providers.paypal import PayPalOptions, PayPalServerProvider, server_sdk_configuration
    from payplan.testing.paypal import FakePayPal, PayPalSigner
    from payplan.testing.server import FakeServer

    signer = PayPalSigner()
    fake = FakePayPal(signer, now=dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))
    options = PayPalOptions(return_url="https://site.example/r", cancel_url="https://site.example/c")
    plan = pack_a("flow-paypal")
    sales: dict[str, str] = {}
    with FakeServer(fake) as server:
        credentials = ClientCredentialsAuthCredentials(o_auth_client_id="i", o_auth_client_secret="s")
        client = PaypalServersdkClient(config=server_sdk_configuration(server.url)(
            environment=Environment.SANDBOX, client_credentials_auth_credentials=credentials))
        provider: Provider = PayPalServerProvider(
            client, options, webhook_id=fake.webhook_id, certificates=signer.certificates(),
            max_transmission_age=None, plan_for_subscription=sales.get,
        )
        binding = provider.publish(plan, Payer(email="client@example.com"))
        fake.approve(binding.id("subscription"))  # the deposit, as PayPal's setup fee
        made = fake.take_deliveries() + fake.advance_to(dt.date(2027, 3, 2))  # three billing cycles
        deliveries = [(dict(d.headers), d.body) for d in made]
        flow = cancel(plan, provider.parse_webhook, deliveries)
        second = refund_first(flow, provider, binding)
        assert flow.outcomes[0].status is RefundStatus.SUCCEEDED
        assert second.reference is not None
        sales[second.reference] = plan.id  # a dashboard refund names only its sale
        fake.dashboard_refund(second.reference, "500.00")
        deliveries += [(dict(d.headers), d.body) for d in fake.take_deliveries()]
        flow.deliveries = deliveries
        flow.refunds_made = lambda: len(fake.refunds)
        yield flow


@_SETTINGS
@given(data=st.data())
def test_paypal_cancellation_refunds_once(paypal_flow: Flow, data: st.DataObject) -> None:
    """PayPal: a refund through payplan (Payments v2) and one in PayPal's dashboard land once each, in any order."""
    check_once(paypal_flow, data)
