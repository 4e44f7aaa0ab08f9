"""The collections drill: 1,000 plans on the sandbox, scripted cards, six months run day by day.

Shared by the drill tests (memory; two worker processes on PostgreSQL; a
worker process killed with SIGKILL at random points and restarted, on
SQLite and PostgreSQL). Each plan's script is a pure function of its
index, so every run builds the same portfolio and the same card
behaviours.

The provider and the mail system are a :class:`World`: an
:class:`~payplan.testing.OnDemandSandboxProvider` and an
:class:`~payplan.notify.InMemoryNotifier` behind a lock, with a log of
every charge request the provider received. For the runs with worker
processes the world lives in its own process (a
:mod:`multiprocessing.managers` server on a Unix socket), as a real provider
does: it outlives any worker, answers a repeated idempotency key with its
first answer (the sandbox's own idempotency), and a worker killed while
waiting for an answer leaves the call done at the provider and the answer
lost. Workers reach it through :class:`WorldProvider` (a
:class:`~payplan.providers.Provider`) and :class:`WorldNotifier`.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import os
import random
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from multiprocessing.connection import Connection
from multiprocessing.managers import BaseManager
from typing import Any, NamedTuple

from payplan import (
    DepositRule,
    Ledger,
    Money,
    PaymentFailed,
    PaymentPlan,
    PaymentReceived,
    Terms,
    settle_cancellation,
)
from payplan._status import PlanStatus, plan_status
from payplan.engine import RunSummary, run_due
from payplan.notify import Contact, InMemoryNotifier, Message
from payplan.providers import (
    ChargeOutcome,
    Payer,
    Provider,
    ProviderBinding,
    ProviderEvent,
    fee_key,
    idempotency_key,
)
from payplan.serialization import dumps_plan, loads_plan
from payplan.store import Store
from payplan.testing import OnDemandSandboxProvider, SandboxCard

START = dt.date(2026, 12, 1)
END = dt.date(2027, 5, 31)  # six months of simulated time
DEFAULT_AFTER = 30
AUTHKEY = b"payplan-drill"


class Script(enum.Enum):
    """What happens to a plan, and how it must end."""

    PAYS = "pays"                      # every charge succeeds
    DECLINED_ONCE = "declined_once"    # each installment's first charge is declined, the retry succeeds
    DECLINED_TWICE = "declined_twice"  # two declines, the third attempt succeeds
    AUTHENTICATES = "authenticates"    # 3-D Secure asked once per installment; the retry goes through
    EXHAUSTED = "exhausted"            # every charge declined: the ladder ends, escalation, default
    CARD_EXPIRES = "card_expires"      # the card expires before the last installment: warning, then declines
    CANCELLED = "cancelled"            # the client cancels 40 days after booking

    @property
    def ends(self) -> PlanStatus:
        if self in (Script.EXHAUSTED, Script.CARD_EXPIRES):
            return PlanStatus.DEFAULTED
        if self is Script.CANCELLED:
            return PlanStatus.CANCELLED
        return PlanStatus.PAID_IN_FULL


SCRIPTS = tuple(Script)


def script_of(n: int) -> Script:
    return SCRIPTS[n % len(SCRIPTS)]


@functools.cache
def plan_of(n: int) -> PaymentPlan:
    booked = START + dt.timedelta(days=n % 28)
    return PaymentPlan.with_deposit(
        f"drill-{n:05d}",
        Money(200_000 + 100 * (n % 7), "USD"),
        terms=Terms(deposit=DepositRule.percent(25), installments=3),
        booked=booked,
        session=booked + dt.timedelta(days=130),
        client=f"client-{n:05d}",
    )


def card_expires(n: int) -> dt.date | None:
    """The last day the plan's card works (CARD_EXPIRES: ten days before the last installment)."""
    if script_of(n) is not Script.CARD_EXPIRES:
        return None
    return plan_of(n).installments[-1].due - dt.timedelta(days=10)


def contact_of(plan: PaymentPlan) -> Contact:
    return _contact(int(plan.id.removeprefix("drill-")))


@functools.cache
def _contact(n: int) -> Contact:
    client = f"client-{n:05d}"
    return Contact(f"Client {n}", email=f"{client}@example.com", card_expires=card_expires(n))


def card(n: int) -> tuple[str, tuple[SandboxCard, ...]]:
    """The plan's payment method and the script of its next charges (one line per installment charged)."""
    s = script_of(n)
    if s is Script.EXHAUSTED:
        return SandboxCard.DECLINE.value, ()
    pm = f"pm_drill_{n:05d}"
    charged = len(plan_of(n).installments) - 1
    per_installment = {
        Script.DECLINED_ONCE: (SandboxCard.DECLINE, SandboxCard.SUCCESS),
        Script.AUTHENTICATES: (SandboxCard.AUTHENTICATION, SandboxCard.SUCCESS),
        Script.DECLINED_TWICE: (SandboxCard.DECLINE, SandboxCard.DECLINE, SandboxCard.SUCCESS),
    }.get(s)
    if per_installment:
        return pm, per_installment * charged
    if s is Script.CARD_EXPIRES:
        return pm, (SandboxCard.SUCCESS,) * (charged - 1) + (SandboxCard.EXPIRED,) * 20
    return pm, ()


# -- the provider and the mail system ------------------------------------------------------------


class Request(NamedTuple):
    """One money-moving request the provider received, and what it did."""

    day: dt.date
    key: str
    plan_id: str
    installment: int | None
    fee_id: str | None
    attempt: int
    amount: int
    status: str
    reference: str | None
    new: bool  # the provider created a charge (not an idempotent replay)


class World:
    """The sandbox provider and the mail system: the state outside payplan that outlives its workers."""

    def __init__(self) -> None:
        self.sandbox = OnDemandSandboxProvider(today=START)
        self.notifier = InMemoryNotifier()
        self.requests: list[Request] = []
        self._bindings: dict[str, ProviderBinding] = {}
        self._lock = threading.Lock()

    # The provider's side of the wire: plans arrive as JSON (as a real provider's requests carry
    # their data), and each request names the plan the provider keeps a binding for.

    def publish(self, plan_json: str, payment_method_id: str, script: Sequence[SandboxCard] = ()) -> dict[str, Any]:
        plan = loads_plan(plan_json)
        with self._lock:
            if script:
                self.sandbox.script(payment_method_id, *script)
            binding = self.sandbox.publish(plan, Payer(payment_method_id=payment_method_id))
            self._bindings[plan.id] = binding
            return {"provider": binding.provider, "plan_id": binding.plan_id, "plan_version": binding.plan_version,
                    "ids": dict(binding.ids), "status": binding.status}

    def advance_to(self, day: dt.date) -> None:
        with self._lock:
            self.sandbox.advance_to(day)

    def charge(self, plan_json: str, installment: int, attempt: int) -> ChargeOutcome:
        plan = loads_plan(plan_json)
        key = idempotency_key(plan, "charge", installment=installment, attempt=attempt)
        with self._lock:
            before = self.sandbox.created
            out = self.sandbox.charge(self._bindings[plan.id], plan, installment, attempt=attempt)
            self._log(key, plan.id, installment, None, attempt, out, self.sandbox.created > before)
            return out

    def charge_fee(self, plan_json: str, fee_id: str, amount: Money, description: str, attempt: int) -> ChargeOutcome:
        plan = loads_plan(plan_json)
        key = fee_key(plan.id, fee_id, amount, attempt=attempt)
        with self._lock:
            before = self.sandbox.created
            out = self.sandbox.charge_fee(
                self._bindings[plan.id], plan, fee_id, amount, description=description, attempt=attempt
            )
            self._log(key, plan.id, None, fee_id, attempt, out, self.sandbox.created > before)
            return out

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> tuple[ProviderEvent, ...]:
        with self._lock:
            return self.sandbox.parse_webhook(headers, body)

    def send(self, message: Message) -> None:
        self.notifier.send(message)

    def report(self) -> tuple[list[Request], tuple[Message, ...]]:
        """The provider's request log and every message the mail system accepted."""
        with self._lock:
            return list(self.requests), self.notifier.sent

    def _log(
        self, key: str, plan_id: str, installment: int | None, fee_id: str | None, attempt: int,
        out: ChargeOutcome, new: bool,
    ) -> None:
        self.requests.append(Request(
            self.sandbox.today, key, plan_id, installment, fee_id, attempt, out.amount.minor, out.status.value,
            out.reference, new,
        ))


class WorldProvider(Provider):
    """The provider payplan's daily run talks to: the world's sandbox, in this process or another."""

    name = OnDemandSandboxProvider.name
    capabilities = OnDemandSandboxProvider.capabilities

    def __init__(self, world: Any) -> None:
        self.world = world

    def publish(self, plan: PaymentPlan, payer: Payer) -> ProviderBinding:
        return self.publish_scripted(plan, payer)

    def publish_scripted(self, plan: PaymentPlan, payer: Payer, script: Sequence[SandboxCard] = ()) -> ProviderBinding:
        """Publish *plan*, the payer's card behaving as *script* for its next charges."""
        fields = self.world.publish(dumps_plan(plan, indent=None), payer.payment_method_id, tuple(script))
        return ProviderBinding(**fields)

    def charge(
        self, binding: ProviderBinding, plan: PaymentPlan, installment: int, *, attempt: int = 1
    ) -> ChargeOutcome:
        out: ChargeOutcome = self.world.charge(dumps_plan(plan, indent=None), installment, attempt)
        return out

    def charge_fee(
        self, binding: ProviderBinding, plan: PaymentPlan, fee_id: str, amount: Money, *,
        description: str = "", attempt: int = 1,
    ) -> ChargeOutcome:
        out: ChargeOutcome = self.world.charge_fee(dumps_plan(plan, indent=None), fee_id, amount, description, attempt)
        return out

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> tuple[ProviderEvent, ...]:
        events: tuple[ProviderEvent, ...] = self.world.parse_webhook(headers, body)
        return events


class WorldNotifier:
    """The mail system the daily run hands messages to."""

    def __init__(self, world: Any) -> None:
        self.world = world

    def send(self, message: Message) -> None:
        self.world.send(message)


_WORLD: World | None = None


def _the_world() -> World:
    global _WORLD
    if _WORLD is None:
        _WORLD = World()
    return _WORLD


class WorldManager(BaseManager):
    """Serves one :class:`World` from its own process (on a Unix socket: no Nagle delays, no network)."""


WorldManager.register("world", callable=_the_world)


def connect(address: Any) -> Any:
    """A proxy of the world served at *address*."""
    manager = WorldManager(address=address, authkey=AUTHKEY)
    manager.connect()
    return manager.world()  # type: ignore[attr-defined]


# -- the portfolio and the days ------------------------------------------------------------------


def setup(store: Store, count: int, world: Any) -> None:
    """Put *count* plans, their deposits and their bindings (published to the world's sandbox) into *store*."""
    provider = WorldProvider(world)
    for n in range(count):
        plan = plan_of(n)
        store.add_plan(plan, entries=[PaymentReceived(f"{plan.id}:deposit", plan.booked, plan.installments[0].amount)])
        pm, script = card(n)
        store.save_binding(provider.publish_scripted(plan, Payer(payment_method_id=pm), script))


def cancellations(store: Store, day: dt.date, numbers: Iterable[int]) -> None:
    """The site's own action: the CANCELLED plans are cancelled 40 days after booking."""
    for n in numbers:
        if script_of(n) is not Script.CANCELLED:
            continue
        plan = plan_of(n)
        if day != plan.booked + dt.timedelta(days=40):
            continue
        ledger = store.load(plan.id).ledger
        if ledger.cancellation is None:
            store.record_entries(plan.id, settle_cancellation(plan, ledger, day).entries)


def days(start: dt.date = START, end: dt.date = END) -> list[dt.date]:
    return [start + dt.timedelta(days=k) for k in range((end - start).days + 1)]


def run(store: Store, count: int, world: World, *, days_: Sequence[dt.date] | None = None) -> RunSummary:
    """The whole drill in this process: each day, the site's cancellations, then the daily run."""
    provider, notifier = WorldProvider(world), WorldNotifier(world)
    total = RunSummary(START)
    for day in days_ if days_ is not None else days():
        world.advance_to(day)
        cancellations(store, day, range(count))
        total = total.merge(_quiet(run_due(store, [provider], day, notifier, contacts=contact_of)))
    return total


def _quiet(summary: RunSummary) -> RunSummary:
    summary.actions = []
    return summary


# -- worker processes ------------------------------------------------------------------------------


class Killer:
    """Delegates to a store; SIGKILLs its own process at random calls, before or after the call."""

    def __init__(self, store: Store, chance: float, seed: int) -> None:
        self.store = store
        self.chance = chance
        self.random = random.Random(seed)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.store, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self._maybe_die()
            result = target(*args, **kwargs)
            self._maybe_die()
            return result

        return call

    def _maybe_die(self) -> None:
        if self.random.random() < self.chance:
            os.kill(os.getpid(), signal.SIGKILL)


def day_worker(
    url: str, address: Any, shard: int, shards: int, claim: bool, conn: Connection,
    kill_chance: float = 0.0, seed: int = 0,
) -> None:
    """A worker process: runs the days it is sent (its shard of them, or the plans it claims) until sent ``None``.

    With *kill_chance*, it SIGKILLs itself at random store calls; its
    claims then lease for no time, so its restart takes its plans back
    at once (the parent knows it died).
    """
    from payplan.store import open_store

    store = open_store(url)
    runner: Any = Killer(store, kill_chance, seed) if kill_chance else store
    world = connect(address)
    provider, notifier = WorldProvider(world), WorldNotifier(world)
    conn.send("ready")
    while (day := conn.recv()) is not None:
        summary = run_due(
            runner, [provider], day, notifier, contacts=contact_of, shard=shard, shards=shards, claim=claim,
            lease=dt.timedelta(0) if kill_chance else dt.timedelta(minutes=15),
        )
        conn.send(_quiet(summary))
    store.close()


class Worker:
    """The parent's handle on one worker process, restarted (on the same day) each time it is killed."""

    def __init__(
        self, ctx: Any, url: str, address: Any, shard: int = 0, shards: int = 1, *,
        claim: bool = False, kill_chance: float = 0.0, seed: int = 0,
    ) -> None:
        self.ctx, self.url, self.address = ctx, url, address
        self.shard, self.shards, self.claim = shard, shards, claim
        self.kill_chance, self.seed = kill_chance, seed
        self.starts = 0
        self.kills = 0  # deaths by SIGKILL (its own or the parent's)
        self.plans = 0  # plans run, over every day
        self.process: Any = None
        self.conn: Any = None

    def start(self) -> None:
        parent, child = self.ctx.Pipe()
        self.starts += 1
        self.process = self.ctx.Process(
            target=day_worker,
            args=(self.url, self.address, self.shard, self.shards, self.claim, child, self.kill_chance,
                  self.seed * 1000 + self.starts),
            daemon=True,
        )
        self.process.start()
        child.close()
        self.conn = parent
        ready = self.conn.recv()  # the worker makes no write before it is ready: it cannot kill itself here
        assert ready == "ready", ready

    def send(self, day: dt.date) -> None:
        if self.process is None:
            self.start()
        self.conn.send(day)

    def result(self, day: dt.date, kill_after: float | None = None) -> RunSummary:
        """The day's summary; restarts the worker on the same day after each death.

        With *kill_after* seconds, the parent SIGKILLs the worker if it has not finished the day by then.
        """
        while True:
            if kill_after is not None and not self.conn.poll(kill_after):
                os.kill(self.process.pid, signal.SIGKILL)
            kill_after = None
            try:
                summary: RunSummary = self.conn.recv()
                self.plans += summary.plans
                return summary
            except (EOFError, ConnectionResetError):  # a reset when it died with our bytes unread
                self.process.join()
                if self.process.exitcode != -signal.SIGKILL:
                    raise AssertionError(f"worker died with exit code {self.process.exitcode}") from None
                self.kills += 1
                self.start()
                self.conn.send(day)

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.conn.send(None)
            self.process.join(30)


def run_workers(
    store: Store, count: int, world: Any, workers: Sequence[Worker], *,
    kill: Callable[[dt.date], float | None] | None = None,
) -> RunSummary:
    """Each day: advance the provider's clock, the site's cancellations, then every worker's share of the day."""
    total = RunSummary(START)
    for day in days():
        world.advance_to(day)
        cancellations(store, day, range(count))
        for w in workers:
            w.send(day)
        for w in workers:
            total = total.merge(w.result(day, kill(day) if kill is not None else None))
    for w in workers:
        w.stop()
    return total


# -- what the drill checks -----------------------------------------------------------------------


def endings(store: Store, count: int) -> dict[str, tuple[PlanStatus, PlanStatus]]:
    """Plans that did not end as their script says: ``{plan id: (expected, got)}``."""
    wrong = {}
    for n in range(count):
        plan = plan_of(n)
        got = plan_status(plan, store.load(plan.id).ledger, END, default_after_days=DEFAULT_AFTER).status
        if got is not script_of(n).ends:
            wrong[plan.id] = (script_of(n).ends, got)
    return wrong


def duplicate_charges(requests: Iterable[Request]) -> dict[str, Any]:
    """What the provider's request log says was charged twice (each kind of double, empty when none)."""
    requests = list(requests)
    new = [r for r in requests if r.new]
    by_key = Counter(r.key for r in new)
    by_attempt = Counter((r.plan_id, r.installment, r.fee_id, r.attempt) for r in new)
    paid = Counter((r.plan_id, r.installment, r.fee_id) for r in new if r.status == "succeeded")
    # a request under a new key for something already paid (the sandbox answers it with the first
    # payment, creating nothing; the run must not ask): only a retry of the paying key may follow
    after_paid = []
    paying: dict[tuple[str, int | None, str | None], str] = {}
    for r in requests:
        what = (r.plan_id, r.installment, r.fee_id)
        if what in paying and r.key != paying[what]:
            after_paid.append(r.key)
        if r.status == "succeeded":
            paying.setdefault(what, r.key)
    out: dict[str, Any] = {
        "by key": {k: v for k, v in by_key.items() if v > 1},
        "by (plan, installment, attempt)": {k: v for k, v in by_attempt.items() if v > 1},
        "paid twice": {k: v for k, v in paid.items() if v > 1},
        "asked after paid": after_paid,
    }
    return {k: v for k, v in out.items() if v}


def charges_above_balance(store: Store, requests: Iterable[Request], count: int) -> list[str]:
    """Charges above the balance the ledger showed when they were made, and money taken but never recorded.

    Each charge's outcome is recorded in the ledger under the provider's
    reference; the balance at the time of the charge is the balance of
    the ledger's entries recorded before that one.
    """
    taken = {r.reference: r for r in requests if r.new and r.reference is not None}
    found: set[str] = set()
    out = []
    for n in range(count):
        plan = plan_of(n)
        ledger = Ledger.empty(plan)
        for e in store.load(plan.id).ledger:
            ref = getattr(e, "reference", None)
            if isinstance(e, PaymentReceived | PaymentFailed) and ref in taken:
                found.add(ref)
                if e.amount is not None and e.amount.minor > ledger.balance.minor:
                    out.append(f"{plan.id}: {e.id} {e.amount} above the balance {ledger.balance}")
            ledger = ledger.record(e)
    for ref, r in taken.items():
        if r.status == "succeeded" and ref not in found:
            out.append(f"{r.plan_id}: {ref} {r.amount} taken by the provider, not in the ledger")
    return out


def duplicate_messages(messages: Iterable[Message]) -> dict[str, int]:
    counts = Counter(m.id for m in messages)
    return {k: v for k, v in counts.items() if v > 1}


def resent_differently(messages: Iterable[Message]) -> list[str]:
    """Message ids sent more than once with a different content."""
    seen: dict[str, Message] = {}
    out = []
    for m in messages:
        if m.id in seen and seen[m.id] != m:
            out.append(m.id)
        seen.setdefault(m.id, m)
    return out


def ledger_facts(ledger: Ledger) -> frozenset[tuple[Any, ...]]:
    """A ledger's entries without the provider's own references (which depend on call order)."""
    return frozenset((type(e).__name__, e.id, e.on, getattr(e, "amount", None)) for e in ledger)


def ledgers(store: Store, count: int) -> dict[str, frozenset[tuple[Any, ...]]]:
    return {plan_of(n).id: ledger_facts(store.load(plan_of(n).id).ledger) for n in range(count)}


_FAILURES = {
    Script.PAYS: {},
    Script.DECLINED_ONCE: {"card_declined": 1},
    Script.DECLINED_TWICE: {"card_declined": 2},
    Script.AUTHENTICATES: {"authentication_required": 1},
    Script.EXHAUSTED: {"card_declined": 4},  # the first attempt and the ladder's three retries (1, 3, 7 days)
    Script.CANCELLED: {},
}


def off_script(store: Store, messages: Iterable[Message], count: int) -> dict[str, str]:
    """Plans whose declines and messages are not what their script makes them: ``{plan id: what}``.

    Declines per installment charged follow the card's script; a card that
    expires gets one warning, before its first ``expired_card`` decline;
    the plans whose ladder ends (and only they) get the escalation notice.
    """
    by_plan: dict[str, Counter[str]] = {}
    warned: dict[str, dt.date] = {}
    for m in messages:
        by_plan.setdefault(m.plan_id, Counter())[m.kind] += 1
        if m.kind == "card_expiring":
            warned.setdefault(m.plan_id, m.date)
    out = {}
    for n in range(count):
        plan, script = plan_of(n), script_of(n)
        ledger = store.load(plan.id).ledger
        failed = [e for e in ledger if isinstance(e, PaymentFailed)]
        got = dict(Counter(e.reason for e in failed))
        charged = len(plan.installments) - 1
        if script is Script.CARD_EXPIRES:
            want = {"expired_card": 4}
        else:
            want = {k: v * charged for k, v in _FAILURES[script].items()}
        kinds = by_plan.get(plan.id, Counter())
        if got != want:
            out[plan.id] = f"{script.value}: declines {got}, expected {want}"
        elif (kinds["escalated"] > 0) != (script.ends is PlanStatus.DEFAULTED):
            out[plan.id] = f"{script.value}: {kinds['escalated']} escalation notices"
        elif script is Script.CARD_EXPIRES and (
            kinds["card_expiring"] != 1 or not warned[plan.id] < min(e.on for e in failed)
        ):
            out[plan.id] = f"{script.value}: {kinds['card_expiring']} card warnings, first decline {failed[0].on}"
        elif script is not Script.CARD_EXPIRES and kinds["card_expiring"]:
            out[plan.id] = f"{script.value}: a card warning for a card that does not expire"
        elif bool(failed) != (kinds["payment_failed"] > 0):
            out[plan.id] = f"{script.value}: {len(failed)} declines, {kinds['payment_failed']} payment-failed notices"
    return out
