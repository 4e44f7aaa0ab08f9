"""The lifecycle crash drill: a booking's whole life, its worker SIGKILLed at every point, then run again.

One booking goes through every step of :class:`payplan.bookings.Bookings`
on the real Stripe SDK and adapter against the local fake Stripe
(:mod:`payplan.testing.stripe`): booked with its signed agreement and
deposit, amended (the provider updated), a goodwill refund, a payment
asked for now, then cancelled (its payments refunded, the invoices voided).

The fake Stripe runs in the test's own process, on 127.0.0.1, so it
outlives the worker as Stripe outlives a site's process. The worker is a
separate process killed with SIGKILL:

* **at a step boundary**: right after its *k*-th write to the store (each
  store write is one transaction, so "after write *k*" is every point
  between two writes, or between a write and a provider call);
* **inside a provider call**: the fake Stripe does the *r*-th request's
  work, then kills the worker before it answers (the call was made at the
  provider; its answer is lost).

Then a fresh worker runs the same life again from the start
(:meth:`~payplan.bookings.Bookings.resume`, then every step with the same
arguments), and :func:`check` compares the store and the fake's objects to
a run that was never killed: the same ledger, the same plan version and
amendment records, the same binding, every step done, and at Stripe the
same objects (no second product, invoice, payment or refund).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import stripe

from payplan import (
    CancellationPolicy,
    CancellationWindow,
    DepositRule,
    ExtendDueDate,
    Money,
    PaymentPlan,
    Terms,
)
from payplan.bookings import Bookings
from payplan.providers import Payer
from payplan.providers.stripe import StripeMode, StripeProvider
from payplan.store import SignedAgreement, StepStatus, Store
from payplan.testing.server import FakeServer, RecordedRequest, Reply
from payplan.testing.stripe import FakeStripe

BOOKED = dt.date(2026, 12, 1)
SESSION = dt.date(2027, 4, 15)
PLAN_ID = "drill-1"

#: The store methods that write (one transaction each): the worker is killed after the k-th of them.
WRITES = frozenset({
    "add_plan", "save_version", "record_entries", "set_active", "deactivate", "save_binding",
    "reserve_operation", "complete_operation", "reserve_step", "finish_step", "save_agreement",
    "reserve_reminder", "mark_reminder_sent", "mark_sent_and_reserve", "drop_reminder", "ingest",
})


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def plan() -> PaymentPlan:
    """Pack A: $2000, $500 deposit, 3 monthly installments; everything refunded with 30 days' notice."""
    return PaymentPlan.with_deposit(
        PLAN_ID, usd("2000.00"), booked=BOOKED, session=SESSION, installments=3,
        deposit=DepositRule.percent(25), client="jo@example.com",
        terms=Terms(cancellation=CancellationPolicy((CancellationWindow(30, 100),), deposit_refundable=True)),
    )


def noon(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC).timestamp())


def life(bookings: Bookings) -> None:
    """The booking's whole life, each step called with the same arguments every time."""
    p = plan()
    signed = SignedAgreement(p.id, 1, "I agree to pay $2000.", "Jo", dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC))
    payer = Payer(customer_id="cus_jo", payment_method_id="pm_card_visa", email="jo@example.com")
    bookings.resume()
    bookings.book(p, payer, provider="stripe", on=BOOKED, agreement=signed)
    bookings.amend(
        p.id, ExtendDueDate(3, to=dt.date(2027, 2, 20)), on=dt.date(2026, 12, 5), by="studio",
        reason="the client asked for more time", consent=True,
    )
    bookings.refund(p.id, usd("50.00"), on=dt.date(2026, 12, 6), reason="late proofs", lowers_price=True)
    bookings.pay_now(p.id, on=dt.date(2027, 1, 5))
    bookings.cancel(p.id, on=dt.date(2027, 1, 10), reason="the client moved away")


class CountingStore:
    """A store that counts its writes and kills its own process (SIGKILL) right after the *kill_after*-th."""

    def __init__(self, store: Store, kill_after: int | None = None) -> None:
        self._store = store
        self._kill_after = kill_after
        self.writes = 0
        self.names: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name not in WRITES:
            return attr

        def write(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            self.writes += 1
            self.names.append(name)
            if self.writes == self._kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        return write


def bookings_for(store: Any, server_url: str) -> Bookings:
    client = stripe.StripeClient("sk_test_drill", base_addresses={"api": server_url}, max_network_retries=0)
    provider = StripeProvider(
        client, webhook_secret="whsec_drill", mode=StripeMode.INVOICES, clock=lambda: float(noon(BOOKED))
    )
    return Bookings(store, [provider])


def worker(url: str, server_url: str, kill_after: int | None) -> None:
    """A worker process: the booking's life on the store at *url*, killed after write *kill_after* if given."""
    store = Store.open(url)
    life(bookings_for(CountingStore(store, kill_after), server_url))
    store.close()


class KillingStripe:
    """The fake Stripe, which kills the worker (SIGKILL) once it has done the *kill_at*-th request's work."""

    def __init__(self) -> None:
        self.fake = FakeStripe(start=noon(BOOKED))
        self.count = 0
        self.kill_at: int | None = None
        self.pid: int | None = None
        self.killed = threading.Event()

    def __call__(self, request: RecordedRequest) -> Reply:
        reply = self.fake(request)
        self.count += 1
        if self.count == self.kill_at:
            deadline = time.monotonic() + 10
            while self.pid is None and time.monotonic() < deadline:
                time.sleep(0.01)
            assert self.pid is not None
            os.kill(self.pid, signal.SIGKILL)
            self.killed.set()
        return reply

    def serve(self) -> FakeServer:
        return FakeServer(self).start()


def state(store: Store, fake: FakeStripe) -> dict[str, Any]:
    """What the drill compares: the ledger, versions, binding, steps, and the objects Stripe holds."""
    stored = store.load(PLAN_ID)
    binding = store.current_binding(PLAN_ID)
    history = store.history(PLAN_ID)
    prefixes = Counter(oid.split("_", 1)[0] for oid in fake.objects)
    return {
        "entries": sorted(
            (type(e).__name__, e.amount.minor if e.amount is not None else None, getattr(e, "lowers_price", None))
            for e in stored.ledger
        ),
        "entry_count": len(stored.ledger),
        "paid": stored.ledger.paid.minor,
        "refunded": stored.ledger.refunded.minor,
        "cancelled": stored.ledger.cancellation is not None,
        "active": stored.active,
        "version": stored.plan.version,
        "records": [(r.from_version, r.to_version, r.by, r.reason) for r in history.records],
        "binding": None if binding is None else (binding.provider, binding.plan_version, len(binding.ids)),
        "agreements": len(store.agreements(PLAN_ID)),
        "steps": [(s.name, s.status) for s in store.steps(plan_id=PLAN_ID)],
        "stripe_objects": dict(prefixes),
        "stripe_charges": len(fake.charges),
        "invoice_statuses": sorted(
            str(o.get("status")) for o in fake.objects.values() if o.get("object") == "invoice"
        ),
    }


def check(got: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """What differs from the run that was never killed (an empty list: nothing lost, nothing doubled)."""
    problems = [f"{k}: {got.get(k)!r} != {v!r}" for k, v in baseline.items() if got.get(k) != v]
    if any(status is not StepStatus.DONE for _, status in got["steps"]):
        problems.append(f"unfinished steps: {got['steps']}")
    return problems


def baseline_run(make_store: Callable[[], Store]) -> tuple[dict[str, Any], list[str], int]:
    """The life run once in this process, never killed: (its state, its store writes in order, Stripe requests)."""
    fake = KillingStripe()
    server = fake.serve()
    try:
        store = make_store()
        counting = CountingStore(store)
        life(bookings_for(counting, server.url))
        return state(store, fake.fake), counting.names, fake.count
    finally:
        server.stop()
