"""Put a payment plan onto PayPal Subscriptions: a setup fee (deposit) and monthly cycles.

Run: python examples/paypal_plan.py [--rest-sdk]

Environment:

* ``PAYPAL_CLIENT_ID`` and ``PAYPAL_CLIENT_SECRET``: a PayPal REST app's
  credentials. Without them the example runs offline against the local fake
  PayPal the test suite uses (``payplan.testing.paypal``) and says so.
* ``PAYPAL_BASE_URL``: optional; defaults to the PayPal *sandbox*
  (https://api-m.sandbox.paypal.com). Set https://api-m.paypal.com for live.

It uses PayPal's maintained ``paypal-server-sdk`` (``pip install 'payplan[paypal]'``);
``--rest-sdk`` uses the archived ``paypalrestsdk`` instead, only as an
authenticated HTTP client (``pip install 'payplan[paypal-legacy]'``).

The buyer must approve the subscription at the printed link before PayPal
charges anything.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from typing import Any

from payplan import REFERENCE_CATALOG_TOML, Catalog, PaymentPlan
from payplan.providers import Payer, ProviderEvent
from payplan.providers.paypal import (
    PayPalOptions,
    PayPalProvider,
    PayPalRestProvider,
    PayPalServerProvider,
    map_plan,
    server_sdk_configuration,
)

SANDBOX = "https://api-m.sandbox.paypal.com"
OPTIONS = PayPalOptions(
    return_url="https://booking.example/paypal/approved",
    cancel_url="https://booking.example/paypal/cancelled",
    brand_name="Example Studio",
)


def pack_a(plan_id: str, booked: dt.date) -> PaymentPlan:
    """Session Pack A from the reference catalog: $2000, 25% or $500 deposit, the rest over 3 months."""
    tier = Catalog.from_toml(REFERENCE_CATALOG_TOML)["Session Pack A"]
    return tier.quote(plan_id, booked=booked, session=booked + dt.timedelta(days=135))


def connect(base_url: str, client_id: str, secret: str, *, server_sdk: bool, **kwargs: Any) -> PayPalProvider:
    """A PayPal provider on *base_url* through the chosen SDK."""
    if server_sdk:
        from paypalserversdk.configuration import Environment
        from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
        from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

        config = server_sdk_configuration(base_url)
        client = PaypalServersdkClient(
            config=config(
                environment=Environment.SANDBOX,
                timeout=30,
                client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                    o_auth_client_id=client_id, o_auth_client_secret=secret
                ),
            )
        )
        return PayPalServerProvider(client, OPTIONS, **kwargs)
    import paypalrestsdk

    mode = "live" if base_url.rstrip("/") == "https://api-m.paypal.com" else "sandbox"
    api = paypalrestsdk.Api(mode=mode, client_id=client_id, client_secret=secret, endpoint=base_url)
    return PayPalRestProvider(api, OPTIONS, **kwargs)


def show(plan: PaymentPlan) -> None:
    """The plan and what PayPal will be asked to do."""
    print(f"plan {plan.id}: {plan.total.format('en_US')}")
    for line in plan.installments:
        print(f"  {line.number}. {line.kind.value:<11} due {line.due.isoformat()}  {line.amount.format('en_US'):>10}")
    bodies = map_plan(plan, OPTIONS)
    body = bodies.billing_plan("PROD-?")
    fee = body["payment_preferences"].get("setup_fee")
    print("PayPal billing plan:")
    if fee:
        print(f"  setup fee {fee['value']} {fee['currency_code']} when the buyer approves")
    for c in body["billing_cycles"]:
        price = c["pricing_scheme"]["fixed_price"]
        freq = c["frequency"]
        print(f"  {c['tenure_type']:<7} {c['total_cycles']} x {price['value']} {price['currency_code']}"
              f" every {freq['interval_count']} {freq['interval_unit'].lower()}")
    print(f"  from {bodies.first_charge.isoformat()}, last charge {bodies.last_charge.isoformat()}"
          f" (cutoff {plan.cutoff.isoformat()})")


def offline(server_sdk: bool) -> int:
    """Publish against the local fake PayPal, approve, and parse a signed webhook."""
    from payplan.testing.paypal import FakePayPal, PayPalSigner
    from payplan.testing.server import FakeServer

    signer = PayPalSigner()
    fake = FakePayPal(signer)
    with FakeServer(fake) as server:
        print(f"No PAYPAL_CLIENT_ID/PAYPAL_CLIENT_SECRET: running against the local fake PayPal at {server.url} (offline).")
        paypal = connect(
            server.url, "offline-id", "offline-secret", server_sdk=server_sdk,
            webhook_id=fake.webhook_id, certificates=signer.certificates(), clock=fake.clock,
        )
        plan = pack_a("example-paypal-pack-a", dt.date(2026, 12, 1))
        show(plan)
        binding = paypal.publish(plan, Payer(email="client@example.com"))
        again = paypal.publish(plan, Payer(email="client@example.com"))
        assert again.ids == binding.ids, "publishing twice must create nothing twice"
        print(f"published: {dict(binding.ids)} status {binding.status}")
        print(f"the buyer approves at: {binding.approval_url}")
        fake.approve(binding.ids["subscription"])  # PayPal charges the setup fee (the deposit) now
        for delivery in fake.take_deliveries():  # what PayPal posts to the site's webhook endpoint
            for event in paypal.parse_webhook(delivery.headers, delivery.body):
                print(f"webhook verified: {event.kind.value} {event.amount or ''} for plan {event.plan_id}")
        paid: list[ProviderEvent] = []
        fake.advance_to(dt.date(2027, 1, 2),  # a month on the fake's clock: the first installment
                        deliver=lambda d: paid.extend(paypal.parse_webhook(d.headers, d.body)))
        for event in paid:
            print(f"{event.occurred_on}: {event.kind.value} {event.amount} (sale {event.reference})")
        paypal.cancel(binding)
        print("cancelled: the subscription will charge nothing more")
    return 0


def online(client_id: str, secret: str, base_url: str, server_sdk: bool) -> int:
    """Publish to PayPal for real (sandbox unless PAYPAL_BASE_URL says otherwise)."""
    print(f"Publishing to PayPal at {base_url}.")
    paypal = connect(base_url, client_id, secret, server_sdk=server_sdk)
    today = dt.datetime.now(dt.UTC).date()
    plan = pack_a(f"example-{today.isoformat()}-{os.getpid()}", today)
    show(plan)
    binding = paypal.publish(plan, Payer())
    print(f"published: {dict(binding.ids)} status {binding.status}")
    print(f"the buyer approves at: {binding.approval_url}")
    return 0


def main() -> int:
    server_sdk = "--rest-sdk" not in sys.argv[1:]
    client_id = os.environ.get("PAYPAL_CLIENT_ID")
    secret = os.environ.get("PAYPAL_CLIENT_SECRET")
    if not client_id or not secret:
        return offline(server_sdk)
    return online(client_id, secret, os.environ.get("PAYPAL_BASE_URL", SANDBOX), server_sdk)


if __name__ == "__main__":
    raise SystemExit(main())
