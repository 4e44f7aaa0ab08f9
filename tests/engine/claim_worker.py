"""Worker processes for the claims tests: a portfolio on the on-demand sandbox, one date, run by claims.

Plan *n* is Pack A (deposit paid; installment 2 due on :data:`AS_OF`);
odd plans' cards are declined, so the run charges every plan once and
sends a "your payment failed" notice to every odd one. Each worker
process builds its own sandbox with the same plans and cards.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from payplan import DepositRule, Money, PaymentPlan, PaymentReceived, Terms
from payplan.engine import run_due
from payplan.notify import Contact, InMemoryNotifier, Message
from payplan.providers import Payer
from payplan.store import Store, open_store
from payplan.testing import OnDemandSandboxProvider, SandboxCard

BOOKED = dt.date(2026, 12, 1)
AS_OF = dt.date(2027, 1, 1)


def plan_of(n: int) -> PaymentPlan:
    usd = Money.of("500.00", "USD")
    return PaymentPlan.with_deposit(
        f"claim-{n:04d}", Money.of("2000.00", "USD"),
        terms=Terms(deposit=DepositRule.percent_or_minimum(25, usd), installments=3),
        booked=BOOKED, session=dt.date(2027, 4, 15), client=f"client-{n:04d}",
    )


def card_of(n: int) -> str:
    return (SandboxCard.DECLINE if n % 2 else SandboxCard.SUCCESS).value


def contact_of(plan: PaymentPlan) -> Contact:
    return Contact(plan.client or plan.id, email=f"{plan.client}@example.com")


def setup(store: Store, count: int) -> None:
    sb = OnDemandSandboxProvider(today=BOOKED)
    for n in range(count):
        plan = plan_of(n)
        store.add_plan(plan, entries=[PaymentReceived("dep", BOOKED, Money.of("500.00", "USD"))])
        store.save_binding(sb.publish(plan, Payer(payment_method_id=card_of(n))))


def sandbox(count: int) -> OnDemandSandboxProvider:
    sb = OnDemandSandboxProvider(today=BOOKED)
    for n in range(count):
        sb.publish(plan_of(n), Payer(payment_method_id=card_of(n)))
    sb.advance_to(AS_OF)
    return sb


def run(url: str, count: int, worker: str, *, batch_size: int = 4, lease: float = 900.0,
        notifier: InMemoryNotifier | None = None, barrier: Any = None) -> dict[str, Any]:
    """One worker's run of :data:`AS_OF` by claims: its charges, messages and plans."""
    store = open_store(url)
    try:
        sb = sandbox(count)
        notifier = notifier if notifier is not None else InMemoryNotifier()
        seen: list[str] = []
        if barrier is not None:
            barrier.wait(timeout=120)  # every worker starts the day together
        summary = run_due(
            store, [sb], AS_OF, notifier, contacts=contact_of, claim=True, worker=worker, batch_size=batch_size,
            lease=dt.timedelta(seconds=lease), progress=lambda s: seen.append(s.plan.id),
        )
    finally:
        store.close()
    return {
        "worker": worker,
        "plans": seen,
        "charges": [c.idempotency_key for c in sb.calls if c.verb == "charge"],
        "messages": [m.id for m in notifier.sent],
        "resent": summary.resent,
        "failures": [(f.plan_id, f.reason) for f in summary.failures],
    }


def overlapping(url: str, count: int, worker: str, barrier: Any, results: Any) -> None:
    """A process of the overlapping-workers test: run, then report through *results*."""
    results.put(run(url, count, worker, barrier=barrier))


class _Stuck(InMemoryNotifier):
    """Hangs in its first send, after saying so in a file: the process is killed there."""

    def __init__(self, marker: Path) -> None:
        super().__init__()
        self.marker = marker

    def send(self, message: Message) -> None:
        self.marker.write_text(message.id, encoding="utf-8")
        time.sleep(600)


def doomed(url: str, count: int, marker: str) -> None:
    """A worker that claims a batch, charges part of it and hangs sending its first message (until SIGKILL)."""
    run(url, count, "doomed", batch_size=10, notifier=_Stuck(Path(marker)))
