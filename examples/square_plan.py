"""Put a payment plan onto Square Invoices: one deposit and three installments, autopaid.

Run: python examples/square_plan.py

Environment:

* ``SQUARE_ACCESS_TOKEN``: a Square access token. Without it the example runs
  offline against the local fake Square the test suite uses
  (``payplan.testing.square``) and says so.
* ``SQUARE_LOCATION_ID``: the location that owns the invoice (required with a token).
* ``SQUARE_BASE_URL``: optional; defaults to the Square *sandbox*
  (https://connect.squareupsandbox.com). Set https://connect.squareup.com for production.
* ``SQUARE_CUSTOMER_ID`` / ``SQUARE_CARD_ID``: optional; a customer to invoice
  and a card on file (``ccof:...``) for autopay. Without a customer id the
  example creates one.

Needs ``pip install 'payplan[square]'``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import uuid
from typing import Any

from square import Square

from payplan import REFERENCE_CATALOG_TOML, Catalog, PaymentPlan
from payplan.providers import Payer
from payplan.providers.square import SquareProvider, sign_webhook

SANDBOX = "https://connect.squareupsandbox.com"
HOOK_URL = "https://booking.example/hooks/square"
HOOK_KEY = "example-signature-key"


def pack_a(plan_id: str, booked: dt.date, timezone: str = "UTC") -> PaymentPlan:
    """Session Pack A from the reference catalog: $2000, 25% or $500 deposit, the rest over 3 months.

    Its dates are local to *timezone*: Square reads due dates in the location's zone.
    """
    tier = Catalog.from_toml(REFERENCE_CATALOG_TOML)["Session Pack A"]
    return tier.quote(plan_id, booked=booked, session=booked + dt.timedelta(days=135), timezone=timezone)


def show(plan: PaymentPlan, invoice: dict[str, Any] | None) -> None:
    print(f"plan {plan.id}: {plan.total.format('en_US')}")
    for line in plan.installments:
        print(f"  {line.number}. {line.kind.value:<11} due {line.due.isoformat()}  {line.amount.format('en_US'):>10}")
    if invoice is not None:
        print("Square payment requests:")
        for r in invoice["payment_requests"]:
            amount = r["computed_amount_money"]
            print(f"  {r['request_type']:<11} due {r['due_date']}  {amount['amount']} {amount['currency']} (minor units)")


def offline() -> int:
    from payplan.testing.server import FakeServer
    from payplan.testing.square import FakeSquare

    fake = FakeSquare(timezone="America/New_York")
    with FakeServer(fake) as server:
        print(f"No SQUARE_ACCESS_TOKEN: running against the local fake Square at {server.url} (offline).")
        square = SquareProvider(
            Square(token="offline-token", base_url=server.url),
            location_id="LOCAL",
            invoices_plus=True,  # the seller has Invoices Plus: payplan never assumes it
            signature_key=HOOK_KEY,
            notification_url=HOOK_URL,
        )
        plan = pack_a("example-square-pack-a", dt.date(2026, 12, 1), "America/New_York")  # the location's zone
        binding = square.publish(plan, Payer(customer_id="CUSTOMER", payment_method_id="ccof:example"))
        show(plan, fake.invoices[binding.id("invoice")])
        print(f"published: invoice {binding.id('invoice')} ({binding.status}), order {binding.id('order')}")

        # The deposit is charged; Square notifies the booking site.
        fake.pay(binding.id("invoice"), 1)
        body = json.dumps(fake.event("invoice.payment_made", binding.id("invoice"))).encode()
        headers = {"x-square-hmacsha256-signature": sign_webhook(body, signature_key=HOOK_KEY, notification_url=HOOK_URL)}
        for event in square.parse_webhook(headers, body):
            print(f"webhook: {event.kind.value}, installment {event.installment}, {event.amount}")

        square.cancel(binding)
        print(f"cancelled: invoice is {fake.invoices[binding.id('invoice')]['status']}")
    return 0


def online(token: str) -> int:
    location = os.environ.get("SQUARE_LOCATION_ID")
    if not location:
        print("SQUARE_LOCATION_ID is required with SQUARE_ACCESS_TOKEN", file=sys.stderr)
        return 2
    base_url = os.environ.get("SQUARE_BASE_URL", SANDBOX)
    client = Square(token=token, base_url=base_url)
    print(f"Using Square at {base_url}, location {location}.")
    customer = os.environ.get("SQUARE_CUSTOMER_ID")
    if not customer:
        created = client.customers.create(
            idempotency_key=str(uuid.uuid4()), given_name="payplan", family_name="Example",
            email_address="payplan-example@example.com",
        )
        assert created.customer is not None
        customer = str(created.customer.id)
        print(f"created customer {customer}")
    zone = str(client.locations.get(location).location.timezone or "UTC")  # Square reads due dates in it
    plus = os.environ.get("SQUARE_INVOICES_PLUS") == "1"
    square = SquareProvider(client, location_id=location, invoices_plus=plus, location_timezone=zone)
    plan = pack_a(f"example-{uuid.uuid4().hex[:12]}", dt.date.today() + dt.timedelta(days=1), zone)
    binding = square.publish(plan, Payer(customer_id=customer, payment_method_id=os.environ.get("SQUARE_CARD_ID")))
    show(plan, None)
    print(f"published: invoice {binding.id('invoice')} ({binding.status}), page {binding.approval_url}")
    return 0


def main() -> int:
    token = os.environ.get("SQUARE_ACCESS_TOKEN")
    return online(token) if token else offline()


if __name__ == "__main__":
    raise SystemExit(main())
