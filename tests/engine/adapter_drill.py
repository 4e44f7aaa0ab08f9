"""The six-month drill on the real adapters, through their clocked fakes (issue #20, "must be true" 2).

The sandbox drill (:mod:`.drill`) runs plans day by day on the on-demand
sandbox, which the daily run charges. Here the same days run on the
providers where studios take money, each through its fake with a clock
(:mod:`payplan.testing.stripe`, ``.square``, ``.paypal``) and the real SDK:
Stripe (a subscription schedule, and one invoice per installment), Square
(an invoice with card-on-file payment requests) and PayPal (a subscription,
on either binding). The provider collects the installments by itself on
their dates, declines as each card's script says and retries where the
provider documents that it retries; its signed webhooks reach the store
through :func:`payplan.store.receive_webhook`, each day's shuffled and some
delivered twice. The site books, cancels and refunds through
:class:`payplan.bookings.Bookings`, and runs the day with
:meth:`~payplan.bookings.Bookings.collect` (the daily run), which charges
the late fees where the provider charges fees and reports the others held.

Each plan's script is a pure function of its index, so a drill builds the
same portfolio every time. The checks (:func:`check`) are those of the
sandbox drill where they carry over (every plan ends as its script says on
that provider; nothing is charged twice; the ledger holds what the provider
took; no message twice), plus: every late fee assessed is collected or
reported held with why; every cancellation's refunds land once; a goodwill
refund keeps its installment paid.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import multiprocessing
import os
import random
import signal
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from payplan import (
    DepositRule,
    FeeCollection,
    InstallmentState,
    LateFeeAssessed,
    LateFeePolicy,
    Money,
    PaymentPlan,
    PlanStatus,
    Refund,
    Terms,
    fees_due,
    plan_status,
)
from payplan.bookings import Bookings
from payplan.engine import RunSummary
from payplan.notify import Contact, InMemoryNotifier, Message
from payplan.providers import Capability, Payer, Provider
from payplan.store import InboxStatus, MemoryStore, Store, receive_webhook
from payplan.testing import SandboxCard
from payplan.testing.server import Delivery, FakeServer

START = dt.date(2026, 12, 1)
END = START + dt.timedelta(days=182)  # six months of simulated time
DEFAULT_AFTER = 30
FEE = Money.of("25.00", "USD")
GOODWILL = Money.of("50.00", "USD")


class Script(enum.Enum):
    """What happens to a plan's card and booking."""

    PAYS = "pays"                      # every charge succeeds
    DECLINED_ONCE = "declined_once"    # installment 2's first charge is declined
    DECLINED_TWICE = "declined_twice"  # installment 2's first two charges are declined
    EXPIRES = "expires"                # the card expires before installment 3: every charge from then declined
    EXHAUSTED = "exhausted"            # every charge after the deposit is declined
    CANCELLED = "cancelled"            # the client cancels 40 days after booking (refunds by the policy)
    GOODWILL = "goodwill"              # paid on time; $50 given back "for late photos" 70 days after booking


SCRIPTS = tuple(Script)


def script_of(n: int) -> Script:
    return SCRIPTS[n % len(SCRIPTS)]


def collect_of(n: int) -> FeeCollection:
    """The fee timing of plan *n*: each timing on every script over the portfolio."""
    return tuple(FeeCollection)[(n // len(SCRIPTS)) % len(FeeCollection)]


@functools.cache
def plan_of(n: int) -> PaymentPlan:
    booked = START + dt.timedelta(days=n % 13)
    return PaymentPlan.with_deposit(
        f"adrill-{n:04d}",
        Money(200_000, "USD"),
        terms=Terms(
            deposit=DepositRule.percent(25), installments=3,
            late_fees=LateFeePolicy.single(FEE, collect=collect_of(n)),
        ),
        booked=booked,
        session=booked + dt.timedelta(days=130),
        client=f"client-{n:04d}",
    )


def outcomes(n: int) -> tuple[SandboxCard, ...]:
    """The plan's card, charge by charge (the deposit first); after the script, every charge succeeds."""
    s, ok, no = script_of(n), SandboxCard.SUCCESS, SandboxCard.DECLINE
    return {
        Script.DECLINED_ONCE: (ok, no),
        Script.DECLINED_TWICE: (ok, no, no),
        Script.EXPIRES: (ok, ok, *(SandboxCard.EXPIRED,) * 30),
        Script.EXHAUSTED: (ok, *(no,) * 30),
    }.get(s, ())


def contact_of(plan: PaymentPlan) -> Contact:
    n = int(plan.id.rsplit("-", 1)[1])
    return Contact(f"Client {n}", email=f"client-{n:04d}@example.com")


# -- the adapters ----------------------------------------------------------------------------------


class Adapter:
    """One provider behind its clocked fake: publish, move the clock, take the deliveries, read its truth."""

    name: str
    #: Whether the provider tries a declined automatic payment again (Stripe's Smart Retries,
    #: PayPal's retries every 5 days); Square does not, and the daily run does not charge
    #: installments a provider collects by itself.
    retries: bool
    charge_deposit = False

    provider: Provider
    fake: Any
    server_url: str

    def payer(self, n: int) -> Payer:
        raise NotImplementedError

    def before_booking(self, n: int) -> None:
        """Set the card's script (where the provider keys it by the card, known before booking)."""

    def after_booking(self, n: int, binding_ids: dict[str, str]) -> None:
        """What the client does after booking (PayPal: approve the subscription)."""

    def advance_to(self, day: dt.date) -> list[Delivery]:
        raise NotImplementedError

    def take(self) -> list[Delivery]:
        raise NotImplementedError

    def clock(self) -> float:
        """The fake's time as a Unix time (what a worker's adapter reads as its clock)."""
        now = self.fake.now
        return float(now) if isinstance(now, int | float) else now.timestamp()

    def fee_charges(self) -> Counter[str]:
        """Fee charges the provider took, by payplan fee id (each must be 1)."""
        return Counter()

    def ends(self, s: Script) -> PlanStatus:
        """How a plan of script *s* ends on this provider."""
        if s is Script.CANCELLED:
            return PlanStatus.CANCELLED
        if s in (Script.EXPIRES, Script.EXHAUSTED):
            return PlanStatus.DEFAULTED
        if s in (Script.DECLINED_ONCE, Script.DECLINED_TWICE):
            if not self.retries:
                return PlanStatus.DEFAULTED
            if Capability.CHARGE_FEES not in self.provider.capabilities:
                return PlanStatus.OVERDUE  # paid late: the late fee is held, for the site to collect
        return PlanStatus.PAID_IN_FULL

    @property
    def refunds(self) -> bool:
        """Whether the adapter refunds through payplan (else a cancellation credits what it would pay back)."""
        return type(self.provider).refund is not Provider.refund

    @property
    def goodwill(self) -> bool:
        """Whether the adapter carries a goodwill refund to its refund events."""
        return Capability.GOODWILL_REFUNDS in self.provider.capabilities


class StripeAdapter(Adapter):
    retries = True
    charge_deposit = True

    def __init__(self, server_url: str, fake: Any, mode: str) -> None:
        import stripe

        from payplan.providers.stripe import StripeMode, StripeProvider

        self.fake = fake
        self.name = f"stripe-{mode}"
        client = stripe.StripeClient("sk_test_drill", base_addresses={"api": server_url}, max_network_retries=0)
        self.provider = StripeProvider(
            client, webhook_secret=fake.webhook_secret, mode=StripeMode(mode), clock=fake.clock
        )

    def payer(self, n: int) -> Payer:
        return Payer(customer_id=f"cus_{n:04d}", payment_method_id=f"pm_drill_{n:04d}")

    def before_booking(self, n: int) -> None:
        if outcomes(n):
            self.fake.script(f"pm_drill_{n:04d}", *outcomes(n))

    def advance_to(self, day: dt.date) -> list[Delivery]:
        return list(self.fake.advance_to(day))

    def take(self) -> list[Delivery]:
        return list(self.fake.take_deliveries())

    def fee_charges(self) -> Counter[str]:
        return Counter(
            o["metadata"]["payplan_fee"] for o in self.fake.objects.values()
            if o.get("object") == "invoice" and (o.get("metadata") or {}).get("payplan_fee") and o["status"] == "paid"
        )


class SquareAdapter(Adapter):
    name = "square"
    retries = False

    def __init__(self, server_url: str, fake: Any) -> None:
        from square import Square

        from payplan.providers.square import SquareProvider

        self.fake = fake
        self.provider = SquareProvider(
            Square(token="t", base_url=server_url), location_id="L", invoices_plus=True,
            signature_key=fake.signature_key, notification_url=fake.notification_url,
        )

    def payer(self, n: int) -> Payer:
        return Payer(customer_id=f"C{n:04d}", payment_method_id=f"ccof:drill-{n:04d}")

    def before_booking(self, n: int) -> None:
        if outcomes(n):
            self.fake.script(f"ccof:drill-{n:04d}", *outcomes(n))

    def advance_to(self, day: dt.date) -> list[Delivery]:
        return list(self.fake.advance_to(day))

    def take(self) -> list[Delivery]:
        return list(self.fake.take_deliveries())

    def fee_charges(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for p in self.fake.payments.values():
            note = str(p.get("note") or "")  # the daily run describes a fee charge as "late fee <fee id>"
            if note.startswith("late fee ") and p.get("status") == "COMPLETED":
                out[note.removeprefix("late fee ")] += 1
        return out


class PayPalAdapter(Adapter):
    retries = True

    def __init__(self, server_url: str, fake: Any, binding: str, signer: Any) -> None:
        from providers.test_paypal import rest_provider, server_provider

        self.fake = fake
        self.name = f"paypal-{binding}"
        make = rest_provider if binding == "rest" else server_provider
        self.provider = make(server_url, signer, clock=fake.clock)

    def payer(self, n: int) -> Payer:
        return Payer(email=f"client-{n:04d}@example.com")

    def after_booking(self, n: int, binding_ids: dict[str, str]) -> None:
        if outcomes(n):  # PayPal keys a script by the subscription: known once published, before approval
            self.fake.script(binding_ids["subscription"], *outcomes(n))
        self.fake.approve(binding_ids["subscription"])

    def advance_to(self, day: dt.date) -> list[Delivery]:
        return list(self.fake.advance_to(day))

    def take(self) -> list[Delivery]:
        return list(self.fake.take_deliveries())


ADAPTERS = ("stripe-subscription_schedule", "stripe-invoices", "square", "paypal-rest", "paypal-server")


@contextmanager
def adapter(name: str) -> Iterator[Adapter]:
    """The adapter *name* on a fresh fake whose clock starts the day before the drill."""
    start = dt.datetime.combine(START - dt.timedelta(days=1), dt.time(8), tzinfo=dt.UTC)
    if name.startswith("stripe"):
        from payplan.testing.stripe import FakeStripe

        fake: Any = FakeStripe(start=start, webhook_secret="whsec_drill")
        with FakeServer(fake) as server:
            a: Adapter = StripeAdapter(server.url, fake, name.removeprefix("stripe-"))
            a.server_url = server.url
            yield a
    elif name == "square":
        from payplan.testing.square import FakeSquare

        fake = FakeSquare(timezone="UTC", now=start)
        with FakeServer(fake) as server:
            a: Adapter = SquareAdapter(server.url, fake)
            a.server_url = server.url
            yield a
    else:
        from payplan.testing.paypal import FakePayPal, PayPalSigner

        signer = PayPalSigner()
        fake = FakePayPal(signer, now=start)
        with FakeServer(fake) as server:
            a: Adapter = PayPalAdapter(server.url, fake, name.removeprefix("paypal-"), signer)
            a.server_url = server.url
            yield a


# -- the days ----------------------------------------------------------------------------------------


class Drill:
    """One adapter's portfolio over six months: what it did, for :func:`check`."""

    def __init__(self, a: Adapter, count: int, *, seed: int = 20261201, store: Store | None = None) -> None:
        self.a = a
        self.count = count
        self.store = store if store is not None else MemoryStore()
        self.notifier = InMemoryNotifier()
        self.bookings = Bookings(self.store, [a.provider], self.notifier, contact_of)
        self.rng = random.Random(seed)
        self.summaries: list[RunSummary] = []
        self.delivered = 0
        self.repeated = 0
        self.statuses: Counter[int] = Counter()
        self.cancelled: dict[str, Any] = {}
        self.goodwill: dict[str, dt.date] = {}

    def deliver(self, deliveries: Sequence[Delivery]) -> None:
        """The provider's deliveries, shuffled, about one in four delivered twice."""
        batch = list(deliveries)
        batch += [d for d in deliveries if self.rng.random() < 0.25]
        self.repeated += len(batch) - len(deliveries)
        self.rng.shuffle(batch)
        for d in batch:
            response = receive_webhook(self.store, self.a.provider, d.headers, d.body)
            self.statuses[response.status] += 1
            self.delivered += 1

    def book(self, n: int) -> None:
        plan = plan_of(n)
        self.a.before_booking(n)
        booking = self.bookings.book(
            plan, self.a.payer(n), provider=self.a.provider.name, on=plan.booked,
            charge_deposit=self.a.charge_deposit,
        )
        assert booking.binding is not None
        self.a.after_booking(n, dict(booking.binding.ids))

    def site(self, day: dt.date) -> None:
        """The site's own actions of the day: bookings, cancellations, goodwill refunds."""
        for n in range(self.count):
            plan = plan_of(n)
            if day == plan.booked:
                self.book(n)
            elif script_of(n) is Script.CANCELLED and day == plan.booked + dt.timedelta(days=40):
                # where the adapter cannot refund, the settlement credits what it would pay back
                self.bookings.cancel(plan.id, on=day, reason="the client cancelled", credit=not self.a.refunds)
                self.cancelled[plan.id] = self.bookings.booking(plan.id).settlement
            elif script_of(n) is Script.GOODWILL and day == plan.booked + dt.timedelta(days=70) and self.a.goodwill:
                self.bookings.refund(plan.id, GOODWILL, on=day, reason="late photos", lowers_price=True)
                self.goodwill[plan.id] = day

    def run(self, days: Sequence[dt.date] | None = None) -> Drill:
        for day in days if days is not None else [START + dt.timedelta(days=k) for k in range((END - START).days + 1)]:
            self.deliver(self.a.advance_to(day))
            self.site(day)
            self.deliver(self.a.take())
            summary = self.bookings.collect(day)
            summary.actions = [a for a in summary.actions if a.kind in ("held", "charge")]
            self.summaries.append(summary)
            self.deliver(self.a.take())  # what the run's fee charges made the provider send
        return self


# -- what the drill checks ---------------------------------------------------------------------------


def check(d: Drill) -> dict[str, Any]:
    """Everything wrong with a drill's outcome, by check (empty when all hold)."""
    store, a = d.store, d.a
    out: dict[str, Any] = {}
    failures = [f for s in d.summaries for f in s.failures]
    if failures:
        out["run failures"] = failures[:5]
    bad = {k: v for k, v in d.statuses.items() if k != 200}
    if bad:
        out["deliveries refused"] = bad
    stuck = store.inbox(status=InboxStatus.DEFERRED) + store.inbox(status=InboxStatus.FAILED)
    if stuck:
        out["inbox not applied"] = [(i.event_id, i.status.value, i.error) for i in stuck][:5]
    wrong, above, fees, refunds, goodwill = {}, [], {}, {}, {}
    last_held = {act.detail.split(" (", 1)[1].split("):", 1)[0]: act.detail
                 for act in d.summaries[-1].actions if act.kind == "held"}
    for n in range(d.count):
        plan, s = plan_of(n), script_of(n)
        ledger = store.load(plan.id).ledger
        got = plan_status(plan, ledger, END, default_after_days=DEFAULT_AFTER).status
        if got is not a.ends(s):
            wrong[plan.id] = (s.value, a.ends(s).value, got.value)
        if ledger.balance.minor < 0:
            above.append(f"{plan.id}: {ledger.balance} in credit (charged above the balance)")
        # every late fee assessed is collected, waived, settled by the cancellation, or held with why
        if ledger.cancellation is None:
            owed = {f.id: f for f in fees_due(plan, ledger, END) if f.kind == "late_fee"}
            for e in ledger:
                if isinstance(e, LateFeeAssessed) and e.id in owed and e.id not in last_held:
                    fees[e.id] = f"{owed[e.id].outstanding} owed, neither collected nor held"
        if s is Script.CANCELLED and plan.id in d.cancelled:
            settlement = d.cancelled[plan.id]
            back = sum(e.amount.minor for e in ledger if isinstance(e, Refund))
            if back != settlement.refund.minor:
                refunds[plan.id] = f"refunded {back}, the settlement says {settlement.refund.minor}"
        if s is Script.GOODWILL and plan.id in d.goodwill:
            given = [e for e in ledger if isinstance(e, Refund)]
            states = {st.status for st in plan_status(plan, ledger, END).installments}
            if [(e.amount, e.lowers_price) for e in given] != [(GOODWILL, True)] or states != {InstallmentState.PAID}:
                goodwill[plan.id] = (given, states)
    for key, value in (("endings", wrong), ("above the balance", above), ("fees neither collected nor held", fees),
                       ("cancellation refunds", refunds), ("goodwill refunds", goodwill)):
        if value:
            out[key] = value
    twice = {k: v for k, v in a.fee_charges().items() if v > 1}
    if twice:
        out["fees charged twice"] = twice
    sent = d.notifier.sent
    dups = {k: v for k, v in Counter(m.id for m in sent).items() if v > 1}
    if dups:
        out["messages twice"] = dups
    dishonest = [m.id for m in sent if m.kind == "fee_assessed" and (
        "overdue" in (m.subject + m.body).lower() or "final notice" in (m.subject + m.body).lower())]
    if dishonest:
        out["fee messages saying overdue"] = dishonest
    return out


def tally(d: Drill) -> dict[str, int]:
    """What happened, in numbers (for the report and the checks' own checks)."""
    total = RunSummary(START)
    for s in d.summaries:
        total = total.merge(s)
    ledgers = [d.store.load(plan_of(n).id).ledger for n in range(d.count)]
    return {
        "plans": d.count,
        "deliveries": d.delivered,
        "repeated": d.repeated,
        "fees assessed": sum(isinstance(e, LateFeeAssessed) for lg in ledgers for e in lg),
        "fee charges": total.charges,
        "fee charges succeeded": total.succeeded,
        "held (fee-days)": total.held,
        "cancelled": len(d.cancelled),
        "goodwill refunds": len(d.goodwill),
        "messages": len(d.notifier.sent),
    }


def messages(d: Drill, kind: str) -> list[Message]:
    return [m for m in d.notifier.sent if m.kind == kind]


Check = Callable[[Drill], dict[str, Any]]


# -- killed workers ------------------------------------------------------------------------------------


def worker_provider(name: str, server_url: str, clock: Callable[[], float]) -> Provider:
    """The adapter *name* as a worker process builds it: its own SDK client on the fake the parent serves."""
    if name.startswith("stripe"):
        import stripe

        from payplan.providers.stripe import StripeMode, StripeProvider

        client = stripe.StripeClient("sk_test_drill", base_addresses={"api": server_url}, max_network_retries=0)
        return StripeProvider(client, webhook_secret="whsec_drill", mode=StripeMode(name.removeprefix("stripe-")),
                              clock=clock)
    if name == "square":
        from square import Square

        from payplan.providers.square import SquareProvider

        return SquareProvider(Square(token="t", base_url=server_url), location_id="L", invoices_plus=True)
    raise ValueError(f"expected a stripe or square adapter for the kill drill, got {name!r}")


class FileNotifier:
    """The mail system of a worker that may be killed: each message appended to a file before send() returns."""

    def __init__(self, path: str) -> None:
        self.path = path

    def send(self, message: Message) -> None:
        line = json.dumps({"id": message.id, "plan_id": message.plan_id, "kind": message.kind,
                           "channel": message.channel, "to": message.to, "subject": message.subject,
                           "body": message.body, "locale": message.locale,
                           "date": None if message.date is None else message.date.isoformat()})
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    @staticmethod
    def read(path: str) -> tuple[Message, ...]:
        if not os.path.exists(path):
            return ()
        out = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    continue  # a write a kill cut short: never handed over
                m = json.loads(line)
                m["date"] = None if m["date"] is None else dt.date.fromisoformat(m["date"])
                out.append(Message(**m))
        return tuple(out)


def run_worker(url: str, name: str, server_url: str, outbox: str, conn: Any, kill_chance: float, seed: int) -> None:
    """A worker process: runs the days it is sent (``(day, the fake's time)``) until sent ``None``.

    With *kill_chance* it SIGKILLs itself at random store calls, before or after the call.
    """
    from payplan.engine import run_due
    from payplan.store import open_store

    from .drill import Killer

    store = open_store(url)
    now = [0.0]
    provider = worker_provider(name, server_url, lambda: now[0])
    runner: Any = Killer(store, kill_chance, seed) if kill_chance else store
    notifier = FileNotifier(outbox)
    conn.send("ready")
    while (msg := conn.recv()) is not None:
        day, now[0] = msg
        summary = run_due(runner, [provider], day, notifier, contacts=contact_of)
        summary.actions = [a for a in summary.actions if a.kind in ("held", "charge")]
        conn.send(summary)
    store.close()


class KillWorker:
    """The parent's handle on the worker process, restarted on the same day each time it dies."""

    def __init__(self, ctx: Any, url: str, name: str, server_url: str, outbox: str, kill_chance: float,
                 seed: int) -> None:
        self.ctx, self.url, self.name, self.server_url, self.outbox = ctx, url, name, server_url, outbox
        self.kill_chance, self.seed = kill_chance, seed
        self.starts = self.kills = 0
        self.process: Any = None
        self.conn: Any = None

    def start(self) -> None:
        parent, child = self.ctx.Pipe()
        self.starts += 1
        self.process = self.ctx.Process(
            target=run_worker,
            args=(self.url, self.name, self.server_url, self.outbox, child, self.kill_chance,
                  self.seed * 1000 + self.starts),
            daemon=True,
        )
        self.process.start()
        child.close()
        self.conn = parent
        assert self.conn.recv() == "ready"

    def day(self, msg: tuple[dt.date, float], kill_after: float | None) -> RunSummary:
        if self.process is None:
            self.start()
        self.conn.send(msg)
        while True:
            if kill_after is not None and not self.conn.poll(kill_after):
                os.kill(self.process.pid, signal.SIGKILL)
            kill_after = None
            try:
                summary: RunSummary = self.conn.recv()
                return summary
            except (EOFError, ConnectionResetError):
                self.process.join()
                if self.process.exitcode != -signal.SIGKILL:
                    raise AssertionError(f"worker died with exit code {self.process.exitcode}") from None
                self.kills += 1
                self.start()
                self.conn.send(msg)

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.conn.send(None)
            self.process.join(30)


class KillDrill(Drill):
    """The drill with each day's run in a worker process killed at random points; the fake (the provider)
    and the site's own actions stay in this process, which outlives the workers, as a provider does."""

    def __init__(self, a: Adapter, name: str, count: int, url: str, server_url: str, outbox: str, *,
                 kill_chance: float, seed: int = 20261201) -> None:
        from payplan.store import open_store

        super().__init__(a, count, seed=seed, store=open_store(url))
        ctx = multiprocessing.get_context("forkserver")
        sdk = {"stripe": "payplan.providers.stripe", "square": "payplan.providers.square"}[name.split("-", 1)[0]]
        ctx.set_forkserver_preload([__name__, "payplan.store.sql", "sqlalchemy", sdk])
        self.worker = KillWorker(ctx, url, name, server_url, outbox, kill_chance, seed)
        self.outbox = outbox
        self.kill_rng = random.Random(seed + 1)

    def run(self, days: Sequence[dt.date] | None = None) -> KillDrill:
        try:
            for day in days if days is not None else [START + dt.timedelta(days=k) for k in range((END - START).days + 1)]:
                self.deliver(self.a.advance_to(day))
                self.site(day)
                self.deliver(self.a.take())
                kill_after = self.kill_rng.uniform(0.0, 0.05) if self.kill_rng.random() < 0.1 else None
                self.summaries.append(self.worker.day((day, self.a.clock()), kill_after))
                self.deliver(self.a.take())
        finally:
            self.worker.stop()
        self.notifier = InMemoryNotifier()
        for m in FileNotifier.read(self.outbox):
            self.notifier.send(m)
        return self
