"""The lifecycle crash drill: a booking's whole life, its worker SIGKILLed at every point, then run again.

One booking goes through every step of :class:`payplan.bookings.Bookings`
its provider supports, on the real SDK and adapter against the provider's
local clocked fake (:mod:`payplan.testing`), one :class:`Life` per provider:

* **Stripe** (:class:`StripeLife`): booked with its signed agreement and
  deposit, amended (the provider updated), a goodwill refund, a payment
  asked for now, then cancelled (its payments refunded, the invoices voided);
* **Square** (:class:`SquareLife`): booked (its invoices published; Square
  charges the deposit's invoice on its due date), amended, a goodwill
  refund, the January installment charged by Square, then cancelled;
  Square has no charge on demand, so no payment asked for now;
* **PayPal** (:class:`PayPalLife`): booked (the subscription created, the
  buyer approves, PayPal takes the deposit as its setup fee), a goodwill
  refund, then cancelled (refunded, the subscription cancelled); PayPal
  cannot update a published plan nor charge on demand, so no amendment
  and no payment asked for now.

Money Square and PayPal move by themselves reaches the store as it does a
site: through their signed webhooks, which the worker takes at each day it
reaches (:func:`sync`: the fake's clock moves to that day, and every
delivery the fake ever queued is received again through
:func:`payplan.store.receive_webhook`, as a provider redelivers; the inbox
counts each event once).

The fake runs in the test's own process, on 127.0.0.1, so it outlives the
worker as the provider outlives a site's process. The worker is a separate
process killed with SIGKILL:

* **at a step boundary**: right after its *k*-th write to the store (each
  store write is one transaction, so "after write *k*" is every point
  between two writes, or between a write and a provider call);
* **inside a provider call**: the fake does the *r*-th request's work,
  then kills the worker before it answers (the call was made at the
  provider; its answer is lost).

Then a fresh worker runs the same life again from the start
(:meth:`~payplan.bookings.Bookings.resume`, then every step with the same
arguments), and :func:`check` compares the store and the fake's objects to
a run that was never killed: the same ledger, the same plan version and
amendment records, the same binding, every step done, and at the provider
the same objects (no second product, invoice, payment or refund).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import os
import signal
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

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
from payplan.providers import Payer, Provider
from payplan.store import SignedAgreement, StepStatus, Store, WebhookOutcome, receive_webhook
from payplan.testing.server import FakeServer, RecordedRequest, Reply

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


def signed() -> SignedAgreement:
    return SignedAgreement(PLAN_ID, 1, "I agree to pay $2000.", "Jo", dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC))


Sync = Callable[[dt.date], None]


class Life:
    """One provider's side of the drill: its fake, its adapter in the worker, the booking's life, what is compared."""

    name: ClassVar[str]
    payer: ClassVar[Payer]

    def fake(self) -> Any:
        """A fresh fake (a FakeServer responder), its clock at 08:00 UTC on the booking day."""
        raise NotImplementedError

    def config(self, fake: Any) -> dict[str, Any]:
        """What the worker needs to build the adapter against *fake* (picklable)."""
        return {}

    def provider(self, server_url: str, config: dict[str, Any], now: Callable[[], dt.datetime]) -> Provider:
        """The adapter, on the real SDK, pointed at the fake (*now*: the fake's clock as last seen)."""
        raise NotImplementedError

    def live(self, bookings: Bookings, sync: Sync, harness: Callable[..., Any]) -> None:
        """The booking's whole life, each step called with the same arguments every time."""
        raise NotImplementedError

    def objects(self, fake: Any) -> dict[str, Any]:
        """The provider's objects, as counts and statuses (what must be neither missing nor doubled)."""
        raise NotImplementedError

    def harness(self, fake: Any, action: str, args: dict[str, Any]) -> dict[str, Any]:
        """The drill's own calls into the fake that a provider's dashboard or buyer would make."""
        raise KeyError(action)

    #: Path fragments of the requests that move money (a charge, a payment, a refund).
    money_paths: ClassVar[tuple[str, ...]]

    def money_keys(self, requests: list[RecordedRequest]) -> list[str]:
        """The idempotency key of each money-moving request in the provider's log (a repeat sends the same key)."""
        keys = []
        for r in requests:
            if r.method != "POST" or not any(f in r.path for f in self.money_paths):
                continue
            headers = {k.lower(): v for k, v in r.headers.items()}
            key = headers.get("idempotency-key") or headers.get("paypal-request-id")
            if key is None and r.body:
                key = json.loads(r.body).get("idempotency_key")
            keys.append(str(key))
        return keys


class StripeLife(Life):
    name = "stripe"
    money_paths = ("/pay", "/v1/refunds", "/v1/payment_intents", "/v1/charges")
    payer = Payer(customer_id="cus_jo", payment_method_id="pm_card_visa", email="jo@example.com")

    def fake(self) -> Any:
        from payplan.testing.stripe import FakeStripe

        return FakeStripe(start=noon(BOOKED))

    def provider(self, server_url: str, config: dict[str, Any], now: Callable[[], dt.datetime]) -> Provider:
        import stripe

        from payplan.providers.stripe import StripeMode, StripeProvider

        client = stripe.StripeClient("sk_test_drill", base_addresses={"api": server_url}, max_network_retries=0)
        return StripeProvider(
            client, webhook_secret="whsec_drill", mode=StripeMode.INVOICES, clock=lambda: float(noon(BOOKED))
        )

    def live(self, bookings: Bookings, sync: Sync, harness: Callable[..., Any]) -> None:
        p = plan()
        bookings.resume()
        bookings.book(p, self.payer, provider="stripe", on=BOOKED, agreement=signed())
        bookings.amend(
            p.id, ExtendDueDate(3, to=dt.date(2027, 2, 20)), on=dt.date(2026, 12, 5), by="studio",
            reason="the client asked for more time", consent=True,
        )
        bookings.refund(p.id, usd("50.00"), on=dt.date(2026, 12, 6), reason="late proofs", lowers_price=True)
        bookings.pay_now(p.id, on=dt.date(2027, 1, 5))
        bookings.cancel(p.id, on=dt.date(2027, 1, 10), reason="the client moved away")

    def objects(self, fake: Any) -> dict[str, Any]:
        return {
            "objects": dict(Counter(oid.split("_", 1)[0] for oid in fake.objects)),
            "charges": len(fake.charges),
            "invoice_statuses": sorted(
                str(o.get("status")) for o in fake.objects.values() if o.get("object") == "invoice"
            ),
        }


class SquareLife(Life):
    name = "square"
    money_paths = ("/v2/payments", "/v2/refunds")
    payer = Payer(customer_id="CJO", payment_method_id="ccof:jo-visa", email="jo@example.com")

    def fake(self) -> Any:
        from payplan.testing.square import FakeSquare

        return FakeSquare(timezone="UTC", now=dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC))

    def config(self, fake: Any) -> dict[str, Any]:
        return {"signature_key": fake.signature_key, "notification_url": fake.notification_url}

    def provider(self, server_url: str, config: dict[str, Any], now: Callable[[], dt.datetime]) -> Provider:
        from square import Square

        from payplan.providers.square import SquareProvider

        return SquareProvider(
            Square(token="t", base_url=server_url), location_id="L", invoices_plus=True,
            signature_key=config["signature_key"], notification_url=config["notification_url"],
        )

    def live(self, bookings: Bookings, sync: Sync, harness: Callable[..., Any]) -> None:
        p = plan()
        bookings.resume()
        bookings.book(p, self.payer, provider="square", on=BOOKED, agreement=signed())
        sync(BOOKED)  # Square charges the deposit's invoice on its due date
        bookings.amend(
            p.id, ExtendDueDate(3, to=dt.date(2027, 2, 20)), on=dt.date(2026, 12, 5), by="studio",
            reason="the client asked for more time", consent=True,
        )
        bookings.refund(p.id, usd("50.00"), on=dt.date(2026, 12, 6), reason="late proofs", lowers_price=True)
        sync(dt.date(2027, 1, 5))  # the goodwill refund completes; the January installment is charged
        bookings.cancel(p.id, on=dt.date(2027, 1, 10), reason="the client moved away")
        sync(dt.date(2027, 1, 11))  # the cancellation's refunds complete

    def objects(self, fake: Any) -> dict[str, Any]:
        return {
            "orders": len(fake.orders),
            "invoices": sorted(str(i.get("status")) for i in fake.invoices.values()),
            "payments": sorted((p["amount_money"]["amount"], str(p.get("status"))) for p in fake.payments.values()),
            "refunds": sorted((r["amount_money"]["amount"], str(r.get("status"))) for r in fake.refunds.values()),
        }


class PayPalLife(Life):
    name = "paypal"
    money_paths = ("/refund", "/capture")
    payer = Payer(email="jo@example.com")

    def fake(self) -> Any:
        from payplan.testing.paypal import FakePayPal, PayPalSigner

        return FakePayPal(PayPalSigner(), now=dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC))

    def config(self, fake: Any) -> dict[str, Any]:
        from cryptography.hazmat.primitives import serialization

        return {
            "cert": fake.signer.pem, "root": fake.signer.root.public_bytes(serialization.Encoding.PEM),
            "webhook_id": fake.webhook_id,
        }

    def provider(self, server_url: str, config: dict[str, Any], now: Callable[[], dt.datetime]) -> Provider:
        import paypalrestsdk
        from cryptography import x509

        from payplan.providers.paypal import PayPalCertificates, PayPalRestProvider
        from payplan.testing.paypal import CERT_URL
        from providers.test_paypal import CLIENT_ID, CLIENT_SECRET, OPTIONS

        def fetch(url: str) -> bytes:
            if url != CERT_URL:
                raise LookupError(f"no certificate at {url}")
            return bytes(config["cert"])

        api = paypalrestsdk.Api(mode="sandbox", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, endpoint=server_url)
        certificates = PayPalCertificates(fetch, trusted=[x509.load_pem_x509_certificate(config["root"])])
        return PayPalRestProvider(api, OPTIONS, webhook_id=config["webhook_id"], certificates=certificates, clock=now)

    def live(self, bookings: Bookings, sync: Sync, harness: Callable[..., Any]) -> None:
        p = plan()
        bookings.resume()
        booking = bookings.book(p, self.payer, provider="paypal", on=BOOKED, agreement=signed())
        assert booking.binding is not None
        harness("approve", subscription=booking.binding.ids["subscription"])  # the buyer, at the approval URL
        sync(BOOKED)  # the setup fee (the deposit) taken on approval
        bookings.refund(p.id, usd("50.00"), on=dt.date(2026, 12, 6), reason="late proofs", lowers_price=True)
        sync(dt.date(2027, 1, 5))  # the January cycle billed
        bookings.cancel(p.id, on=dt.date(2027, 1, 10), reason="the client moved away")
        sync(dt.date(2027, 1, 11))

    def objects(self, fake: Any) -> dict[str, Any]:
        return {
            "products": len(fake.products),
            "plans": len(fake.plans),
            "subscriptions": sorted(str(s.get("status")) for s in fake.subscriptions.values()),
            "payments": len(fake.payments),
            "refunds": sorted(str(r.get("status")) for r in fake.refunds.values()),
        }

    def harness(self, fake: Any, action: str, args: dict[str, Any]) -> dict[str, Any]:
        if action == "approve":
            sub = fake.subscriptions[args["subscription"]]
            if sub.get("status") not in ("ACTIVE", "CANCELLED"):  # the buyer approves once
                fake.approve(args["subscription"])
            return {}
        return super().harness(fake, action, args)


LIVES: dict[str, Life] = {life.name: life for life in (StripeLife(), SquareLife(), PayPalLife())}


def life(bookings: Bookings) -> None:
    """Stripe's life (kept for callers that drive it directly)."""
    LIVES["stripe"].live(bookings, lambda day: None, lambda *a, **k: None)


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


def bookings_for(store: Any, server_url: str, life: Life | None = None, config: dict[str, Any] | None = None) -> Bookings:
    """Bookings on *store* with *life*'s adapter against the fake at *server_url* (Stripe by default)."""
    life = life or LIVES["stripe"]
    return Bookings(store, [life.provider(server_url, config or {}, lambda: dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC))])


def _call(server_url: str, action: str, **args: Any) -> Any:
    """The drill's harness in the fake's process (not a provider request: never counted, never killed)."""
    request = urllib.request.Request(
        f"{server_url}{HARNESS}{action}", data=json.dumps(args).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def run_life(life: Life, store: Any, server_url: str, config: dict[str, Any]) -> None:
    """*life* on *store*: its adapter built here, each day's webhooks received through the store's inbox."""
    seen = [dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)]
    provider = life.provider(server_url, config, lambda: seen[0])
    bookings = Bookings(store, [provider])

    def sync(day: dt.date) -> None:
        answer = _call(server_url, "advance", to=day.isoformat())
        for d in answer["deliveries"]:  # received as if when it was sent (a redelivery is not stale)
            seen[0] = dt.datetime.fromisoformat(d["at"])
            response = receive_webhook(store, provider, d["headers"], base64.b64decode(d["body"]))
            assert response.outcome not in (WebhookOutcome.FORGED, WebhookOutcome.MALFORMED), response.detail
        seen[0] = dt.datetime.fromisoformat(answer["now"])

    life.live(bookings, sync, functools.partial(_call, server_url))


def worker(url: str, server_url: str, kill_after: int | None, name: str = "stripe", config: dict[str, Any] | None = None) -> None:
    """A worker process: *name*'s life on the store at *url*, killed after write *kill_after* if given."""
    store = Store.open(url)
    run_life(LIVES[name], CountingStore(store, kill_after), server_url, config or {})
    store.close()


HARNESS = "/__drill/"


class KillingFake:
    """A provider's fake, which kills the worker (SIGKILL) once it has done the *kill_at*-th request's work.

    It also answers the drill's harness (``/__drill/advance``: the clock to a
    day, every delivery queued so far; ``/__drill/<action>``: the life's
    own), which is no provider request: not counted, never killed in.
    """

    def __init__(self, life: Life | None = None) -> None:
        self.life = life or LIVES["stripe"]
        self.fake = self.life.fake()
        self.count = 0
        self.kill_at: int | None = None
        self.pid: int | None = None
        self.killed = threading.Event()
        self.delivered: list[dict[str, Any]] = []
        self.requests: list[RecordedRequest] = []  # the provider's request log (the harness's calls left out)

    def __call__(self, request: RecordedRequest) -> Reply:
        if request.path.startswith(HARNESS):
            return self._harness(request.path.removeprefix(HARNESS), request.json() if request.body else {})
        reply = self.fake(request)
        self.requests.append(request)
        self.count += 1
        if self.count == self.kill_at:
            deadline = time.monotonic() + 10
            while self.pid is None and time.monotonic() < deadline:
                time.sleep(0.01)
            assert self.pid is not None
            os.kill(self.pid, signal.SIGKILL)
            self.killed.set()
        return reply

    def _harness(self, action: str, args: dict[str, Any]) -> Reply:
        if action == "advance":
            day = dt.date.fromisoformat(args["to"])

            def keep(d: Any) -> None:  # each delivery with the time it was sent (the clock standing there)
                self.delivered.append({
                    "headers": dict(d.headers), "body": base64.b64encode(d.body).decode(),
                    "at": self.fake.now.isoformat(),
                })

            for d in self.fake.take_deliveries():  # queued by calls since the last day, at the clock's time
                keep(d)
            # a rerun goes over days already passed: the clock never moves back
            if dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC) > self.fake.now:
                self.fake.advance_to(day, deliver=keep)
            return Reply.json({"now": self.fake.now.isoformat(), "deliveries": self.delivered})
        return Reply.json(self.life.harness(self.fake, action, args))

    def serve(self) -> FakeServer:
        return FakeServer(self).start()


KillingStripe = KillingFake


def state(store: Store, fake: Any, life: Life | None = None, requests: list[RecordedRequest] | None = None) -> dict[str, Any]:
    """What the drill compares: the ledger, versions, binding, steps, the objects the provider holds and its request log.

    From the request log: how many distinct idempotency keys the money-moving
    requests carried. A rerun may send a request again under its key (the
    provider answers with its first answer); a second charge or refund
    would need a key of its own.
    """
    life = life or LIVES["stripe"]
    stored = store.load(PLAN_ID)
    binding = store.current_binding(PLAN_ID)
    history = store.history(PLAN_ID)
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
        "provider": life.objects(fake),
        "money_keys": None if requests is None else len(set(life.money_keys(requests))),
    }


def check(got: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """What differs from the run that was never killed (an empty list: nothing lost, nothing doubled)."""
    problems = [f"{k}: {got.get(k)!r} != {v!r}" for k, v in baseline.items() if got.get(k) != v]
    if any(status is not StepStatus.DONE for _, status in got["steps"]):
        problems.append(f"unfinished steps: {got['steps']}")
    return problems


def baseline_run(make_store: Callable[[], Store], life: Life | None = None) -> tuple[dict[str, Any], list[str], int]:
    """The life run once in this process, never killed: (its state, its store writes in order, provider requests)."""
    life = life or LIVES["stripe"]
    fake = KillingFake(life)
    server = fake.serve()
    try:
        store = make_store()
        counting = CountingStore(store)
        run_life(life, counting, server.url, life.config(fake.fake))
        return state(store, fake.fake, life, fake.requests), counting.names, fake.count
    finally:
        server.stop()
