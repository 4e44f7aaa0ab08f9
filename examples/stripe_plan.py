"""Book the reference Pack A plan on Stripe (payplan.bookings.Bookings) and print what was created.

Run: python examples/stripe_plan.py

Environment:

* ``STRIPE_API_KEY``: a Stripe secret key (use a test-mode ``sk_test_...``).
  Without it the example runs offline against the local fake Stripe the test
  suite uses (``payplan.testing.stripe``) and says so.
* ``STRIPE_API_BASE``: optional; another API base URL (a stripe-mock, a proxy).
* ``STRIPE_CUSTOMER_ID`` / ``STRIPE_PAYMENT_METHOD``: optional; the customer
  to bill and a saved payment method. Without a customer id the example
  creates one (with a key) and leaves the payment method to Stripe's default.

Pack A is $2000 with a 25%-or-$500 deposit and 3 monthly installments, so
it becomes one subscription schedule of $500 a month for 3 months from the
first installment, then cancel, and one invoice for the $500 deposit. Pass ``--invoices``
for one scheduled invoice per installment instead.

Needs ``pip install 'payplan[stripe]'``.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
import uuid
from typing import Any

import stripe

from payplan import REFERENCE_CATALOG_TOML, Catalog, PaymentPlan
from payplan.bookings import Bookings
from payplan.providers import Payer, ProviderBinding
from payplan.providers.stripe import StripeMode, StripeProvider
from payplan.store import MemoryStore

WEBHOOK_SECRET = "whsec_example"


def pack_a(plan_id: str, booked: dt.date) -> PaymentPlan:
    """Session Pack A from the reference catalog: $2000, 25% or $500 deposit, the rest over 3 months."""
    tier = Catalog.from_toml(REFERENCE_CATALOG_TOML)["Session Pack A"]
    return tier.quote(plan_id, booked=booked, session=booked + dt.timedelta(days=135))


def show_plan(plan: PaymentPlan) -> None:
    print(f"plan {plan.id}: {plan.total.format('en_US')}")
    for line in plan.installments:
        print(f"  {line.number}. {line.kind.value:<11} due {line.due.isoformat()}  {line.amount.format('en_US'):>10}")


def show_binding(client: Any, binding: ProviderBinding) -> None:
    print("created on Stripe:")
    for role, ident in sorted(binding.ids.items()):
        print(f"  {role:<15} {ident}")
    if "schedule" in binding.ids:
        schedule = client.v1.subscription_schedules.retrieve(binding.id("schedule")).to_dict()
        print(f"  schedule status {schedule.get('status')}, end_behavior {schedule.get('end_behavior')}")
        for n, phase in enumerate(schedule.get("phases") or []):
            items = phase.get("items") or []
            price = (items[0].get("price_data") or {}) if items else {}
            print(
                f"  phase {n}: duration {phase.get('duration')}, "
                f"recurring {price.get('unit_amount')} {price.get('currency')}"
            )
    for role, ident in sorted(binding.ids.items()):
        if role.startswith("invoice:"):
            inv = client.v1.invoices.retrieve(ident)
            when = inv.automatically_finalizes_at
            stamp = dt.datetime.fromtimestamp(when, dt.UTC).date().isoformat() if when else "within the hour"
            print(f"  {ident}: {inv.amount_due} {inv.currency}, finalizes and charges {stamp}")


def run(client: Any, payer: Payer, booked: dt.date, mode: StripeMode, plan_id: str, clock: Any) -> ProviderBinding:
    """Book the plan on Stripe through the lifecycle API: stored, published, binding kept, deposit charged."""
    plan = pack_a(plan_id, booked)
    show_plan(plan)
    provider = StripeProvider(client, webhook_secret=WEBHOOK_SECRET, mode=mode, clock=clock)
    bookings = Bookings(MemoryStore(), [provider])  # Store.open("sqlite:///payplan.db") in a real site
    # Without a saved payment method there is nothing to charge the deposit to yet.
    charge_deposit = payer.payment_method_id is not None
    booking = bookings.book(plan, payer, provider="stripe", on=booked, charge_deposit=charge_deposit)
    again = bookings.book(plan, payer, provider="stripe", on=booked, charge_deposit=charge_deposit)
    assert booking.binding is not None, "a booked plan has a binding"
    assert again.binding == booking.binding, "booking twice creates nothing twice"
    show_binding(client, booking.binding)
    if charge_deposit:
        deposit = booking.status(booked).installments[0]
        print(f"deposit {deposit.installment.amount.format('en_US')}: {deposit.status.value}")
    print("booked twice: the second call sent nothing, the booking is done once")
    return booking.binding


def main(argv: list[str]) -> int:
    mode = StripeMode.INVOICES if "--invoices" in argv else StripeMode.AUTO
    key = os.environ.get("STRIPE_API_KEY")
    if key:
        base = os.environ.get("STRIPE_API_BASE")
        client = stripe.StripeClient(key, base_addresses={"api": base}) if base else stripe.StripeClient(key)
        customer = os.environ.get("STRIPE_CUSTOMER_ID") or client.v1.customers.create(
            {"description": "payplan example client"}, {"idempotency_key": f"payplan-example-{uuid.uuid4()}"}
        ).id
        payer = Payer(customer_id=customer, payment_method_id=os.environ.get("STRIPE_PAYMENT_METHOD"))
        booked = dt.date.today() + dt.timedelta(days=1)
        run(client, payer, booked, mode, f"example-{uuid.uuid4().hex[:12]}", time.time)
        return 0

    from payplan.testing.server import FakeServer
    from payplan.testing.stripe import FakeStripe, dump, invoice_event

    fake = FakeStripe()
    with FakeServer(fake) as server:
        print(f"No STRIPE_API_KEY: running against the local fake Stripe at {server.url} (offline).")
        client = stripe.StripeClient("sk_test_example", base_addresses={"api": server.url}, max_network_retries=0)
        now = dt.datetime(2026, 11, 22, tzinfo=dt.UTC).timestamp()
        binding = run(
            client, Payer(customer_id="cus_example", payment_method_id="pm_card_visa"),
            dt.date(2026, 12, 1), mode, "pack-a-example", lambda: now,
        )
        print(f"requests the fake received: {[f'{r.method} {r.path}' for r in server.requests()]}")

        # A signed invoice.paid webhook for the deposit, verified and normalized.
        provider = StripeProvider(client, webhook_secret=WEBHOOK_SECRET)
        invoice = {
            "id": binding.ids.get("invoice:1", "in_deposit"), "object": "invoice", "currency": "usd",
            "amount_paid": 50000, "metadata": {"payplan_plan_id": binding.plan_id, "payplan_installment": "1"},
        }
        body = dump(invoice_event("evt_example", "invoice.paid", invoice, int(now)))
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET)
        (event,) = provider.parse_webhook({"Stripe-Signature": header}, body)
        print(f"webhook invoice.paid -> {event.kind.value}: installment {event.installment}, {event.amount}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
