"""Stripe's money paths as Stripe really answers: keys it omits, payments without a PaymentIntent, goodwill refunds.

Each test here drives the real ``stripe`` SDK against :class:`payplan.testing.stripe.FakeStripe`,
whose objects omit what Stripe omits (a succeeded refund has no
``failure_reason`` key; an invoice paid by a charge has no
``payment.payment_intent``), the way the SDK then raises ``AttributeError``
on a missing key.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest

stripe = pytest.importorskip("stripe", reason="the stripe extra is not installed")

from payplan import (  # noqa: E402
    InstallmentState,
    Money,
    PaymentPlan,
    Refund,
    UnsupportedByProviderError,
    plan_status,
)
from payplan.providers import EventKind, Payer, ProviderBinding, RefundStatus  # noqa: E402
from payplan.providers.stripe import StripeMode, StripeProvider  # noqa: E402
from payplan.store import MemoryStore, receive_webhook  # noqa: E402
from payplan.store import charge as store_charge  # noqa: E402
from payplan.store import refund as store_refund  # noqa: E402
from payplan.testing import stripe as fake  # noqa: E402
from payplan.testing.server import FakeServer  # noqa: E402

from .contract import reference_plan  # noqa: E402
from .test_goodwill_refunds import FIFTY, check_stays_paid  # noqa: E402

SECRET = "whsec_test_money_paths"
CUSTOMER = "cus_money_paths"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[fake.FakeStripe, FakeServer]]:
    """A fake Stripe on 127.0.0.1 for this module."""
    responder = fake.FakeStripe()
    with FakeServer(responder) as server:
        yield responder, server


def provider_for(server: FakeServer, mode: StripeMode = StripeMode.INVOICES) -> StripeProvider:
    """The adapter on a real StripeClient pointed at the fake."""
    client = stripe.StripeClient("sk_test_money_paths", base_addresses={"api": server.url}, max_network_retries=0)
    return StripeProvider(client, webhook_secret=SECRET, mode=mode)


def paid_deposit(provider: StripeProvider, plan: PaymentPlan, card: str) -> ProviderBinding:
    """Publish *plan* and charge its deposit (installment 1) with *card*."""
    binding = provider.publish(plan, Payer(CUSTOMER, card))
    assert provider.charge(binding, plan, 1).succeeded
    return binding


def delivery(event: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    """The signed delivery of one of the fake's events, stamped now."""
    return fake.signed_delivery(event, SECRET, timestamp=int(time.time()))


def test_succeeded_refund_without_failure_reason_key(served: tuple[fake.FakeStripe, FakeServer]) -> None:
    """A succeeded refund carries no failure_reason key, as Stripe sends it; refund() reads it as absent."""
    responder, server = served
    provider = provider_for(server)
    plan = reference_plan("no-failure-reason")
    binding = paid_deposit(provider, plan, "pm_card_visa")
    outcome = provider.refund(binding, binding.id("invoice:1"), Money.of("100.00", "USD"))
    assert outcome.status is RefundStatus.SUCCEEDED
    assert outcome.message is None
    refund = responder.objects[str(outcome.reference)]
    assert "failure_reason" not in refund


@pytest.mark.parametrize("card", ["card_legacy_visa", "src_legacy_visa"])
def test_invoice_paid_by_a_charge_refunds_reconciles_and_traces(
    served: tuple[fake.FakeStripe, FakeServer], card: str
) -> None:
    """An invoice paid by a charge (no PaymentIntent) is refunded by the charge, reconciled, and its dashboard refund traced."""
    responder, server = served
    provider = provider_for(server)
    plan = reference_plan(f"paid-by-charge-{card[:4]}")
    binding = paid_deposit(provider, plan, card)
    invoice = binding.id("invoice:1")
    payment = next(o for o in responder.objects.values() if o.get("object") == "invoice_payment" and o["invoice"] == invoice)
    assert payment["payment"]["type"] == "charge"
    assert "payment_intent" not in payment["payment"]
    charge = payment["payment"]["charge"]

    outcome = provider.refund(binding, invoice, Money.of("100.00", "USD"), reason="rebooked")
    assert outcome.status is RefundStatus.SUCCEEDED
    assert responder.objects[str(outcome.reference)]["charge"] == charge

    made = responder.dashboard_refund(charge, 5000)
    assert made["metadata"] == {}
    assert made["payment_intent"] is None
    created = next(e for e in reversed(responder.events) if e["type"] == "refund.created")
    traced = provider.parse_webhook(*delivery(created))
    assert [(e.kind, e.plan_id, e.installment, e.amount) for e in traced] == [
        (EventKind.REFUNDED, plan.id, 1, Money.of("50.00", "USD"))
    ]
    assert not traced[0].lowers_price

    found = provider.reconcile(binding)
    refunds = sorted(e.reference or "" for e in found if e.kind is EventKind.REFUNDED)
    assert refunds == sorted([str(outcome.reference), made["id"]])


@pytest.mark.parametrize("answer_first", [True, False], ids=["answer-first", "webhook-first"])
def test_goodwill_refund_on_stripe(served: tuple[fake.FakeStripe, FakeServer], answer_first: bool) -> None:
    """A $50 goodwill refund keeps installment 1 paid on Stripe, whichever of answer and webhook lands first."""
    responder, server = served
    provider = provider_for(server)
    plan = reference_plan(f"goodwill-stripe-{answer_first}")
    store = MemoryStore()
    store.add_plan(plan)
    binding = paid_deposit(provider, plan, "pm_card_visa")
    store.save_binding(binding)
    paid = next(e for e in reversed(responder.events) if e["type"] == "invoice.paid")
    assert receive_webhook(store, provider, *delivery(paid)).status == 200
    on = dt.date(2026, 12, 1)
    outcome = store_refund(
        store, provider, binding, binding.id("invoice:1"), FIFTY, installment=1, reason="late photos", lowers_price=True
    )
    assert outcome.status is RefundStatus.SUCCEEDED
    assert outcome.lowers_price
    refund = responder.objects[str(outcome.reference)]
    assert refund["metadata"]["payplan_lowers_price"] == "true"
    created = next(e for e in reversed(responder.events) if e["type"] == "refund.created")
    entry = outcome.entry(on, "late photos")
    assert entry is not None

    def answer() -> None:
        store.record_entries(plan.id, [entry])

    def webhook() -> None:
        assert receive_webhook(store, provider, *delivery(created)).status == 200

    for step in (answer, webhook) if answer_first else (webhook, answer):
        step()
    ledger = store.load(plan.id).ledger
    check_stays_paid(plan, ledger, on)
    assert [e.id for e in ledger if isinstance(e, Refund)] == [f"stripe:{outcome.reference}:refunded"]
    assert plan_status(plan, ledger, on).installment(1).status is InstallmentState.PAID


def test_deposit_charged_at_signing_under_the_default_schedule_mode(served: tuple[fake.FakeStripe, FakeServer]) -> None:
    """Under the default mode Pack A is a schedule plus a deposit invoice; payplan.store.charge(..., 1) charges the deposit now."""
    responder, server = served
    booked = int(dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC).timestamp())
    client = stripe.StripeClient("sk_test_money_paths", base_addresses={"api": server.url}, max_network_retries=0)
    provider = StripeProvider(client, webhook_secret=SECRET, clock=lambda: booked)
    assert provider.mode is StripeMode.AUTO
    plan = reference_plan("deposit-at-signing")
    store = MemoryStore()
    store.add_plan(plan)
    binding = provider.publish(plan, Payer(CUSTOMER, "pm_card_visa"))
    store.save_binding(binding)
    assert "schedule" in binding.ids
    assert "invoice:1" in binding.ids
    posted = next(r for r in server.requests() if r.path == "/v1/subscription_schedules" and r.method == "POST")
    assert int(posted.form()["start_date"]) == int(dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp())  # after the deposit
    outcome = store_charge(store, provider, binding, plan, 1)
    assert outcome.succeeded
    assert outcome.reference == binding.id("invoice:1")
    assert responder.objects[binding.id("invoice:1")]["status"] == "paid"
    with pytest.raises(UnsupportedByProviderError, match="installment 2"):
        provider.charge(binding, plan, 2)
