"""The collections drill: many plans on the sandbox, scripted cards, six months run day by day.

Shared by the drill tests (memory, SQLite, PostgreSQL with two worker
processes, crashes at random points) and ``make demo``-style checks. Each
plan's script is a pure function of its index, so every worker (and every
restart) builds the same portfolio and the same card behaviours.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from payplan import DepositRule, Ledger, Money, PaymentPlan, PaymentReceived, Terms, settle_cancellation
from payplan._status import PlanStatus, plan_status
from payplan.engine import RunSummary, run_due
from payplan.notify import Contact, InMemoryNotifier, Message
from payplan.providers import EventKind, Payer
from payplan.store import Store
from payplan.testing import OnDemandSandboxProvider, SandboxCard

START = dt.date(2026, 12, 1)
END = dt.date(2027, 5, 31)  # six months of simulated time
DEFAULT_AFTER = 30


class Script(enum.Enum):
    """What happens to a plan, and how it must end."""

    PAYS = "pays"                      # every charge succeeds
    DECLINED_ONCE = "declined_once"    # the first charge of each installment is declined, the retry succeeds
    AUTHENTICATES = "authenticates"    # 3-D Secure asked once; the retry goes through
    DECLINED_TWICE = "declined_twice"  # two declines, the third attempt succeeds
    CARD_EXPIRED = "card_expired"      # every charge fails: the ladder ends, the plan defaults
    CANCELLED = "cancelled"            # the client cancels 40 days after booking

    @property
    def ends(self) -> PlanStatus:
        if self is Script.CARD_EXPIRED:
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


def contact_of(plan: PaymentPlan) -> Contact:
    return _contact(plan.client or plan.id)


@functools.cache
def _contact(client: str) -> Contact:
    return Contact(client, email=f"{client}@example.com")


def _card(n: int, sb: OnDemandSandboxProvider) -> str:
    s = script_of(n)
    if s is Script.CARD_EXPIRED:
        return SandboxCard.EXPIRED.value
    pm = f"pm_drill_{n:05d}"
    per_installment = {
        Script.DECLINED_ONCE: (SandboxCard.DECLINE, SandboxCard.SUCCESS),
        Script.AUTHENTICATES: (SandboxCard.AUTHENTICATION, SandboxCard.SUCCESS),
        Script.DECLINED_TWICE: (SandboxCard.DECLINE, SandboxCard.DECLINE, SandboxCard.SUCCESS),
    }.get(s)
    if per_installment:
        sb.script(pm, *(per_installment * 3))
    return pm


def setup(store: Store, count: int) -> None:
    """Put *count* plans, their deposits and their sandbox bindings into *store*."""
    sb = OnDemandSandboxProvider(today=START)
    for n in range(count):
        plan = plan_of(n)
        store.add_plan(plan, entries=[PaymentReceived(f"{plan.id}:deposit", plan.booked, plan.installments[0].amount)])
        store.save_binding(sb.publish(plan, Payer(payment_method_id=_card(n, sb))))


def sandbox_for(count: int, numbers: Iterable[int] | None = None) -> OnDemandSandboxProvider:
    """A worker's sandbox: the same plans and card scripts as every other worker's."""
    sb = OnDemandSandboxProvider(today=START)
    for n in numbers if numbers is not None else range(count):
        sb.publish(plan_of(n), Payer(payment_method_id=_card(n, sb)))
    return sb


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


def run(
    store: Store,
    count: int,
    *,
    shard: int = 0,
    shards: int = 1,
    notifier: InMemoryNotifier | None = None,
    sb: OnDemandSandboxProvider | None = None,
    days: Sequence[dt.date] | None = None,
    on_day: Callable[[dt.date], None] | None = None,
    run: Callable[..., RunSummary] = run_due,
) -> tuple[OnDemandSandboxProvider, InMemoryNotifier, RunSummary]:
    """Run the drill's days on *store* (one shard of it); the sandbox, the notifier and the summed summary."""
    mine = [n for n in range(count) if _shard_of(store, plan_of(n).id, shards) == shard]
    sb = sb if sb is not None else sandbox_for(count, mine)
    notifier = notifier if notifier is not None else InMemoryNotifier()
    total = RunSummary(START)
    contacts = contact_of
    for day in days if days is not None else _days(START, END):
        sb.advance_to(day)
        cancellations(store, day, mine)
        if on_day is not None:
            on_day(day)
        total = total.merge(run(store, [sb], day, notifier, contacts=contacts, shard=shard, shards=shards))
    return sb, notifier, total


def _shard_of(store: Store, plan_id: str, shards: int) -> int:
    from payplan.store._apply import shard_of

    return shard_of(plan_id) % shards


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=k) for k in range((end - start).days + 1)]


# -- what the drill checks -----------------------------------------------------------------------


def duplicate_charges(sandboxes: Iterable[OnDemandSandboxProvider]) -> dict[tuple[str, int], int]:
    """Installments the providers took money for more than once."""
    paid = Counter(
        (e.plan_id, e.installment or 0)
        for sb in sandboxes
        for e in sb.events
        if e.kind is EventKind.PAYMENT_SUCCEEDED
    )
    return {k: v for k, v in paid.items() if v > 1}


def charged_above_balance(store: Store, sandboxes: Iterable[OnDemandSandboxProvider], count: int) -> list[str]:
    """Plans whose provider charges plus the deposit exceed what the plan owed (fees included)."""
    taken: Counter[str] = Counter()
    for sb in sandboxes:
        for e in sb.events:
            if e.kind is EventKind.PAYMENT_SUCCEEDED and e.amount is not None:
                taken[e.plan_id] += e.amount.minor
    out = []
    for n in range(count):
        plan = plan_of(n)
        ledger = store.load(plan.id).ledger
        owed = plan.total.minor + ledger.fees.minor - ledger.waived.minor
        # a cancelled plan's balance may be below zero: the refund it owes the client (the site pays it)
        overpaid = ledger.cancellation is None and ledger.balance.minor < 0
        if taken[plan.id] + plan.installments[0].amount.minor > owed or overpaid:
            out.append(plan.id)
    return out


def duplicate_messages(messages: Iterable[Message]) -> dict[str, int]:
    counts = Counter(m.id for m in messages)
    return {k: v for k, v in counts.items() if v > 1}


def endings(store: Store, count: int) -> dict[str, tuple[PlanStatus, PlanStatus]]:
    """Plans that did not end as their script says: ``{plan id: (expected, got)}``."""
    wrong = {}
    for n in range(count):
        plan = plan_of(n)
        got = plan_status(plan, store.load(plan.id).ledger, END, default_after_days=DEFAULT_AFTER).status
        if got is not script_of(n).ends:
            wrong[plan.id] = (script_of(n).ends, got)
    return wrong


def ledger_facts(ledger: Ledger) -> frozenset[tuple[Any, ...]]:
    """A ledger's entries without the provider's own references (which depend on call order)."""
    return frozenset((type(e).__name__, e.id, e.on, getattr(e, "amount", None)) for e in ledger)


def ledgers(store: Store, count: int) -> dict[str, frozenset[tuple[Any, ...]]]:
    return {plan_of(n).id: ledger_facts(store.load(plan_of(n).id).ledger) for n in range(count)}


def rng(seed: int) -> random.Random:
    return random.Random(seed)


class Crash(BaseException):
    """A worker dying at a random point (not an error the run could catch and go on from)."""


class CrashingStore:
    """Delegates to a store; dies at random calls, before or after the call took effect."""

    def __init__(self, store: Store, chance: float, seed: int) -> None:
        self.store = store
        self.chance = chance
        self.random = random.Random(seed)
        self.crashes = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.store, name)
        if name not in _WRITES:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.random.random() < self.chance:
                self.crashes += 1
                raise Crash(f"before {name}")
            result = target(*args, **kwargs)
            if self.random.random() < self.chance:
                self.crashes += 1
                raise Crash(f"after {name}")
            return result

        return call


_WRITES = frozenset(
    {"record_entries", "reserve_operation", "complete_operation", "reserve_reminder", "mark_reminder_sent"}
)


def run_with_crashes(
    store: Store, count: int, *, chance: float, seed: int
) -> tuple[OnDemandSandboxProvider, InMemoryNotifier, int]:
    """The drill with the worker dying at random points and restarted (the day run again) each time."""
    crashing = CrashingStore(store, chance, seed)
    sb = sandbox_for(count)
    notifier = InMemoryNotifier()
    for day in _days(START, END):
        sb.advance_to(day)
        cancellations(store, day, range(count))
        while True:
            try:
                run_due(crashing, [sb], day, notifier, contacts=contact_of)  # type: ignore[arg-type]
                break
            except Crash:
                continue  # the worker is restarted and runs the day again
    return sb, notifier, crashing.crashes


def worker(url: str, count: int, shard: int, shards: int) -> tuple[list[tuple[str, int]], list[str], int]:
    """One worker process of a parallel drill: its shard's days; its provider's charges and its messages."""
    from payplan.store import open_store

    store = open_store(url)
    try:
        sb, notifier, summary = run(store, count, shard=shard, shards=shards)
    finally:
        store.close()
    paid = [(e.plan_id, e.installment or 0) for e in sb.events if e.kind is EventKind.PAYMENT_SUCCEEDED]
    return paid, [m.id for m in notifier.sent], len(summary.failures)
