"""Two processes booking the same plan at once (a double submit served by two workers): one deposit request.

The worker processes run :func:`book` against the local fake Stripe
(:mod:`payplan.testing.stripe`), which runs in the test's own process and
keeps every request it receives; :class:`SlowStripe` holds the first
provider request long enough for the second worker to arrive while the
first is inside its ``book`` step.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import stripe

from payplan.bookings import Bookings
from payplan.providers import Payer
from payplan.providers.stripe import StripeMode, StripeProvider
from payplan.store import SignedAgreement, Store
from payplan.testing.server import FakeServer, RecordedRequest, Reply
from payplan.testing.stripe import FakeStripe

from .crash_drill import BOOKED, noon, plan

PAYER = Payer(customer_id="cus_jo", payment_method_id="pm_card_visa", email="jo@example.com")


def book(url: str, server_url: str, step_wait: float, out: Any) -> None:
    """A worker: book the drill's plan on the store at *url*; put ("ok", paid minor units) or ("error", name) on *out*."""
    store = Store.open(url)
    try:
        client = stripe.StripeClient("sk_test_double", base_addresses={"api": server_url}, max_network_retries=0)
        provider = StripeProvider(
            client, webhook_secret="whsec_double", mode=StripeMode.INVOICES, clock=lambda: float(noon(BOOKED))
        )
        p = plan()
        signed = SignedAgreement(p.id, 1, "I agree to pay $2000.", "Jo", dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC))
        try:
            booking = Bookings(store, [provider], step_wait=step_wait).book(
                p, PAYER, provider="stripe", on=BOOKED, agreement=signed
            )
        except Exception as exc:
            out.put(("error", type(exc).__name__, str(exc)))
        else:
            out.put(("ok", booking.ledger.paid.minor, ""))
    finally:
        store.close()


class SlowStripe:
    """The fake Stripe, holding its first POST for *delay* seconds (the first worker is then inside its step)."""

    def __init__(self, delay: float) -> None:
        self.fake = FakeStripe(start=noon(BOOKED))
        self.delay = delay
        self.first = threading.Event()

    def __call__(self, request: RecordedRequest) -> Reply:
        if request.method == "POST" and not self.first.is_set():
            self.first.set()
            time.sleep(self.delay)
        return self.fake(request)

    def serve(self) -> FakeServer:
        return FakeServer(self).start()
